import { threadId } from 'node:worker_threads';
import { createScheduler } from '@fanout/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeAdapter, type AnalyzeAdapter, type ModuleOutput } from '../../src/analyze/index.js';
import { compileWorker, type CompiledWorker } from './compiled-worker.js';
import { analyze, makeTree, type Tree } from './fixtures.js';

let worker: CompiledWorker;
let tree: Tree;
let outside: Tree;
let adapter: AnalyzeAdapter;

// A Standard Schema written by hand (zod, valibot and arktype schemas have the same shape).
const depthSchema = `export const optionsSchema = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      if (typeof value?.depth === 'number') return { value: { depth: value.depth, parsed: true } };
      return { issues: [{ message: 'expected a number', path: [{ key: 'depth' }] }] };
    },
  },
};`;

beforeAll(async () => {
  worker = await compileWorker();
  tree = await makeTree({
    'src/a.ts': '\uFEFFexport const a = 1;\n',
    'src/b.ts': 'export const b = 2;\n',
    'analyzers/inspect.mjs': `import { isMainThread, threadId } from 'node:worker_threads';
export default async function inspect(input, api) {
  api.progress({ step: 'started' });
  const first = await api.readText(input.files[0]);
  return { isMainThread, threadId, files: input.files, options: input.options, truncated: input.truncated, first, language: api.language(input.files[0]), roots: api.roots };
}`,
    'analyzers/throws.mjs': `export default () => { throw new TypeError('no parser for this file'); };`,
    'analyzers/rejects.mjs': `export default async () => { throw 'a plain string'; };`,
    'analyzers/no-default.mjs': `export const analyze = () => 1;`,
    'analyzers/not-a-function.mjs': `export default { analyze() {} };`,
    'analyzers/syntax.mjs': `export default (input => {;`,
    'analyzers/schema.mjs': `${depthSchema}\nexport default (input) => input.options;`,
    'analyzers/bad-schema.mjs': `export const optionsSchema = { parse() {} };\nexport default () => 1;`,
    'analyzers/function-result.mjs': `export default () => ({ callback() {} });`,
    'analyzers/exits.mjs': `export default () => process.exit(3);`,
    'analyzers/crash-later.mjs': `export default () => new Promise(() => { setTimeout(() => { throw new RangeError('thrown from a timer'); }, 1); });`,
  });
  outside = await makeTree({ 'evil.mjs': 'export default () => "escaped";' });
  adapter = analyzeAdapter({ roots: [tree.root], workerScript: worker.script });
});

afterAll(async () => {
  await adapter.close();
  await tree.cleanup();
  await outside.cleanup();
  await worker.cleanup();
});

describe('analyze with a user analyzer module', () => {
  it('runs the default export inside a worker thread, with the files, options and api', async () => {
    const out = await analyze<ModuleOutput>(adapter, { analyzer: 'module', module: 'analyzers/inspect.mjs', paths: ['src'], options: { depth: 2 } });
    expect(out).toMatchObject({ analyzer: 'module', module: tree.path('analyzers', 'inspect.mjs'), files: 2, truncated: false });
    const result = out.result as Record<string, unknown>;
    expect(result.isMainThread).toBe(false);
    expect(result.threadId).not.toBe(threadId);
    expect(result.files).toEqual([tree.path('src', 'a.ts'), tree.path('src', 'b.ts')]);
    expect(result.options).toEqual({ depth: 2 });
    expect(result.first).toBe('export const a = 1;\n');
    expect(result.language).toBe('TypeScript');
    expect(result.roots).toEqual([tree.root]);
  });

  it('forwards api.progress to the scheduler as op-progress', async () => {
    const run = createScheduler({ adapters: [adapter] }).run({ operations: [{ id: 'inspect', kind: 'analyze', input: { analyzer: 'module', module: 'analyzers/inspect.mjs', paths: ['src'] } }] });
    const progress: unknown[] = [];
    run.on((event) => {
      if (event.type === 'op-progress') progress.push(event.data);
    });
    const result = await run.result;
    expect(result.get('inspect')!.state).toBe('succeeded');
    expect(progress).toEqual([{ step: 'started' }]);
  });

  it('reports an analyzer that throws as FANOUT_ANALYZER_FAILED with its message, and the worker lives on', async () => {
    const error = await analyze(adapter, { analyzer: 'module', module: 'analyzers/throws.mjs' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AdapterError', code: 'FANOUT_ANALYZER_FAILED', path: 'module', classification: { class: 'fatal' } });
    expect((error as Error).message).toBe(`the analyzer ${tree.path('analyzers', 'throws.mjs')} threw: no parser for this file`);
    expect((error as Error).cause).toMatchObject({ name: 'TypeError', message: 'no parser for this file' });
    await expect(analyze(adapter, { analyzer: 'module', module: 'analyzers/rejects.mjs' })).rejects.toMatchObject({ code: 'FANOUT_ANALYZER_FAILED', message: expect.stringContaining('threw: a plain string') });
    const before = adapter.workers().live;
    await expect(analyze(adapter, { analyzer: 'stats', paths: ['src'] })).resolves.toMatchObject({ files: 2 });
    expect(adapter.workers().live).toBe(before);
  });

  it('refuses a module that is missing or malformed with FANOUT_ANALYZER_INVALID naming module', async () => {
    const cases: [string, RegExp][] = [
      ['analyzers/missing.mjs', /expected module to name an analyzer module file, got "analyzers\/missing.mjs" \(.* does not exist\)/],
      ['analyzers', /is not a file/],
      ['analyzers/no-default.mjs', /expected module .*no-default.mjs to have a default export that is a function \(input, api\) => result, got no default export/],
      ['analyzers/not-a-function.mjs', /default export that is a function .* got an object/],
      ['analyzers/syntax.mjs', /expected module .*syntax.mjs to load as an ES module, but loading it failed: .*/],
      ['analyzers/bad-schema.mjs', /optionsSchema export .* to be a Standard Schema/],
    ];
    for (const [module, message] of cases) {
      const error = await analyze(adapter, { analyzer: 'module', module }).catch((e: unknown) => e);
      expect(error, module).toMatchObject({ code: 'FANOUT_ANALYZER_INVALID', path: 'module' });
      expect((error as Error).message, module).toMatch(message);
    }
  });

  it('refuses a module outside the allowed roots before loading it', async () => {
    await expect(analyze(adapter, { analyzer: 'module', module: outside.path('evil.mjs') })).rejects.toMatchObject({ code: 'FANOUT_PATH_OUTSIDE_ROOT', path: 'module' });
  });

  it('validates options with the module optionsSchema, naming the field', async () => {
    const ok = await analyze<ModuleOutput>(adapter, { analyzer: 'module', module: 'analyzers/schema.mjs', options: { depth: 3 } });
    expect(ok.result).toEqual({ depth: 3, parsed: true });
    const error = await analyze(adapter, { analyzer: 'module', module: 'analyzers/schema.mjs', options: { depth: 'deep' } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FANOUT_ANALYZER_INVALID', path: 'options.depth' });
    expect((error as Error).message).toMatch(/expected options to match the optionsSchema of .*schema.mjs, got options.depth: expected a number/);
  });

  it('refuses options or results that cannot cross between threads', async () => {
    await expect(analyze(adapter, { analyzer: 'module', module: 'analyzers/function-result.mjs' })).rejects.toMatchObject({
      code: 'FANOUT_ANALYZER_FAILED',
      message: expect.stringContaining('copyable out of the worker'),
    });
    const input = adapter.input.parse({ analyzer: 'module', module: 'analyzers/inspect.mjs', options: { callback: () => 1 } });
    await expect(adapter.run(input, { id: 'x', kind: 'analyze', attempt: 1, signal: new AbortController().signal, deadline: undefined, progress() {} })).rejects.toMatchObject({
      code: 'FANOUT_ANALYZER_INVALID',
      path: 'options',
    });
  });

  it('reports a worker that exits or crashes under an analyzer, and replaces it', async () => {
    await expect(analyze(adapter, { analyzer: 'module', module: 'analyzers/exits.mjs' })).rejects.toMatchObject({
      code: 'FANOUT_ANALYZER_FAILED',
      path: 'module',
      message: 'expected the module analysis to finish, but its worker thread exited with code 3',
    });
    await expect(analyze(adapter, { analyzer: 'module', module: 'analyzers/crash-later.mjs' })).rejects.toMatchObject({
      code: 'FANOUT_ANALYZER_FAILED',
      message: 'expected the module analysis to finish, but its worker thread crashed: thrown from a timer',
    });
    await expect(analyze(adapter, { analyzer: 'stats', paths: ['src'] })).resolves.toMatchObject({ files: 2 });
  });
});
