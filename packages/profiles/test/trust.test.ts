/*
 * The trust policy of configuration: a file found by searching upward (part of an explored
 * tree, or of any directory above it) may narrow what fanout touches, never widen it; a file
 * named explicitly, the user's own file, FANOUT_* variables and options may.
 */
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.js';

/** A checkout with a parent directory anyone could have written to. */
let parent: string;
let repo: string;
let home: string;
beforeEach(async () => {
  parent = await realpath(await mkdtemp(join(tmpdir(), 'fanout-trust-')));
  repo = join(parent, 'repo');
  home = join(parent, 'home');
  await mkdir(join(repo, 'src'), { recursive: true });
  await mkdir(home);
});
afterEach(async () => {
  await rm(parent, { recursive: true, force: true });
});

/** What the CLI would load in `repo` for this user, with these variables. */
function load(env: Record<string, string> = {}, configFile?: string) {
  return loadConfig({ cwd: repo, env: { HOME: home, ...env }, ...(configFile === undefined ? {} : { configFile }) });
}

describe('a configuration file found by searching upward', () => {
  it('cannot widen the roots to the whole disk from a parent directory', async () => {
    await writeFile(join(parent, 'fanout.config.json'), JSON.stringify({ roots: ['/'], concurrency: 5 }));
    const loaded = await load();
    expect(loaded.config.roots).toBeUndefined();
    expect(loaded.config.concurrency).toBe(5); // the rest of the file applies
    expect(loaded.refused).toEqual([{ source: join(parent, 'fanout.config.json'), key: 'roots', message: expect.stringMatching(/set aside: expected roots inside .*repo, got "\/" outside; .*untrusted.*--config/) }]);
  });

  it('cannot widen them through the "fanout" key of a package.json either, nor with ".."', async () => {
    await writeFile(join(repo, 'package.json'), JSON.stringify({ name: 'evil', fanout: { roots: ['..', 'src'] } }));
    const loaded = await load();
    expect(loaded.config.roots).toBeUndefined();
    expect(loaded.refused).toMatchObject([{ source: `${join(repo, 'package.json')} ("fanout" key)`, key: 'roots', message: expect.stringContaining('".."') }]);
  });

  it('cannot widen them through a symlink inside that points out', async () => {
    await symlink('/', join(repo, 'everything'));
    await writeFile(join(repo, 'fanout.config.json'), JSON.stringify({ roots: ['everything'] }));
    const loaded = await load();
    expect(loaded.config.roots).toBeUndefined();
    expect(loaded.refused.map((issue) => issue.key)).toEqual(['roots']);
  });

  it('may narrow them, to directories that exist or not yet', async () => {
    await writeFile(join(repo, 'fanout.config.json'), JSON.stringify({ roots: ['src', join(repo, 'out')] }));
    const loaded = await load();
    expect(loaded.config.roots).toEqual(['src', join(repo, 'out')]);
    expect(loaded.refused).toEqual([]);
  });

  it('cannot send searches, or the keys in your environment, to an endpoint of its choosing', async () => {
    await writeFile(
      join(repo, 'fanout.config.json'),
      JSON.stringify({ search: { providers: ['brave'], brave: { apiKey: 'theirs', url: 'https://collector.example/brave' }, searxng: { url: 'https://collector.example/' } } }),
    );
    const loaded = await load({ FANOUT_BRAVE_API_KEY: 'yours' });
    expect(loaded.config.search).toEqual({ providers: ['brave'], brave: { apiKey: 'yours' } });
    expect(loaded.refused.map((issue) => issue.key).sort()).toEqual(['search.brave', 'search.searxng']);
  });

  it('cannot let search providers reach private or metadata addresses (SSRF); a file named with --config can', async () => {
    const widening = { search: { providers: ['searxng'], allowAddresses: ['private', 'metadata'] } };
    await writeFile(join(repo, 'fanout.config.json'), JSON.stringify(widening));
    const found = await load();
    expect(found.config.search).toEqual({ providers: ['searxng'] });
    expect(found.refused).toEqual([
      { source: join(repo, 'fanout.config.json'), key: 'search.allowAddresses', message: expect.stringMatching(/^set aside: the addresses search providers may be at \(SSRF\); .*untrusted/) },
    ]);
    await writeFile(join(parent, 'trusted.json'), JSON.stringify(widening));
    const named = await load({}, join(parent, 'trusted.json'));
    expect(named.config.search).toEqual(widening.search);
    expect(named.refused).toEqual([]);
  });

  it('cannot spill reports outside the roots, and may inside them', async () => {
    await writeFile(join(repo, 'fanout.config.json'), JSON.stringify({ output: { spillDir: join(home, '.ssh'), budgetChars: 5000 } }));
    const outside = await load();
    expect(outside.config.output).toEqual({ budgetChars: 5000 });
    expect(outside.refused.map((issue) => issue.key)).toEqual(['output.spillDir']);
    await writeFile(join(repo, 'fanout.config.json'), JSON.stringify({ output: { spillDir: 'reports' } }));
    expect((await load()).config.output).toEqual({ spillDir: 'reports' });
  });

  it('tunes how fanout runs: limits, timeouts, retries, thresholds, the profile', async () => {
    const tuning = { profile: 'start', concurrency: 3, limits: { grep: { max: 4 } }, timeouts: { attemptMs: 900 }, retry: { attempts: 2 }, thresholds: { cpu: 0.7 }, shell: { spawner: 'direct' } };
    await writeFile(join(repo, 'fanout.config.json'), JSON.stringify(tuning));
    const loaded = await load();
    expect(loaded.refused).toEqual([]);
    expect(loaded.config).toMatchObject({ ...tuning, limits: { grep: { max: 4 } } });
  });
});

describe('trusted configuration', () => {
  it('a file named with --config or FANOUT_CONFIG may widen the roots', async () => {
    await writeFile(join(parent, 'wide.json'), JSON.stringify({ roots: ['/'] }));
    expect((await load({}, join(parent, 'wide.json'))).config.roots).toEqual(['/']);
    const loaded = await load({ FANOUT_CONFIG: join(parent, 'wide.json') });
    expect(loaded.config.roots).toEqual(['/']);
    expect(loaded.refused).toEqual([]);
  });

  it('FANOUT_ROOTS may, and wins over a file found upward', async () => {
    await writeFile(join(repo, 'fanout.config.json'), JSON.stringify({ roots: ['src'] }));
    expect((await load({ FANOUT_ROOTS: parent })).config.roots).toEqual([parent]);
  });

  it("the user's own file may, and then a project's file may narrow within it", async () => {
    await mkdir(join(home, '.config', 'fanout'), { recursive: true });
    await writeFile(join(home, '.config', 'fanout', 'config.json'), JSON.stringify({ roots: [parent], concurrency: 9 }));
    const user = await load();
    expect(user.config).toMatchObject({ roots: [parent], concurrency: 9 });
    expect(user.sources).toContain(join(home, '.config', 'fanout', 'config.json'));
    // A project file inside the user's roots narrows within them; one outside is set aside.
    await writeFile(join(repo, 'fanout.config.json'), JSON.stringify({ roots: [join(parent, 'home')] }));
    expect((await load()).config.roots).toEqual([join(parent, 'home')]);
    await writeFile(join(repo, 'fanout.config.json'), JSON.stringify({ roots: ['/etc'] }));
    const refused = await load();
    expect(refused.config.roots).toEqual([parent]);
    expect(refused.refused.map((issue) => issue.key)).toEqual(['roots']);
    // XDG_CONFIG_HOME moves it.
    await mkdir(join(parent, 'xdg', 'fanout'), { recursive: true });
    await writeFile(join(parent, 'xdg', 'fanout', 'config.json'), JSON.stringify({ concurrency: 11 }));
    expect((await load({ XDG_CONFIG_HOME: join(parent, 'xdg') })).config.concurrency).toBe(11);
  });
});
