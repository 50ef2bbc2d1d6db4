import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileSources } from '../../helpers/compile.js';

/** The scan's worker (`src/fs/grep/worker.ts`) compiled from the current sources, and how to remove it. */
export interface CompiledGrepWorker {
  script: URL;
  cleanup(): Promise<void>;
}

/**
 * The worker and what it imports (the search engine and the analyzers' per-file halves; no
 * package), transpiled into a temporary directory (see `compileSources`).
 */
export async function compileGrepWorker(): Promise<CompiledGrepWorker> {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-grep-worker-'));
  await compileSources(['fs/grep/worker.ts'], dir);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  return { script: pathToFileURL(join(dir, 'fs', 'grep', 'worker.js')), cleanup: () => rm(dir, { recursive: true, force: true }) };
}
