import type { GrepOutput, RipgrepMessage } from '@fanout/adapters/grep';
import { toNdjson } from '@fanout/adapters/grep';
import { statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { grepAdapterFromConfig } from '@fanout/profiles';
import { createScheduler, PlanValidationError } from '@fanout/scheduler';
import { parse, UsageError } from '../args.js';
import { GREP_FLAGS, grepInput } from '../grep-input.js';
import { paintFor } from '../color.js';
import { loadSettings } from '../settings.js';
import { localRunId, type CommandHooks } from './run-command.js';

const HELP = `Usage: fanout grep <pattern> [paths...] [flags]

Searches files like ripgrep: with ripgrep itself when rg is on PATH (through its JSON output),
else with fanout's own engine (ripgrep's regex dialect, ignore rules and binary detection;
worker threads on large trees) — the same results either way. Exit status like ripgrep's: 0
when something matched, 1 when nothing did, 2 on an error.

  -i, --ignore-case     case-insensitive
  -S, --smart-case      case-insensitive unless the pattern has an upper-case letter
  -w, --word-regexp     whole words only
  -F, --fixed-strings   the pattern is a literal string
  -n, --line-number     show line numbers (the default on a terminal, as in ripgrep)
  -N, --no-line-number  do not show line numbers
  -c, --count           count matching lines per file
  -l, --files-with-matches
                        only the names of files that match
  -C, --context N       N lines of context around each match (-A, -B: after, before)
  -m, --max-count N     stop each file after N matching lines
  -g, --glob GLOB       include files matching GLOB (!GLOB excludes); repeatable
      --hidden          search hidden files and directories
      --no-ignore       do not honour .gitignore, .ignore and .rgignore
  -L, --follow          follow symbolic links (targets must stay inside the allowed roots)
      --json            ripgrep's JSON Lines messages (begin, match, context, end, summary)
      --engine ENGINE   auto (ripgrep when rg is on PATH), ripgrep or builtin
                        (default: grep.engine of the configuration, FANOUT_GREP__ENGINE)
      --config FILE     configuration file (allowed roots)
  -h, --help            this help`;

function textOf(data: { text?: string; bytes?: string } | undefined): string {
  return data?.text ?? (data?.bytes === undefined ? '' : Buffer.from(data.bytes, 'base64').toString('utf8'));
}

/** The raw bytes of a line, as ripgrep prints them: text that is not UTF-8 stays as it is. */
function bytesOf(data: { text?: string; bytes?: string } | undefined): Buffer {
  if (data?.bytes !== undefined) return Buffer.from(data.bytes, 'base64');
  return Buffer.from(data?.text ?? '', 'utf8');
}

const ENGINES = ['auto', 'ripgrep', 'builtin'] as const;

/**
 * Shows paths the way ripgrep does: under the path the user typed (`src/a.ts`, `./a.ts`), or
 * relative to the working directory when no path was given; absolute only when typed so.
 */
function pathDisplay(typed: readonly string[]): (absolute: string) => string {
  const bases = (typed.length === 0 ? [''] : typed).map((given) => ({ given, absolute: resolve(given === '' ? '.' : given) }));
  bases.sort((a, b) => b.absolute.length - a.absolute.length);
  return (absolute) => {
    for (const base of bases) {
      if (absolute === base.absolute) return base.given === '' ? relative(process.cwd(), absolute) : base.given;
      if (absolute.startsWith(base.absolute + sep) || base.absolute === sep) {
        // The engines report normalized absolute paths: the rest is a slice (path.relative
        // normalizes both sides again, which on 5,000 files cost 150 ms).
        const rest = base.absolute === sep ? absolute.slice(1) : absolute.slice(base.absolute.length + 1);
        return base.given === '' ? rest : `${base.given.replace(/\/+$/, '')}/${rest}`;
      }
    }
    return absolute;
  };
}

/** ripgrep names each file unless it was asked to search exactly one file. */
function namesFiles(paths: readonly string[]): boolean {
  if (paths.length !== 1) return true;
  try {
    return !statSync(paths[0]!).isFile();
  } catch {
    return true;
  }
}

/** The message with its path shown as the user typed it (ripgrep's --json does the same). */
function withPath(message: RipgrepMessage, display: (absolute: string) => string): RipgrepMessage {
  const data = message.data as { path?: { text?: string } };
  if (data.path?.text === undefined) return message;
  return { ...message, data: { ...data, path: { text: display(data.path.text) } } } as RipgrepMessage;
}

export async function run(argv: string[], hooks: CommandHooks = {}): Promise<number> {
  const { values, positionals } = parse(argv, GREP_FLAGS);
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const [pattern, ...paths] = positionals;
  if (pattern === undefined) throw new UsageError('expected a pattern');
  const engine = values.engine;
  if (engine !== undefined && !(ENGINES as readonly string[]).includes(engine)) throw new UsageError(`expected --engine to be one of ${ENGINES.join(', ')}, got ${JSON.stringify(engine)}`);
  const input = grepInput(values, pattern, paths);
  const { mode, context, after, before } = input;
  const settings = await loadSettings({ configFile: values.config });
  const config = { ...settings.config, roots: settings.config.roots ?? [process.cwd()] };
  if (engine !== undefined) config.grep = { ...config.grep, engine: engine as (typeof ENGINES)[number] };
  let adapter;
  try {
    // The grep adapter alone (not adaptersFromConfig): this command's bundle then holds none
    // of the other adapters' modules.
    // The rg the launcher started is adopted if it is the one the engine would start.
    adapter = await grepAdapterFromConfig(config, undefined, hooks.earlyRipgrep === undefined ? {} : { spawnRipgrep: hooks.earlyRipgrep.spawner() });
  } catch (error) {
    // No rg for engine "ripgrep": ripgrep's exit status for an error.
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('FANOUT_')) throw error;
    process.stderr.write(`fanout grep: ${(error as Error).message} (${code})\n`);
    return 2;
  }
  const paint = paintFor(process.stdout, values['no-color'] === true);
  const out: Buffer[] = [];
  // Text written since the last line's raw bytes: encoded once, not piece by piece (a
  // `Buffer.from` per file was a tenth of the reading of rg's output with -c). No piece ends
  // inside a character (each ends with a line feed or a separator), so the bytes are the same.
  let text = '';
  let pending: NodeJS.Immediate | undefined;
  const write = (piece: string | Buffer): void => {
    if (typeof piece === 'string') {
      text += piece;
      return;
    }
    if (text !== '') out.push(Buffer.from(text));
    text = '';
    out.push(piece);
  };
  const flushNow = (): void => {
    if (pending !== undefined) clearImmediate(pending);
    pending = undefined;
    if (text !== '') out.push(Buffer.from(text));
    text = '';
    if (out.length > 0) process.stdout.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    out.length = 0;
  };
  // What arrives in one turn of the event loop (a progress event per file, many per chunk of
  // ripgrep's output) goes out in one write.
  const flush = (): void => {
    pending ??= setImmediate(flushNow);
  };
  const display = pathDisplay(paths);
  const named = namesFiles(paths);
  const contextual = (context ?? 0) > 0 || (after ?? 0) > 0 || (before ?? 0) > 0;
  let previous: { path: string; line: number } | undefined;
  const numbered = values['no-line-number'] === true ? false : values['line-number'] === true || process.stdout.isTTY === true;
  /** The messages of the file being printed, held until its `end` (a binary file prints a notice instead). */
  let file: RipgrepMessage[] = [];
  const printFile = (messages: readonly RipgrepMessage[]): void => {
    const end = messages.at(-1);
    const binaryOffset = end?.type === 'end' ? end.data.binary_offset : null;
    for (const message of messages) {
      const data = message.data as { path?: { text?: string; bytes?: string }; lines?: { text?: string; bytes?: string }; line_number?: number; stats?: { matched_lines?: number } };
      // The path as the user typed it (see withPath), worked out only for the messages that print it.
      const shown = (): string => (data.path?.text === undefined ? textOf(data.path) : display(data.path.text));
      if (mode === 'files' && message.type === 'begin') write(`${paint.cyan(shown())}\n`);
      else if (mode === 'count' && message.type === 'end' && (data.stats?.matched_lines ?? 0) > 0) {
        write(named ? `${paint.cyan(shown())}:${data.stats!.matched_lines}\n` : `${data.stats!.matched_lines}\n`);
      } else if (mode === 'content' && binaryOffset !== null && message.type === 'end') {
        const path = shown();
        // A binary file named on the command line: ripgrep's notice, not its lines.
        if (contextual && previous !== undefined) write('--\n');
        previous = { path, line: Number.MAX_SAFE_INTEGER };
        write(`${named ? `${paint.cyan(path)}: ` : ''}binary file matches (found "\\0" byte around offset ${binaryOffset})\n`);
      } else if (mode === 'content' && binaryOffset === null && (message.type === 'match' || message.type === 'context')) {
        const path = shown();
        const separator = message.type === 'match' ? ':' : '-';
        const line = data.line_number ?? 0;
        // Like ripgrep, "--" between groups of lines that do not touch.
        if (contextual && previous !== undefined && (previous.path !== path || line > previous.line + 1)) write('--\n');
        previous = { path, line };
        const prefix = named ? `${paint.cyan(path)}${separator}` : '';
        const number = numbered ? `${paint.green(String(data.line_number ?? ''))}${separator}` : '';
        // The line as it is (a CR before its LF included, bytes that are not UTF-8 too). A line
        // of UTF-8 text (ripgrep's `text`: valid UTF-8, so no lone surrogate) joins the text.
        const lineText = data.lines?.text;
        if (lineText !== undefined) {
          write(`${prefix}${number}${lineText}${lineText.endsWith('\n') ? '' : '\n'}`);
          continue;
        }
        const bytes = bytesOf(data.lines);
        write(`${prefix}${number}`);
        write(bytes[bytes.length - 1] === 10 ? bytes : Buffer.concat([bytes, Buffer.from('\n')]));
      }
    }
  };
  const print = (messages: readonly RipgrepMessage[]): void => {
    if (values.json === true) {
      for (const message of messages) if (message.type !== 'summary') write(`${JSON.stringify(withPath(message, display))}\n`);
      flush();
      return;
    }
    // The messages as the engine reported them: printFile shows their paths as typed.
    for (const message of messages) {
      if (message.type === 'summary') continue;
      file.push(message);
      if (message.type === 'end') {
        printFile(file);
        file = [];
      }
    }
    flush();
  };
  try {
    // One attempt, no retries: what an attempt streamed is printed as it comes, and a retry
    // would print it again (a crash halfway through a tree used to print its start three
    // times). A grep that fails is reported once, with its error, as ripgrep would.
    const run = createScheduler({ adapters: [adapter] }).run({ operations: [{ id: 'grep', kind: 'grep', input, retry: false }] }, { runId: localRunId('grep') });
    let streamed = false;
    run.on((event) => {
      if (event.type === 'op-progress') {
        const data = event.data as { type?: string; messages?: RipgrepMessage[] };
        if (data?.type === 'grep-results' && Array.isArray(data.messages)) {
          streamed = true;
          print(data.messages);
        }
      }
    });
    const result = await run.result;
    const op = result.get('grep')!;
    if (op.state !== 'succeeded') {
      flushNow();
      const error = op.error as { code?: string; message?: string } | undefined;
      process.stderr.write(`fanout grep: ${error?.message ?? op.state}${error?.code === undefined ? '' : ` (${error.code})`}\n`);
      return 2;
    }
    const output = op.output as GrepOutput;
    if (!streamed) print(output.messages);
    if (values.json === true) {
      const summary = output.messages.filter((m) => m.type === 'summary');
      write(summary.length > 0 ? summary.map((m) => `${JSON.stringify(m)}\n`).join('') : toNdjson({ ...output, messages: [] }));
    }
    flushNow();
    // Files that could not be read: on standard error, as ripgrep prints them, and exit 2.
    for (const error of output.errors) process.stderr.write(`fanout grep: ${error.path === '' ? '' : `${display(error.path)}: `}${error.message}\n`);
    if (output.truncated) process.stderr.write('fanout grep: output cut at the caps\n');
    const matched = output.stats.matchedLines > 0 || (mode === 'files' && output.stats.filesWithMatches > 0);
    return matched && output.errors.length === 0 ? 0 : output.errors.length > 0 ? 2 : 1;
  } catch (error) {
    if (error instanceof PlanValidationError) {
      for (const issue of error.issues) process.stderr.write(`fanout grep: ${issue.path.replace(/^operations\[0\]\.input\./, '')}: ${issue.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    await adapter.close?.();
  }
}
