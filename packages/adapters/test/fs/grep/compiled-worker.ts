import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../../src/fs/grep/', import.meta.url));

/** The grep worker compiled from the current sources, and how to remove it. */
export interface CompiledGrepWorker {
  script: URL;
  cleanup(): Promise<void>;
}

/**
 * Worker threads load JavaScript, and Node 20 cannot strip TypeScript types: the tests
 * transpile `src/fs/grep/*.ts` into a temporary directory (the worker imports no package), so
 * they never run a stale `dist`.
 */
export async function compileGrepWorker(): Promise<CompiledGrepWorker> {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-grep-worker-'));
  for (const name of await readdir(SRC)) {
    if (!name.endsWith('.ts')) continue;
    const source = await readFile(join(SRC, name), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: name,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, name.replace(/\.ts$/, '.js')), outputText);
  }
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  return { script: pathToFileURL(join(dir, 'worker.js')), cleanup: () => rm(dir, { recursive: true, force: true }) };
}
