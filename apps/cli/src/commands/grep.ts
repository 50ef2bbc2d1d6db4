import type { GrepOutput, RipgrepMessage } from '@fanout/adapters/fs';
import { toNdjson } from '@fanout/adapters/fs';
import { statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { adaptersFromConfig } from '@fanout/profiles';
import { createScheduler, PlanValidationError } from '@fanout/scheduler';
import { parse, positiveInt, UsageError } from '../args.js';
import { paintFor } from '../color.js';
import { loadSettings } from '../settings.js';

const HELP = `Usage: fanout grep <pattern> [paths...] [flags]

Searches files with fanout's own engine (ripgrep's regex dialect, ignore rules and binary
detection; worker threads on large trees). Exit status like ripgrep's: 0 when something
matched, 1 when nothing did, 2 on an error.

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
      --config FILE     configuration file (allowed roots)
  -h, --help            this help`;

const FLAGS = {
  'ignore-case': { type: 'boolean', short: 'i' },
  'smart-case': { type: 'boolean', short: 'S' },
  'word-regexp': { type: 'boolean', short: 'w' },
  'fixed-strings': { type: 'boolean', short: 'F' },
  'line-number': { type: 'boolean', short: 'n' },
  'no-line-number': { type: 'boolean', short: 'N' },
  count: { type: 'boolean', short: 'c' },
  'files-with-matches': { type: 'boolean', short: 'l' },
  context: { type: 'string', short: 'C' },
  after: { type: 'string', short: 'A' },
  before: { type: 'string', short: 'B' },
  'max-count': { type: 'string', short: 'm' },
  glob: { type: 'string', short: 'g', multiple: true },
  hidden: { type: 'boolean' },
  'no-ignore': { type: 'boolean' },
  follow: { type: 'boolean', short: 'L' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function nonNegative(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`expected ${flag} to be a whole number, got ${JSON.stringify(value)}`);
  return n;
}

function text(data: { text?: string; bytes?: string } | undefined): string {
  return data?.text ?? (data?.bytes === undefined ? '' : Buffer.from(data.bytes, 'base64').toString('utf8'));
}

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
        const rest = relative(base.absolute, absolute);
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

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, FLAGS);
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const [pattern, ...paths] = positionals;
  if (pattern === undefined) throw new UsageError('expected a pattern');
  const include: string[] = [];
  const exclude: string[] = [];
  for (const glob of values.glob ?? []) (glob.startsWith('!') ? exclude : include).push(glob.startsWith('!') ? glob.slice(1) : glob);
  const mode = values.count === true ? 'count' : values['files-with-matches'] === true ? 'files' : 'content';
  const maxCount = positiveInt(values['max-count'], '--max-count');
  const context = nonNegative(values.context, '--context');
  const after = nonNegative(values.after, '--after-context');
  const before = nonNegative(values.before, '--before-context');
  const input = {
    pattern,
    paths: paths.length === 0 ? ['.'] : paths,
    mode,
    ignoreCase: values['ignore-case'] === true,
    smartCase: values['smart-case'] === true,
    word: values['word-regexp'] === true,
    fixedStrings: values['fixed-strings'] === true,
    include,
    exclude,
    hidden: values.hidden === true,
    ignore: values['no-ignore'] !== true,
    gitignore: values['no-ignore'] !== true,
    followSymlinks: values.follow === true,
    // A person asked for every match: the caps are for plans, not for this.
    maxMatches: 1_000_000_000,
    maxOutputBytes: 1024 * 1024 * 1024,
    ...(maxCount === undefined ? {} : { maxCount }),
    ...(context === undefined ? {} : { context }),
    ...(after === undefined ? {} : { after }),
    ...(before === undefined ? {} : { before }),
  };
  const settings = await loadSettings({ configFile: values.config });
  const configured = await adaptersFromConfig({ ...settings.config, roots: settings.config.roots ?? [process.cwd()] }, ['grep']);
  const paint = paintFor(process.stdout, values['no-color'] === true);
  const out: string[] = [];
  const flush = (): void => {
    if (out.length > 0) process.stdout.write(out.join(''));
    out.length = 0;
  };
  // Messages arrive in batches while the search goes (ctx.progress): print them as they come.
  let streamed = false;
  const display = pathDisplay(paths);
  const named = namesFiles(paths);
  const contextual = (context ?? 0) > 0 || (after ?? 0) > 0 || (before ?? 0) > 0;
  let previous: { path: string; line: number } | undefined;
  const numbered = values['no-line-number'] === true ? false : values['line-number'] === true || process.stdout.isTTY === true;
  const print = (messages: readonly RipgrepMessage[]): void => {
    streamed = true;
    if (values.json === true) {
      for (const message of messages) if (message.type !== 'summary') out.push(`${JSON.stringify(withPath(message, display))}\n`);
      flush();
      return;
    }
    for (const raw of messages) {
      const message = withPath(raw, display);
      const data = message.data as { path?: { text?: string; bytes?: string }; lines?: { text?: string; bytes?: string }; line_number?: number; stats?: { matched_lines?: number } };
      const path = text(data.path);
      if (mode === 'files' && message.type === 'begin') out.push(`${paint.cyan(path)}\n`);
      else if (mode === 'count' && message.type === 'end' && (data.stats?.matched_lines ?? 0) > 0) {
        out.push(named ? `${paint.cyan(path)}:${data.stats!.matched_lines}\n` : `${data.stats!.matched_lines}\n`);
      } else if (mode === 'content' && (message.type === 'match' || message.type === 'context')) {
        const separator = message.type === 'match' ? ':' : '-';
        const line = data.line_number ?? 0;
        // Like ripgrep, "--" between groups of lines that do not touch.
        if (contextual && previous !== undefined && (previous.path !== path || line > previous.line + 1)) out.push('--\n');
        previous = { path, line };
        const prefix = named ? `${paint.cyan(path)}${separator}` : '';
        const number = numbered ? `${paint.green(String(data.line_number ?? ''))}${separator}` : '';
        out.push(`${prefix}${number}${text(data.lines).replace(/\r?\n$/, '')}\n`);
      }
    }
    flush();
  };
  try {
    const run = createScheduler({ adapters: configured.adapters }).run({ operations: [{ id: 'grep', kind: 'grep', input }] });
    run.on((event) => {
      if (event.type === 'op-progress') {
        const data = event.data as { type?: string; messages?: RipgrepMessage[] };
        if (data?.type === 'grep-results' && Array.isArray(data.messages)) print(data.messages);
      }
    });
    const result = await run.result;
    const op = result.get('grep')!;
    if (op.state !== 'succeeded') {
      const error = op.error as { code?: string; message?: string } | undefined;
      process.stderr.write(`fanout grep: ${error?.message ?? op.state}${error?.code === undefined ? '' : ` (${error.code})`}\n`);
      return 2;
    }
    const output = op.output as GrepOutput;
    if (!streamed) print(output.messages);
    if (values.json === true) {
      const summary = output.messages.filter((m) => m.type === 'summary');
      out.push(summary.length > 0 ? summary.map((m) => `${JSON.stringify(m)}\n`).join('') : toNdjson({ ...output, messages: [] }));
    }
    flush();
    if (output.truncated) process.stderr.write('fanout grep: output cut at the caps\n');
    return output.stats.matchedLines > 0 || (mode === 'files' && output.stats.filesWithMatches > 0) ? 0 : 1;
  } catch (error) {
    if (error instanceof PlanValidationError) {
      for (const issue of error.issues) process.stderr.write(`fanout grep: ${issue.path.replace(/^operations\[0\]\.input\./, '')}: ${issue.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    await configured.close();
  }
}
