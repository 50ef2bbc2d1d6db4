// Builds the `fanout` command as a few bundled files. A short command is mostly start-up:
// unbundled, Node's module loader resolves, reads and links ~190 files (95 of them zod's)
// before `fanout exec` runs anything; bundled, it loads one file and the chunk of the command.
// Each command stays its own chunk (loaded on demand), and the adapters' worker threads are
// entry points of their own.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const adapters = dirname(require.resolve('@fanout/adapters/package.json'));

/**
 * The adapters find their workers beside their own module (`new URL('./worker.js',
 * import.meta.url)`). In the bundle every module lives in `dist/`, so each worker gets a name
 * of its own there, and the reference is rewritten to it. A missing reference fails the
 * build rather than shipping a command whose searches cannot start.
 */
const WORKERS = [
  { module: join(adapters, 'dist/fs/grep/pool.js'), worker: join(adapters, 'dist/fs/grep/worker.js'), name: 'grep-worker' },
  { module: join(adapters, 'dist/analyze/adapter.js'), worker: join(adapters, 'dist/analyze/worker.js'), name: 'analyze-worker' },
];

const workerNames = {
  name: 'worker-names',
  setup(b) {
    for (const { module, name } of WORKERS) {
      b.onLoad({ filter: new RegExp(`^${module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const reference = "new URL('./worker.js', import.meta.url)";
        if (!source.includes(reference)) throw new Error(`expected ${args.path} to hold ${reference}, got none: the worker of the bundle would not be found`);
        return { contents: source.replaceAll(reference, `new URL('./${name}.js', import.meta.url)`), loader: 'js' };
      });
    }
  },
};

/**
 * zod re-exports its 64 error-message locales from its entry points (`z.locales`); a bundle
 * loads them all although only English is used by default: ~370 KB parsed and run at every
 * start of a command that loads zod. They are replaced by English alone.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)) return undefined;
      return { path: join(dirname(args.importer), '../locales/en.js'), namespace: 'zod-locales' };
    });
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: `export { default as en } from ${JSON.stringify(args.path)};`, loader: 'js', resolveDir: dirname(args.path) }));
  },
};

await rm(join(here, 'dist'), { recursive: true, force: true });
const result = await build({
  absWorkingDir: here,
  entryPoints: { main: 'src/main.ts', ...Object.fromEntries(WORKERS.map((w) => [w.name, w.worker])) },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  plugins: [workerNames, zodEnglishOnly],
  // FANOUT_BUILD_META=1 writes dist/meta.json, for https://esbuild.github.io/analyze/.
  metafile: process.env.FANOUT_BUILD_META === '1',
  // CommonJS dependencies (fast-glob, undici…) call require() for Node's own modules.
  banner: { js: "import { createRequire as __fanoutCreateRequire } from 'node:module'; const require = __fanoutCreateRequire(import.meta.url);" },
});
if (result.metafile !== undefined) await writeFile(join(here, 'dist/meta.json'), JSON.stringify(result.metafile));
