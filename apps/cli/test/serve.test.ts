/** `fanout serve` starts fanout-server with the same flags, streams and exit code. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, fanout } from './helpers.js';

describe('fanout serve', () => {
  it('passes a bad flag to the server, which refuses it with exit 2', async () => {
    const out = await fanout(['serve', '--port', 'abc']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('expected --port to be an integer ≥ 0, got "abc"');
  });

  it('serves, answers /healthz, and stops gracefully on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-serve-'));
    try {
      const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const url = await new Promise<string>((resolve, reject) => {
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
          const match = /listening on (http:\/\/\S+)/.exec(stdout);
          if (match !== null) resolve(match[1]!);
        });
        void exited.then((code) => reject(new Error(`fanout serve exited ${code} before listening`)));
      });
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
