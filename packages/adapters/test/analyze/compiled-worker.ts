import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileSources } from '../helpers/compile.js';

const WORKSPACE_NODE_MODULES = fileURLToPath(new URL('../../../../node_modules', import.meta.url));

/** The worker-side modules compiled to JavaScript in a temporary directory. */
export interface CompiledWorker {
  /** The compiled `analyze/worker.js`, to pass as `workerScript`. */
  script: URL;
  /** The compiled `analyze/pool.js`, for a child process that uses the pool on its own. */
  pool: URL;
  /** The compiled scan worker (`fs/grep/worker.js`), where the built-in analyses' per-file work runs. */
  scanScript: URL;
  dir: string;
  cleanup(): Promise<void>;
}

/**
 * Worker threads load JavaScript files, and Node 20 cannot strip TypeScript types, so the
 * tests compile the current sources the workers need (see `compileSources`) instead of
 * relying on a `dist` that may be stale. The directory gets a
 * `node_modules` link to the workspace's, so `errors.js` finds `@fanout/scheduler`.
 */
export async function compileWorker(): Promise<CompiledWorker> {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-analyze-worker-'));
  await compileSources(['analyze/worker.ts', 'analyze/pool.ts', 'fs/grep/worker.ts'], join(dir, 'src'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await symlink(WORKSPACE_NODE_MODULES, join(dir, 'node_modules'), 'dir');
  return {
    script: pathToFileURL(join(dir, 'src', 'analyze', 'worker.js')),
    pool: pathToFileURL(join(dir, 'src', 'analyze', 'pool.js')),
    scanScript: pathToFileURL(join(dir, 'src', 'fs', 'grep', 'worker.js')),
    dir,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
