import { spawn } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScheduler } from '@fanout/scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeAdapter, type AnalyzeAdapter, type ModuleOutput } from '../../src/analyze/index.js';
import { compileWorker, type CompiledWorker } from './compiled-worker.js';
import { analyze, eventually, makeTree, spinningAnalyzer, type Tree } from './fixtures.js';

let worker: CompiledWorker;
let tree: Tree;
let adapter: AnalyzeAdapter;

beforeAll(async () => {
  worker = await compileWorker();
  tree = await makeTree({
    'src/a.ts': 'export const a = 1;\n',
    'analyzers/spin.mjs': spinningAnalyzer('/dev/null'),
    'analyzers/thread.mjs': `import { threadId } from 'node:worker_threads';\nexport default () => threadId;`,
    'analyzers/count.mjs': `export default ({ files }) => files.length;`,
    // Waits until the gate file exists: holds a worker busy for as long as a test needs.
    'analyzers/gated.mjs': `import { existsSync } from 'node:fs';
export default async (input) => {
  while (!existsSync(input.options.gate)) await new Promise((resolve) => setTimeout(resolve, 5));
  return 'through';
};`,
  });
  adapter = analyzeAdapter({ roots: [tree.root], workerScript: worker.script });
});

afterAll(async () => {
  await adapter.close();
  await tree.cleanup();
  await worker.cleanup();
});

async function beatsOf(path: string): Promise<number> {
  return (await stat(path)).size;
}

describe('analyze worker pool', () => {
  it('ends the worker of an analysis that is aborted, and the next analysis runs on a fresh one', async () => {
    const beat = tree.path('spin.beat');
    await writeFile(tree.path('analyzers', 'spin-beat.mjs'), spinningAnalyzer(beat));
    const controller = new AbortController();
    const spinning = analyze(adapter, { analyzer: 'module', module: 'analyzers/spin-beat.mjs' }, controller.signal);
    spinning.catch(() => {});
    // The analyzer is spinning once it has written its thread id and a first heartbeat.
    expect(await eventually(async () => (await beatsOf(beat).catch(() => 0)) > 0 && (await readFile(beat, 'utf8')).includes('.'))).toBe(true);
    const spinner = Number((await readFile(beat, 'utf8')).split('\n')[0]);
    expect(adapter.workers()).toMatchObject({ busy: 1 });

    controller.abort(new Error('enough'));
    await expect(spinning).rejects.toThrow('enough');
    expect(await eventually(() => adapter.workers().live === 0)).toBe(true);
    expect(adapter.workers()).toEqual({ live: 0, busy: 0, idle: 0, queued: 0 });
    // From outside the pool: the thread no longer writes heartbeats.
    const size = await beatsOf(beat);
    await sleep(200);
    expect(await beatsOf(beat)).toBe(size);

    const next = await analyze<ModuleOutput>(adapter, { analyzer: 'module', module: 'analyzers/thread.mjs' });
    expect(typeof next.result).toBe('number');
    expect(next.result).not.toBe(spinner);
    expect(adapter.workers()).toMatchObject({ live: 1, busy: 0, idle: 1 });
  });

  it('ends the worker when the scheduler times the analysis out', async () => {
    const result = await createScheduler({ adapters: [adapter] }).execute({
      operations: [{ id: 'spin', kind: 'analyze', input: { analyzer: 'module', module: 'analyzers/spin.mjs' }, timeoutMs: 200, retry: false }],
    });
    expect(result.get('spin')!.state).toBe('timed-out');
    expect(await eventually(() => adapter.workers().busy === 0)).toBe(true);
    await expect(analyze(adapter, { analyzer: 'stats' })).resolves.toMatchObject({ analyzer: 'stats' });
  });

  it('never runs more threads than its concurrency; further analyses wait their turn', async () => {
    const gate = tree.path('gate');
    const small = analyzeAdapter({ roots: [tree.root], workerScript: worker.script, maxConcurrency: 2 });
    try {
      const runs = Array.from({ length: 5 }, () => analyze<ModuleOutput>(small, { analyzer: 'module', module: 'analyzers/gated.mjs', options: { gate } }));
      expect(await eventually(() => small.workers().busy === 2 && small.workers().queued === 3)).toBe(true);
      expect(small.workers().live).toBe(2);
      await writeFile(gate, '');
      const outputs = await Promise.all(runs);
      expect(outputs.map((o) => o.result)).toEqual(['through', 'through', 'through', 'through', 'through']);
      expect(small.workers()).toMatchObject({ live: 2, busy: 0, idle: 2, queued: 0 });
    } finally {
      await small.close();
    }
  });

  it('drops a waiting analysis at once when it is aborted', async () => {
    const gate = tree.path('gate-2');
    const single = analyzeAdapter({ roots: [tree.root], workerScript: worker.script, maxConcurrency: 1 });
    try {
      const first = analyze(single, { analyzer: 'module', module: 'analyzers/gated.mjs', options: { gate } });
      first.catch(() => {});
      expect(await eventually(() => single.workers().busy === 1)).toBe(true);
      const controller = new AbortController();
      const waiting = analyze(single, { analyzer: 'module', module: 'analyzers/count.mjs' }, controller.signal);
      expect(await eventually(() => single.workers().queued === 1)).toBe(true);
      controller.abort(new Error('not needed'));
      await expect(waiting).rejects.toThrow('not needed');
      expect(single.workers()).toMatchObject({ live: 1, busy: 1, queued: 0 });
      await writeFile(gate, '');
      await expect(first).resolves.toMatchObject({ result: 'through' });
    } finally {
      await single.close();
    }
  });

  it('ends idle workers after idleTimeoutMs', async () => {
    const brief = analyzeAdapter({ roots: [tree.root], workerScript: worker.script, idleTimeoutMs: 20 });
    await analyze(brief, { analyzer: 'module', module: 'analyzers/count.mjs', paths: ['src'] });
    expect(await eventually(() => brief.workers().live === 0)).toBe(true);
    await expect(analyze(brief, { analyzer: 'module', module: 'analyzers/count.mjs', paths: ['src'] })).resolves.toMatchObject({ files: 1, result: 1 });
    await brief.close();
  });

  it('close() rejects running analyses with FANOUT_ABORTED and ends every thread', async () => {
    const closing = analyzeAdapter({ roots: [tree.root], workerScript: worker.script });
    const running = analyze(closing, { analyzer: 'module', module: 'analyzers/spin.mjs' });
    const refused = expect(running).rejects.toMatchObject({ code: 'FANOUT_ABORTED' });
    expect(await eventually(() => closing.workers().busy === 1)).toBe(true);
    await closing.close();
    await refused;
    expect(closing.workers()).toEqual({ live: 0, busy: 0, idle: 0, queued: 0 });
  });

  it('says so when the worker script cannot start', async () => {
    const broken = analyzeAdapter({ roots: [tree.root], workerScript: new URL('missing-worker.js', worker.script) });
    const error = await analyze(broken, { analyzer: 'module', module: 'analyzers/count.mjs' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FANOUT_ANALYZER_FAILED', path: 'module' });
    expect((error as Error).message).toMatch(/expected the analysis worker to start from .*missing-worker\.js, but it could not: /);
    expect(broken.workers().live).toBe(0);
  });

  it('does not keep the process alive with idle workers', async () => {
    // A child process runs an analysis on the compiled pool and never calls close(): it must exit on its own.
    const script = join(worker.dir, 'idle-exit.mjs');
    await writeFile(
      script,
      `import { WorkerPool } from './src/analyze/pool.js';
const pool = new WorkerPool({ script: new URL('./src/analyze/worker.js', import.meta.url), maxWorkers: 2, idleTimeoutMs: Infinity });
const files = [${JSON.stringify(tree.path('src', 'a.ts'))}];
const job = { analyzer: 'module', files, truncated: false, module: ${JSON.stringify(tree.path('analyzers', 'count.mjs'))}, options: undefined, roots: [${JSON.stringify(tree.root)}] };
const out = await pool.run(job, new AbortController().signal);
console.log(JSON.stringify({ files: out, live: pool.counts().live }));`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const stuck = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(stuck);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toEqual({ files: 1, live: 1 });
  });
});
