// Builds the `fanout` command. A short command is mostly start-up, so the build is shaped by it:
//
// - dist/main.js, the launcher (src/main.ts): answers --help and --version itself and loads
//   nothing else; a command is run from
// - dist/commands-<hash>.js, every command and what it imports in one bundle, in which each
//   command and its modules are initialised only when that command runs; dist/grep-<hash>.js
//   and dist/exec-<hash>.js, the same for `grep` and `exec` alone (a third of the size: less
//   to read, compile and collect at the start of a short command); dist/mcp-<hash>.js, the
//   same for `mcp`, whose start is what an MCP client waits for before it lists the tools. The launcher compiles
//   a bundle through vm.Script with a V8 code cache (src/code-cache.ts): compiling ~1 MB of zod,
//   scheduler and adapters was most of a `fanout exec` that ran one job. A code cache needs a
//   classic script, hence CommonJS; the content hash in the name keeps a cache from being
//   used for another build (V8 checks the source's length, not its text).
// - dist/early-grep.js, what the launcher runs for `fanout grep` before it loads the grep
//   bundle: it starts `rg` early (src/early-grep.ts).
// - dist/grep-worker.js and dist/analyze-worker.js, the adapters' worker threads.
//
// dist/package.json says "commonjs", so that Node loads dist/*.js without its ES module
// loader (~10 ms more at start-up). Unbundled, the loader would also resolve, read and link
// ~190 files (95 of them zod's).
import { readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
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

/**
 * The glob walk and the glob lens of the scan's pass load fast-glob's internal modules with
 * `createRequire(import.meta.url)` (see glob-walk.ts and glob-pass.ts), which esbuild cannot
 * follow: from the bundle, Node's loader then read fast-glob and its dependencies a second
 * time from node_modules (~50 ms of CPU for every grep and glob), or, installed without them,
 * found none, and every glob of a pass then fell back to fast-glob's own walk (a copy of
 * dist/ outside the workspace spent most of its main thread there on Babel). Without the local `require`, the calls are esbuild's to bundle: the
 * internals come from the bundled fast-glob itself. A missing declaration fails the build.
 */
const LOCAL_REQUIRES = [join(adapters, 'dist/fs/glob-walk.js'), join(adapters, 'dist/fs/glob-pass.js')];
const bundledRequire = {
  name: 'bundled-require',
  setup(b) {
    b.onLoad({ filter: new RegExp(`^(${LOCAL_REQUIRES.map((path) => path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`) }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const declaration = 'const require = createRequire(import.meta.url);';
      if (!source.includes(declaration)) throw new Error(`expected ${args.path} to hold ${declaration}, got none: fast-glob's internals would be read from node_modules at run time`);
      return { contents: source.replace(declaration, ''), loader: 'js' };
    });
  },
};

/** What every output shares: CommonJS for Node 20, with `import.meta.url` for the sources that use it. */
const common = {
  absWorkingDir: here,
  outdir: 'dist',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20.19',
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'import.meta.url': '__fanout_import_meta_url' },
  banner: { js: "var __fanout_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
};

await rm(join(here, 'dist'), { recursive: true, force: true });

/**
 * The bundles of the commands: `commands`, every command; `grep`, `exec` and `mcp`, each only
 * that command and what it imports. A short `fanout grep` or `fanout exec` is mostly
 * start-up, and reading, compiling and initialising the modules of explore, serve, agents
 * and distributed was part of it; so was it of `fanout mcp`'s answer to a client's first
 * `tools/list`.
 */
const BUNDLES = { commands: 'src/commands/index.ts', grep: 'src/bundles/grep.ts', exec: 'src/bundles/exec.ts', mcp: 'src/bundles/mcp.ts' };

const commands = await build({
  ...common,
  entryPoints: BUNDLES,
  entryNames: '[name]-[hash]',
  plugins: [workerNames, bundledRequire, zodEnglishOnly],
  // BullMQ and ioredis (~1 MB, with msgpackr, Lua scripts and cron-parser) are needed only by
  // \`fanout worker\` and \`--redis\`: left out of the bundle, they are required from node_modules
  // when @fanout/distributed's module is first initialised, and every other command does not
  // pay for them at start-up.
  external: ['bullmq', 'ioredis'],
  metafile: true,
  // Without the comments, indentation and dead branches of the sources (names are kept, for
  // stack traces and profiles): the mcp bundle went from 3.5 to 2.4 MB, each start reads it
  // whole and gives V8 its text, and that was ~5% of the CPU time of a start of `fanout mcp`
  // to its first tools/list (same run, 20 starts each). The linked source maps still map
  // every position back to the sources.
  minifyWhitespace: true,
  minifySyntax: true,
});
/** Each bundle's file name in dist/, by the name of its entry. */
const bundleFiles = {};
for (const [name, entry] of Object.entries(BUNDLES)) {
  const [path, output] = Object.entries(commands.metafile.outputs).find(([, output]) => output.entryPoint === entry) ?? [];
  if (path === undefined) throw new Error(`expected esbuild to write the ${name} bundle (${entry}), got no output for it`);
  // vm.Script runs classic scripts: an import() left in the bundle (a module esbuild could not
  // inline) would throw ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING at run time. Fail here instead.
  const dynamic = output.imports.filter((imported) => imported.kind === 'dynamic-import' && imported.external === true);
  if (dynamic.length > 0) throw new Error(`expected no import() of modules outside the ${name} bundle, got ${dynamic.map((imported) => imported.path).join(', ')}: import them statically`);
  bundleFiles[name] = basename(path);
}

await build({
  ...common,
  entryPoints: { main: 'src/main.ts' },
  // esbuild keeps src/main.ts's #! line first.
  define: { ...common.define, __FANOUT_BUNDLES__: JSON.stringify(bundleFiles) },
});

// dist/early-grep.js: what the launcher runs before it loads the grep bundle, to start `rg`
// early (src/early-grep.ts); a file of its own, so that other commands do not read it.
await build({ ...common, entryPoints: { 'early-grep': 'src/early-grep.ts' } });

await build({ ...common, entryPoints: Object.fromEntries(WORKERS.map((w) => [w.name, w.worker])) });

await writeFile(join(here, 'dist/package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
// FANOUT_BUILD_META=1 writes dist/meta.json, for https://esbuild.github.io/analyze/.
if (process.env.FANOUT_BUILD_META === '1') await writeFile(join(here, 'dist/meta.json'), JSON.stringify(commands.metafile));
