import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AttemptContext } from '@fanout/scheduler';
import type { AnalyzeAdapter, AnalyzeInputInit, AnalyzeOutput } from '../../src/analyze/index.js';

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

/** A context for calling `run` directly, as the scheduler would. */
export function contextFor(signal: AbortSignal = new AbortController().signal, progress: (data: unknown) => void = () => {}): AttemptContext {
  return { id: 'test', kind: 'analyze', attempt: 1, signal, deadline: undefined, progress };
}

/** Validates an input with the adapter's schema and runs it, like one scheduler attempt. */
export async function analyze<O extends AnalyzeOutput = AnalyzeOutput>(adapter: AnalyzeAdapter, input: AnalyzeInputInit, signal?: AbortSignal): Promise<O> {
  return (await adapter.run(adapter.input.parse(input), contextFor(signal))) as O;
}

/** Polls `probe` until it is true or `withinMs` passes (a generous real-world bound, not a timing assertion). */
export async function eventually(probe: () => boolean | Promise<boolean>, withinMs = 5000): Promise<boolean> {
  const until = Date.now() + withinMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
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
