import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { analyzeAdapter, type AnalyzeAdapter, type AnalyzeAdapterOptions, type AnalyzeInputInit, type AnalyzeOutput } from '../../src/analyze/index.js';
import { fsScan, type FsScanOptions } from '../../src/fs/index.js';
import type { CompiledWorker } from './compiled-worker.js';
import { attemptContext as contextFor, eventually } from '../../src/testing/index.js';

/** A real directory tree in a temporary directory. */
export interface Tree {
  /** Its real path (so paths compare equal to what the adapter reports). */
  root: string;
  path(...parts: string[]): string;
  write(files: Record<string, string | Uint8Array>): Promise<void>;
  cleanup(): Promise<void>;
}

/** Creates a temporary tree from `{ "relative/path": content }`. */
export async function makeTree(files: Record<string, string | Uint8Array> = {}): Promise<Tree> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'fanout-analyze-')));
  const tree: Tree = {
    root,
    path: (...parts) => join(root, ...parts),
    async write(more) {
      for (const [relative, content] of Object.entries(more)) {
        const path = join(root, relative);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, content);
      }
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
  await tree.write(files);
  return tree;
}

export { contextFor, eventually };

/**
 * An analyze adapter on the compiled sources: analyzer modules on `worker.script`, the built-in
 * analyses' per-file work on a scan of its own whose threads run `worker.scanScript`.
 */
export function builtInAdapter(worker: CompiledWorker, roots: string[], options: Omit<AnalyzeAdapterOptions, 'roots' | 'scan'> = {}, scan: Omit<FsScanOptions, 'roots'> = {}): AnalyzeAdapter {
  return analyzeAdapter({ ...options, roots, workerScript: worker.script, scan: fsScan({ ...scan, roots, workerScript: worker.scanScript }) });
}

/** Validates an input with the adapter's schema and runs it, like one scheduler attempt. */
export async function analyze<O extends AnalyzeOutput = AnalyzeOutput>(adapter: AnalyzeAdapter, input: AnalyzeInputInit, signal?: AbortSignal): Promise<O> {
  return (await adapter.run(adapter.input.parse(input), contextFor(signal))) as O;
}

/**
 * An analyzer module that spins forever, appending a dot to `beat` every million turns, after
 * writing its thread id there: proof, from outside the pool, of whether the thread still runs.
 */
export function spinningAnalyzer(beat: string): string {
  return `import { appendFileSync, writeFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
export default function spin() {
  writeFileSync(${JSON.stringify(beat)}, threadId + '\\n');
  for (let turn = 1; ; turn++) if (turn % 1000000 === 0) appendFileSync(${JSON.stringify(beat)}, '.');
}
`;
}
