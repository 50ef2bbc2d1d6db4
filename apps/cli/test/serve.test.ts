/** `fanout serve` starts fanout-server with the same flags, streams and exit code. */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BIN, fanout } from './helpers.js';

/** `fanout serve --port 0` in `dir`, and the URL it says it listens on (rejected, with its standard error, if it exits first). */
async function serve(dir: string): Promise<{ child: ChildProcessByStdio<null, Readable, Readable>; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match !== null) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`fanout serve exited ${code} before listening: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

describe('fanout serve', () => {
  it('passes a bad flag to the server, which refuses it with exit 2', async () => {
    const out = await fanout(['serve', '--port', 'abc']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('expected --port to be an integer ≥ 0, got "abc"');
  });

  it('serves, answers /healthz, and stops gracefully on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-serve-'));
    try {
      const { child, url } = await serve(dir);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('has the server stop and free its port when it is killed with SIGKILL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fanout-serve-'));
    let server: number | undefined;
    try {
      const { child, url, stderr } = await serve(dir);
      // 'close' comes once every writer of the pipes is gone: the server shares them, so this is its exit too.
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ').map(Number);
      expect(children, `expected the server as the one child of fanout serve (pid ${child.pid}), got ${JSON.stringify(children)}`).toHaveLength(1);
      server = children[0]!;
      expect(readFileSync(`/proc/${server}/cmdline`, 'utf8')).toMatch(/server\/dist\/main\.js/);
      child.kill('SIGKILL');
      await closed;
      expect(stderr()).toContain('fanout-server: parent process gone, stopping');
      const state = existsSync(`/proc/${server}/stat`) ? /^\S+ \(.*\) (\S)/.exec(readFileSync(`/proc/${server}/stat`, 'utf8'))?.[1] : 'gone';
      expect(['gone', 'Z'], `expected server ${server} exited, got state ${state}`).toContain(state);
      // Its port is free again: this process can listen on it.
      const port = Number(new URL(url).port);
      const listener = createServer();
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(port, '127.0.0.1', () => resolve());
      });
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    } finally {
      if (server !== undefined && existsSync(`/proc/${server}`)) process.kill(server, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
