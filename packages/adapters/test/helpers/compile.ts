import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/**
 * Worker threads load JavaScript, and Node 20 cannot strip TypeScript types: tests transpile
 * the sources a worker needs — `entries` (relative to `src`) and every module they import by a
 * relative path, transitively — into `out`, keeping the layout, so they never run a stale
 * `dist`. Returns the files written (relative to `out`).
 */
export async function compileSources(entries: readonly string[], out: string): Promise<string[]> {
  const done = new Set<string>();
  const queue = entries.map((entry) => normalize(entry));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = await readFile(join(SRC, file), 'utf8');
    for (const [, specifier] of source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) queue.push(normalize(join(dirname(file), `${specifier!}.ts`)));
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    const target = join(out, file.replace(/\.ts$/, '.js'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  return [...done];
}
