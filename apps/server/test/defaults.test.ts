/**
 * The server's defaults as a user meets them: with no flags it listens on 127.0.0.1:7781 and
 * keeps runs in `.fanout/` under the working directory — the parsed options, and the help
 * text of the built binary that tells the user so.
 */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFlags } from '../src/flags.js';
import { api, readEvents, runServerBin, startServer, tempDir } from './helpers.js';

describe('defaults', () => {
  it('without flags: host 127.0.0.1, port 7781, data in .fanout/ of the working directory, no token, no write or bash', async () => {
    const temp = await tempDir();
    try {
      const parsed = await parseFlags([], temp.dir);
      if (!('options' in parsed)) throw new Error(`expected options from no flags, got ${JSON.stringify(parsed)}`);
      expect(parsed.options).toMatchObject({ host: '127.0.0.1', port: 7781, dataDir: join(temp.dir, '.fanout'), tokens: [], allowWrite: false, allowShell: false });
      // No address class is allowed by the flags: the configuration's (else none) applies.
      expect(parsed.options.allowAddresses).toBeUndefined();
      expect(parsed.options.configFile).toBeUndefined();
    } finally {
      await temp.remove();
    }
  });

  it('resolves --data-dir against the working directory, and keeps a flag given alongside the defaults it does not touch', async () => {
    const parsed = await parseFlags(['--data-dir', 'runs', '--port', '0'], '/srv/project');
    if (!('options' in parsed)) throw new Error(`expected options, got ${JSON.stringify(parsed)}`);
    expect(parsed.options).toMatchObject({ host: '127.0.0.1', port: 0, dataDir: '/srv/project/runs' });
  });

  it('started without --host or --data-dir, listens on 127.0.0.1 and keeps a run in .fanout/ of its working directory', async () => {
    const temp = await tempDir();
    // The helper adds only --port 0 (7781 may be taken on a shared machine; its default is asserted above).
    const served = await startServer([], temp.dir);
    try {
      expect(new URL(served.url).hostname).toBe('127.0.0.1');
      await writeFile(join(temp.dir, 'note.txt'), 'a line\n');
      const posted = await api(served.url, '/v1/runs', { method: 'POST', json: { operations: [{ id: 'r', kind: 'read', input: { path: 'note.txt' } }] } });
      expect(posted.status).toBe(202);
      expect((await readEvents(served.url, posted.body.id)).at(-1)).toMatchObject({ event: 'end', data: JSON.stringify({ state: 'succeeded' }) });
      expect((await stat(join(temp.dir, '.fanout', 'runs', `${posted.body.id}.ndjson`))).isFile()).toBe(true);
    } finally {
      await served.stop();
      await temp.remove();
    }
  });

  it('says its defaults in --help', async () => {
    const temp = await tempDir();
    try {
      const help = await runServerBin(['--help'], temp.dir);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/--host H +address to listen on \(default 127\.0\.0\.1\)/);
      expect(help.stdout).toMatch(/--port N +port, 0 for any free one \(default 7781\)/);
      expect(help.stdout).toMatch(/--data-dir DIR +where runs are kept \(default \.fanout\/ in the working directory\)/);
    } finally {
      await temp.remove();
    }
  });
});
