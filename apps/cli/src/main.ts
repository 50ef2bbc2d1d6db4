#!/usr/bin/env node
/**
 * The `fanout` command's launcher: `--help`, `--version` and unknown commands are answered
 * here, without loading anything else; a command runs from its bundle (`grep`, `exec` and `mcp`
 * have one each, the others share one), compiled from a V8 code cache when there is one
 * (code-cache.ts, build.mjs). Start-up is most of a
 * short `fanout grep` or `fanout exec`, so this file stays small and CommonJS.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { EarlyRipgrep } from '@fanout/adapters/grep/early';
import { EXIT } from './args.js';
import { COMMANDS, commandNamed, type CommandName } from './command-table.js';
import { loadBundle } from './code-cache.js';

/**
 * The file names of the bundles beside this one, by the name of their entry (build.mjs defines
 * it): `commands`, every command; `grep`, `exec` and `mcp`, only that one.
 */
declare const __FANOUT_BUNDLES__: Readonly<Record<string, string>>;

/** What a commands bundle exports (commands/index.ts, bundles/*.ts). */
interface CommandsBundle {
  runCommand(name: CommandName, argv: string[], hooks: { started(): void; earlyRipgrep?: EarlyRipgrep }): Promise<number>;
}

/**
 * Set when the command that ran has nothing left to do once it returns (`grep`): the process
 * then exits at once, without tearing down its heap (see the end of this file).
 */
let doneOnReturn = false;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  return `fanout ${version()} — run batches of tool operations in parallel, in order only where a dependency demands it

Usage: fanout <command> [arguments] [flags]

Commands:
${lines.join('\n')}

Run "fanout <command> --help" for a command's flags.
Exit codes: 0 all succeeded, 1 some operations failed, 2 usage or validation error, 130 interrupted.`;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? rest[0] : undefined;
    if (topic !== undefined) return main([topic, '--help']);
    process.stdout.write(`${help()}\n`);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const name = commandNamed(first);
  if (name === undefined) {
    const known = Object.keys(COMMANDS).join(', ');
    process.stderr.write(`fanout: unknown command "${first}"; expected one of: ${known}\nRun "fanout --help" for usage.\n`);
    return EXIT.usage;
  }
  // `fanout grep`'s rg starts now, when the command line says what it will be (early-grep.ts):
  // it searches while the command's bundle loads, and the command adopts it.
  // Its code is a file of its own (dist/early-grep.js), loaded only for grep.
  const earlyRipgrep = name === 'grep' ? (createRequire(import.meta.url)('./early-grep.js') as typeof import('./early-grep.js')).startEarlyRipgrep(rest) : undefined;
  // A command with a bundle of its own runs from it; the others from the bundle of them all.
  const file = Object.hasOwn(__FANOUT_BUNDLES__, name) ? __FANOUT_BUNDLES__[name]! : __FANOUT_BUNDLES__.commands!;
  const bundle = fileURLToPath(new URL(`./${file}`, import.meta.url));
  // The grep engine sets these V8 flags when it loads (its linear-time regex fallback, see
  // `regex-engine.ts` in @fanout/adapters). V8 checks a code cache against the flags in force:
  // set after the bundle was compiled, they made the cache written at exit (with them) never
  // match the next start (without them), so every run compiled the bundle and wrote a cache
  // again (about 150 ms of a short `fanout grep`). Set before it, every run has them.
  // `node:v8` is loaded here, not at the top: loading it took ~5 ms, which `--version` and
  // `--help` do not need and which held back the early `rg` (a short grep waits for its rg).
  const { setFlagsFromString } = process.getBuiltinModule('node:v8');
  try {
    setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
    setFlagsFromString('--enable-experimental-regexp-engine');
  } catch {
    // A runtime without them: the grep engine copes, and the cache is only an optimisation.
  }
  // explore-codebase is a few seconds of one hot walk on the main thread and one worker: on 2
  // cores, V8's background compiles of its large functions (inlined into one another, and
  // compiled again after each deoptimisation) took a quarter of the process's CPU. A smaller
  // inlining budget (920 bytes of bytecode by default) compiles less for the same result:
  // same-run medians under load, 6 runs each, Babel 3.35 -> 2.94 s of CPU. Set before the
  // bundle loads, as above, so its code cache (one per command) always sees the same flags.
  if (name === 'explore-codebase') {
    try {
      setFlagsFromString('--max-inlined-bytecode-size-cumulative=150');
    } catch {
      // Another V8: nothing changes but the speed.
    }
  }
  // A cache to make is written at exit, or when the command says its start is over (`fanout
  // mcp`, a server that may run for hours): written at the exit of a whole session, the cache
  // held every function the session compiled, twice the size of what a start needs (2.4 vs
  // 1.25 MB), and each later start read and deserialised all of it — ~790 more page faults and
  // 20–35 ms more CPU to the first tools/list (same run, 8 starts each).
  let writeCache: (() => void) | undefined;
  const whenDone = (write: () => void): void => {
    writeCache = () => {
      writeCache = undefined;
      write();
    };
    process.once('exit', () => writeCache?.());
  };
  // The caches of every bundle of this build are kept; those of earlier builds go.
  try {
    // Inside the try: a bundle that fails to load must not leave the early rg walking the tree.
    const { exports } = loadBundle<CommandsBundle>(bundle, name, { whenDone, keep: Object.values(__FANOUT_BUNDLES__).map((other) => other.replace(/\.js$/, '')) });
    const code = await exports.runCommand(name, rest, { started: () => writeCache?.(), ...(earlyRipgrep === undefined ? {} : { earlyRipgrep }) });
    // A grep has written all it had to and ended its rg and workers when it returns.
    doneOnReturn = name === 'grep';
    return code;
  } finally {
    // Not adopted (another command line, an error before the search): it goes.
    earlyRipgrep?.discard();
  }
}

// A reader that stops early (`fanout grep … | head`) is not an error: stop quietly, as grep does.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // What a natural exit would still do is free the heap, page by page: ~3 ms of a short
    // `fanout grep` (its heap is ~17 MB; same run, 25 rounds). process.exit() skips it; its
    // 'exit' listeners (the code cache) still run. Only when the output is all with the
    // system: a write still in flight (an asynchronous pipe or terminal) would be cut.
    if (doneOnReturn && process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
  },
  (error: unknown) => {
    // Configuration and plan errors are the user's to fix (exit 2) and list every problem;
    // anything else is a failure of the run itself.
    const code = (error as { code?: unknown }).code;
    const named = typeof code === 'string' ? ` (${code})` : '';
    process.stderr.write(`fanout: ${(error as Error)?.message ?? String(error)}${named}\n`);
    process.exitCode = code === 'FANOUT_CONFIG_INVALID' || code === 'FANOUT_PLAN_INVALID' || code === 'FANOUT_JOURNAL_INVALID' || code === 'FANOUT_REDIS_UNAVAILABLE' ? EXIT.usage : EXIT.failed;
  },
);
