import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const WORKSPACE_NODE_MODULES = fileURLToPath(new URL('../../../../node_modules', import.meta.url));

/** The worker-side modules compiled to JavaScript in a temporary directory. */
export interface CompiledWorker {
  /** The compiled `analyze/worker.js`, to pass as `workerScript`. */
  script: URL;
  /** The compiled `analyze/pool.js`, for a child process that uses the pool on its own. */
  pool: URL;
  dir: string;
  cleanup(): Promise<void>;
}

/**
 * Worker threads load JavaScript files, and Node 20 cannot strip TypeScript types, so the
 * tests compile the current sources (`src/errors.ts` and `src/analyze/*.ts`) with TypeScript's
 * `transpileModule` instead of relying on a `dist` that may be stale. The directory gets a
 * `node_modules` link to the workspace's, so `errors.js` finds `@fanout/scheduler`.
 */
export async function compileWorker(): Promise<CompiledWorker> {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-analyze-worker-'));
  const files = ['errors.ts', ...(await readdir(join(SRC, 'analyze'))).filter((name) => name.endsWith('.ts')).map((name) => `analyze/${name}`)];
  for (const file of files) {
    const source = await readFile(join(SRC, file), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    const out = join(dir, 'src', file.replace(/\.ts$/, '.js'));
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, outputText);
  }
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await symlink(WORKSPACE_NODE_MODULES, join(dir, 'node_modules'), 'dir');
  return {
    script: pathToFileURL(join(dir, 'src', 'analyze', 'worker.js')),
    pool: pathToFileURL(join(dir, 'src', 'analyze', 'pool.js')),
    dir,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
