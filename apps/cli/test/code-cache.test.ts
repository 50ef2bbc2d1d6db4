import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { eventually } from '@fanout/adapters/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { cacheDirectories, loadBundle } from '../src/code-cache.js';
import { BIN, fanout } from './helpers.js';

const dirs: string[] = [];
function temporary(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fanout-code-cache-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

let variant = 0;
/**
 * A small CommonJS bundle that uses what the wrapper gives it. Each one differs from the last
 * in a comment of fixed width: V8 keeps what this process compiled in memory, keyed by the
 * source, and would answer from there without looking at the cache on disk.
 */
function bundle(dir: string, name = 'commands-AAAA1111.js'): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `"use strict"; // ${String(++variant).padStart(6, '0')}
const { join } = require('node:path');
function work(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }
module.exports = { sum: work(1000), here: __filename, beside: join(__dirname, 'x'), self: this === module.exports };
`,
  );
  return file;
}

describe('the V8 code cache of the commands bundle', () => {
  it('compiles without a cache, writes one, then compiles from it; each command has its own', () => {
    const dir = temporary();
    const cache = join(dir, 'cache');
    const env = { NODE_COMPILE_CACHE: cache };
    const file = bundle(dir);
    const first = loadBundle<{ sum: number; here: string; beside: string; self: boolean }>(file, 'exec', { env, whenDone: (write) => write() });
    expect(first.cache).toBe('miss');
    expect(first.exports).toEqual({ sum: 499500, here: file, beside: join(dir, 'x'), self: true });
    expect(readdirSync(cache)).toEqual([`commands-AAAA1111.exec.${process.version}-${process.arch}.v8cache`]);

    bundle(dir); // the same length, another text: what a content hash in the name rules out
    const second = loadBundle<{ sum: number }>(file, 'exec', { env, whenDone: () => expect.unreachable('no cache to write after a hit') });
    expect(second.cache).toBe('hit');
    expect(second.exports.sum).toBe(499500);
    bundle(dir);
    expect(loadBundle(file, 'grep', { env, whenDone: () => undefined }).cache).toBe('miss');
  });

  it('runs without a cache where none can be written, or when it is turned off', () => {
    const dir = temporary();
    // A directory under a regular file can be made by nobody, root included.
    writeFileSync(join(dir, 'plain-file'), '');
    const env = { NODE_COMPILE_CACHE: join(dir, 'plain-file', 'cache') };
    for (let i = 0; i < 2; i++) {
      const loaded = loadBundle<{ sum: number }>(bundle(dir), 'exec', { env, whenDone: (write) => write() });
      expect(loaded.cache).toBe('miss');
      expect(loaded.exports.sum).toBe(499500);
    }
    const off = loadBundle<{ sum: number }>(bundle(dir), 'exec', { env: { NODE_DISABLE_COMPILE_CACHE: '1' }, whenDone: () => expect.unreachable('caching is off') });
    expect(off).toMatchObject({ cache: 'off', exports: { sum: 499500 } });
  });

  it('looks beside the bundle first, then in the user cache, and prunes older builds there', () => {
    const dir = temporary();
    const home = temporary();
    expect(cacheDirectories(dir, { HOME: home }).map((d) => d.path)).toEqual([join(dir, '.v8-cache'), expect.stringMatching(new RegExp(`^${home}/\\.cache/fanout/v8-[0-9a-f]{8}$`))]);
    expect(cacheDirectories(dir, { HOME: home, XDG_CACHE_HOME: join(home, 'xdg') })[1]!.path.startsWith(join(home, 'xdg', 'fanout'))).toBe(true);
    expect(cacheDirectories(dir, { HOME: home, NODE_COMPILE_CACHE: 'here' })).toEqual([{ path: join(process.cwd(), 'here'), own: false }]);

    // The bundle's own directory cannot take a cache (a file is in the way): the user's does.
    writeFileSync(join(dir, '.v8-cache'), '');
    loadBundle(bundle(dir, 'commands-OLD00000.js'), 'exec', { env: { HOME: home }, whenDone: (write) => write() });
    const userDir = cacheDirectories(dir, { HOME: home })[1]!.path;
    expect(readdirSync(userDir)).toEqual([expect.stringMatching(/^commands-OLD00000\.exec\./)]);
    const current = bundle(dir);
    loadBundle(current, 'exec', { env: { HOME: home }, whenDone: (write) => write() });
    expect(readdirSync(userDir)).toEqual([expect.stringMatching(/^commands-AAAA1111\.exec\./)]);
    // The other bundles of the same build keep their caches; an earlier build's go.
    const grep = bundle(dir, 'grep-BBBB2222.js');
    loadBundle(grep, 'grep', { env: { HOME: home }, whenDone: (write) => write(), keep: ['commands-AAAA1111', 'grep-BBBB2222'] });
    expect(readdirSync(userDir).sort()).toEqual([expect.stringMatching(/^commands-AAAA1111\.exec\./), expect.stringMatching(/^grep-BBBB2222\.grep\./)]);
    loadBundle(bundle(dir, 'grep-CCCC3333.js'), 'grep', { env: { HOME: home }, whenDone: (write) => write(), keep: ['commands-DDDD4444', 'grep-CCCC3333'] });
    expect(readdirSync(userDir)).toEqual([expect.stringMatching(/^grep-CCCC3333\.grep\./)]);
  });

  it('each of fanout exec, fanout grep, fanout mcp and the other commands runs from its bundle, and their caches live side by side', async () => {
    const dir = temporary();
    const cache = join(dir, 'cache');
    const env = { NODE_COMPILE_CACHE: cache };
    writeFileSync(join(dir, 'a.txt'), 'needle\n');
    expect(await fanout(['exec', '-k', 'echo', ':::', 'a'], { env })).toMatchObject({ code: 0, stdout: 'a\n' });
    expect(await fanout(['grep', '-c', 'needle', join(dir, 'a.txt')], { env, cwd: dir })).toMatchObject({ code: 0, stdout: '1\n' });
    expect(await fanout(['profiles'], { env })).toMatchObject({ code: 0 });
    // Its standard input closed at once: the server starts, then stops as a client's end would make it.
    expect(await fanout(['mcp'], { env, cwd: dir })).toMatchObject({ code: 0, stdout: '' });
    expect(readdirSync(cache).sort()).toEqual([
      expect.stringMatching(/^commands-\w+\.profiles\./),
      expect.stringMatching(/^exec-\w+\.exec\./),
      expect.stringMatching(/^grep-\w+\.grep\./),
      expect.stringMatching(/^mcp-\w+\.mcp\./),
    ]);
  });

  it('the fanout command replaces a corrupt cache, and runs where no cache can be written', async () => {
    const dir = temporary();
    const cache = join(dir, 'cache');
    const env = { NODE_COMPILE_CACHE: cache };
    expect(await fanout(['exec', '-k', 'echo', ':::', 'a', 'b'], { env })).toMatchObject({ code: 0, stdout: 'a\nb\n' });
    const [name] = readdirSync(cache);
    expect(name).toMatch(/^exec-\w+\.exec\.v\d+/);
    const good = readFileSync(join(cache, name!));
    writeFileSync(join(cache, name!), Buffer.alloc(good.length, 7));
    expect(await fanout(['exec', '-k', 'echo', ':::', 'c'], { env })).toMatchObject({ code: 0, stdout: 'c\n' });
    // Rejected by V8, compiled from source, written anew.
    expect(readFileSync(join(cache, name!)).equals(Buffer.alloc(good.length, 7))).toBe(false);
    expect(readdirSync(cache)).toEqual([name]);

    writeFileSync(join(dir, 'plain-file'), '');
    expect(await fanout(['exec', 'echo', ':::', 'd'], { env: { NODE_COMPILE_CACHE: join(dir, 'plain-file', 'x') } })).toMatchObject({ code: 0, stdout: 'd\n' });
  });
  it('a second fanout grep starts from the cache the first wrote (the V8 flags of the grep engine are set before the bundle is compiled)', async () => {
    const dir = temporary();
    const cache = join(dir, 'cache');
    writeFileSync(join(dir, 'a.txt'), 'needle\n');
    const env = { NODE_COMPILE_CACHE: cache };
    expect(await fanout(['grep', '-c', 'needle', join(dir, 'a.txt')], { env, cwd: dir })).toMatchObject({ code: 0 });
    const [name] = readdirSync(cache);
    expect(name).toMatch(/^grep-\w+\.grep\.v\d+/);
    const first = readFileSync(join(cache, name!));
    expect(await fanout(['grep', '-c', 'needle', join(dir, 'a.txt')], { env, cwd: dir })).toMatchObject({ code: 0 });
    // Accepted: not written again (a rejected cache is replaced at exit, with other bytes).
    expect(readFileSync(join(cache, name!)).equals(first)).toBe(true);
  });

  it.each(['2025-11-25', '2026-07-28'] as const)('fanout mcp (a %s client) writes its cache once started, while it serves, and not again at exit', async (era) => {
    const dir = temporary();
    const cache = join(dir, 'cache');
    const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp'], cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, NODE_COMPILE_CACHE: cache, NO_COLOR: '1' }, stderr: 'ignore' });
    // 2025-11-25: started when the client has initialised; 2026-07-28 (no initialisation): a second after serving.
    const client = new Client({ name: 'code-cache', version: '1.0.0' }, era === '2026-07-28' ? { versionNegotiation: { mode: { pin: era } } } : {});
    await client.connect(transport);
    const written = () => {
      try {
        return readdirSync(cache).filter((name) => /^mcp-\w+\.mcp\.v\d+.*\.v8cache$/.test(name));
      } catch {
        return [];
      }
    };
    expect(await eventually(() => written().length === 1, 30_000, 20), `expected the cache of the mcp bundle in ${cache} while the server runs, got ${JSON.stringify(written())}`).toBe(true);
    const [name] = written();
    const first = readFileSync(join(cache, name!));
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('fanout_read');
    await client.close();
    await eventually(() => transport.pid === null, 10_000, 20);
    // Written once: the exit of the session did not replace it with what the session compiled.
    expect(readFileSync(join(cache, name!)).equals(first)).toBe(true);
  });
});
