import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codebaseSize, ConfigError, configFromEnv, configJsonSchema, loadConfig, mergeConfig, monitorOptions, PROFILES, runOptions, schedulerOptions, WEB_CATEGORIES } from '../src/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function errorOf(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('built-in profiles', () => {
  it('carry the default limits, thresholds and sizes', () => {
    expect(PROFILES.default!.config.limits).toMatchObject({
      search: { max: 32, optimal: 16 },
      grep: { max: 48, optimal: 24 },
      bash: { max: 16, optimal: 8 },
      analyze: { max: 24, optimal: 12 },
    });
    expect(PROFILES.default!.config.thresholds).toEqual({ cpu: 0.9, memory: 0.85, network: 0.8, disk: 0.75, failureRate: 0.1, slowResponseMs: 5000 });
    expect(PROFILES['explore-codebase']!.sizes.map((s) => [s.name, s.operations])).toEqual([
      ['small', { glob: 4, grep: 6, read: 2 }],
      ['medium', { glob: 8, grep: 12, read: 4 }],
      ['large', { glob: 16, grep: 24, read: 12 }],
    ]);
    expect(PROFILES['explore-web']!.sizes.map((s) => s.operations.search)).toEqual([8, 16, 32]);
    expect(WEB_CATEGORIES.reduce((n, c) => n + c.searches, 0)).toBe(32);
  });

  it('size explore-codebase by counting files', () => {
    expect(codebaseSize(12).name).toBe('small');
    expect(codebaseSize(999).name).toBe('small');
    expect(codebaseSize(1000).name).toBe('medium');
    expect(codebaseSize(10_000).name).toBe('medium');
    expect(codebaseSize(10_001).name).toBe('large');
  });
});

describe('loadConfig', () => {
  it('layers profile → file → environment → options, lowest first', async () => {
    // A file found upward may narrow the roots (never widen them: see trust.test.ts).
    await writeFile(join(dir, 'fanout.config.json'), JSON.stringify({ concurrency: 10, limits: { grep: { max: 12 } }, roots: ['src'] }));
    const loaded = await loadConfig({
      cwd: dir,
      env: { FANOUT_CONCURRENCY: '20', FANOUT_LIMITS__GREP__OPTIMAL: '6', FANOUT_SEARCH__PROVIDERS: 'brave,searxng' },
      overrides: { concurrency: 30 },
    });
    expect(loaded.config.concurrency).toBe(30);
    expect(loaded.config.limits?.grep).toEqual({ max: 12, optimal: 6 });
    expect(loaded.config.limits?.search).toEqual({ max: 32, optimal: 16 });
    expect(loaded.config.search?.providers).toEqual(['brave', 'searxng']);
    expect(loaded.config.roots).toEqual(['src']);
    expect(loaded.sources).toEqual(['profile default', join(dir, 'fanout.config.json'), 'env', 'options']);
  });

  it('finds the file from a subdirectory upward, or the "fanout" key of package.json', async () => {
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'x', fanout: { concurrency: 7 } }));
    const loaded = await loadConfig({ cwd: join(dir, 'a', 'b'), env: {} });
    expect(loaded.config.concurrency).toBe(7);
    expect(loaded.sources[1]).toBe(`${join(dir, 'package.json')} ("fanout" key)`);
  });

  it('reports every bad value with its file or variable, key, expectation and finding', async () => {
    await writeFile(join(dir, 'fanout.config.json'), JSON.stringify({ concurrency: -1, limits: { grep: { max: 'lots' } }, colour: true }));
    const error = await errorOf(loadConfig({ cwd: dir, env: { FANOUT_THRESHOLDS__CPU: '1.5', FANOUT_NOPE: '1', FANOUT_CONCURRENCY: 'many' } }));
    const file = join(dir, 'fanout.config.json');
    const byKey = Object.fromEntries(error.issues.map((i) => [`${i.source} ${i.key}`, i.message]));
    expect(byKey[`${file} concurrency`]).toMatch(/>0; got number -1/);
    expect(byKey[`${file} limits.grep.max`]).toBe('expected number, got the string "lots"');
    expect(byKey[`${file} colour`]).toBe('unknown key');
    expect(byKey['env FANOUT_THRESHOLDS__CPU thresholds.cpu']).toMatch(/<=1; got the string "1.5"/);
    expect(byKey['env FANOUT_CONCURRENCY concurrency']).toMatch(/got the string "many"/);
    expect(byKey['env FANOUT_NOPE ']).toMatch(/^unknown variable/);
    expect(error.code).toBe('FANOUT_CONFIG_INVALID');
    expect(error.message).toContain(`${file}: limits.grep.max: expected number`);
  });

  it('names a bad address class of search.allowAddresses by its place, from a file or a variable', async () => {
    await writeFile(join(dir, 'fanout.config.json'), JSON.stringify({ search: { allowAddresses: ['loopback', 'intranet'] } }));
    const error = await errorOf(loadConfig({ cwd: dir, env: { FANOUT_SEARCH__ALLOW_ADDRESSES: 'private,everything' } }));
    const byKey = Object.fromEntries(error.issues.map((i) => [`${i.source} ${i.key}`, i.message]));
    expect(byKey[`${join(dir, 'fanout.config.json')} search.allowAddresses[1]`]).toMatch(/loopback.*private.*link-local.*metadata.*got the string "intranet"/);
    expect(byKey['env FANOUT_SEARCH__ALLOW_ADDRESSES search.allowAddresses[1]']).toMatch(/got the string "everything"/);
  });

  it('names a file that is not JSON, with the parser’s position', async () => {
    await writeFile(join(dir, 'fanout.config.json'), '{ "concurrency": 4, }');
    const error = await errorOf(loadConfig({ cwd: dir, env: {} }));
    expect(error.issues[0]).toMatchObject({ source: join(dir, 'fanout.config.json'), key: '' });
    expect(error.issues[0]!.message).toMatch(/^expected JSON: .*position/);
  });

  it('passes over places with nothing there, and names a configuration that is there but cannot be read', async () => {
    // A path through a file (ENOTDIR) is nothing there; a directory where the file would be cannot be read.
    await writeFile(join(dir, 'not-a-dir'), '');
    expect((await loadConfig({ cwd: join(dir, 'not-a-dir'), env: {}, userConfigFile: join(dir, 'not-a-dir', 'config.json') })).sources).toEqual(['profile default']);
    await mkdir(join(dir, 'fanout.config.json'));
    const error = await errorOf(loadConfig({ cwd: dir, env: {}, userConfigFile: false }));
    expect(error.issues[0]).toMatchObject({ source: join(dir, 'fanout.config.json'), key: '' });
    expect(error.issues[0]!.message).toMatch(/^cannot be read: EISDIR/);
  });

  it('picks the profile from options, then the environment, then the file', async () => {
    await writeFile(join(dir, 'fanout.config.json'), JSON.stringify({ profile: 'explore-web' }));
    expect((await loadConfig({ cwd: dir, env: {} })).profile.name).toBe('explore-web');
    expect((await loadConfig({ cwd: dir, env: { FANOUT_PROFILE: 'start' } })).profile.name).toBe('start');
    expect((await loadConfig({ cwd: dir, env: { FANOUT_PROFILE: 'start' }, overrides: { profile: 'default' } })).profile.name).toBe('default');
    const error = await errorOf(loadConfig({ cwd: dir, env: { FANOUT_PROFILE: 'fastest' } }));
    expect(error.issues[0]!.message).toBe('unknown profile "fastest"; expected one of: default, start, explore-codebase, explore-web');
  });

  it('uses the file FANOUT_CONFIG names, and says when it is missing', async () => {
    await writeFile(join(dir, 'custom.json'), JSON.stringify({ concurrency: 3 }));
    expect((await loadConfig({ cwd: dir, env: { FANOUT_CONFIG: 'custom.json' } })).config.concurrency).toBe(3);
    const error = await errorOf(loadConfig({ cwd: dir, env: { FANOUT_CONFIG: 'missing.json' } }));
    expect(error.issues[0]!.message).toBe('expected a configuration file here, found none');
  });
});

describe('configFromEnv', () => {
  it('splits roots on the path delimiter and other lists on commas', () => {
    const { config, issues } = configFromEnv({ FANOUT_ROOTS: ['/a', '/b'].join(delimiter), FANOUT_SEARCH__BRAVE__API_KEY: 'k', PATH: '/bin' });
    expect(issues).toEqual([]);
    expect(config).toEqual({ roots: ['/a', '/b'], search: { brave: { apiKey: 'k' } } });
  });

  it('takes the short names the search providers document', () => {
    const { config, issues } = configFromEnv({ FANOUT_BRAVE_API_KEY: 'b', FANOUT_SEARXNG_URL: 'http://127.0.0.1:8888' });
    expect(issues).toEqual([]);
    expect(config).toEqual({ search: { brave: { apiKey: 'b' }, searxng: { url: 'http://127.0.0.1:8888' } } });
  });

  it('chooses the shell spawner, and names the variable and the choices for a bad one', () => {
    expect(configFromEnv({ FANOUT_SHELL__SPAWNER: 'server' })).toMatchObject({ config: { shell: { spawner: 'server' } }, issues: [] });
    const [issue] = configFromEnv({ FANOUT_SHELL__SPAWNER: 'zygote' }).issues;
    expect(issue).toMatchObject({ source: 'env FANOUT_SHELL__SPAWNER', key: 'shell.spawner' });
    expect(issue!.message).toMatch(/"direct"\|"server"; got the string "zygote"/);
  });

  it('chooses the grep engine, and names the variable and the choices for a bad one', () => {
    expect(configFromEnv({ FANOUT_GREP__ENGINE: 'builtin' })).toMatchObject({ config: { grep: { engine: 'builtin' } }, issues: [] });
    const [issue] = configFromEnv({ FANOUT_GREP__ENGINE: 'grep' }).issues;
    expect(issue).toMatchObject({ source: 'env FANOUT_GREP__ENGINE', key: 'grep.engine' });
    expect(issue!.message).toMatch(/"auto"\|"ripgrep"\|"builtin"; got the string "grep"/);
  });

  it('refuses a variable for a whole section', () => {
    expect(configFromEnv({ FANOUT_LIMITS: '4' }).issues[0]!.message).toMatch(/not the whole section/);
  });
});

describe('conversions', () => {
  it('turn configuration into scheduler and run options', () => {
    const config = mergeConfig(PROFILES.default!.config, { concurrency: 64, limits: { grep: { max: 8 } }, timeouts: { attemptMs: 1000, queueMs: 50, runMs: 60_000 }, retry: { attempts: 2, budgetRatio: 0.5 } });
    const options = schedulerOptions(config);
    expect(options.concurrency).toBe(64);
    expect(options.limits?.grep).toEqual({ max: 8, optimal: 8 });
    expect(options.limits?.search).toEqual({ max: 32, optimal: 16 });
    expect(options.timeoutMs).toBe(1000);
    expect(options.retry).toEqual({ attempts: 2 });
    expect(options.retryBudget).toEqual({ ratio: 0.5 });
    expect(runOptions(config)).toEqual({ queueTimeoutMs: 50, deadlineMs: 60_000 });
  });

  it('turn the thresholds into monitor signals, each turning off a little below', () => {
    expect(monitorOptions({})).toEqual({});
    expect(monitorOptions({ thresholds: { cpu: 0.95, memory: 0.9, disk: 0.05, failureRate: 0.2, slowResponseMs: 2000 } })).toEqual({
      signals: { cpu: { threshold: 0.95, release: 0.85 }, memory: { threshold: 0.9, release: 0.85 }, disk: { threshold: 0.05, release: 0 } },
      runSignals: { failureRate: { threshold: 0.2, release: 0.1 }, meanResponse: { threshold: 2000, release: 1600 } },
    });
    expect(monitorOptions({ thresholds: { network: 0.5 } })).toEqual({ signals: { network: { threshold: 0.5, release: 0.4 } } });
  });

  it('publish a JSON Schema for editors', () => {
    const schema = configJsonSchema() as { properties: Record<string, unknown>; title: string };
    expect(schema.title).toBe('fanout configuration');
    expect(Object.keys(schema.properties)).toContain('limits');
    expect(Object.keys(schema.properties)).toContain('search');
  });
});
