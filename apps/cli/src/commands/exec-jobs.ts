import { basename, dirname, extname } from 'node:path';

/** One job of `fanout exec`: a command, either as argv or as a shell script. */
export interface Job {
  /** 1-based, in input order (GNU parallel's `{#}`). */
  seq: number;
  /** Run directly when the template needs no shell: no quoting problems, no shell to start. */
  argv?: string[];
  /** Run with `bash -c` when the template uses shell syntax; arguments are single-quoted in it. */
  script?: string;
  /** As shown in the job log. */
  display: string;
}

/** Characters that make a command need a shell (a leading `VAR=value` does too). */
const SHELL_SYNTAX = /[|&;<>()$`\\"'*?[\]#~{}\n\t]/;

/**
 * bash's keywords and the builtins that are no program of their own (`exit`, `cd`, `source`,
 * `type`…): a command starting with one runs in bash, as under GNU parallel, rather than
 * failing as "not a program on PATH". Builtins that are programs too (`echo`, `printf`,
 * `test`, `true`, `kill`, `pwd`) still run directly.
 */
const SHELL_WORDS = new Set([
  ...['!', '[[', ']]', '{', '}', 'case', 'coproc', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'function', 'if', 'in', 'select', 'then', 'time', 'until', 'while'],
  ...['.', ':', 'alias', 'bg', 'bind', 'break', 'builtin', 'caller', 'cd', 'command', 'compgen', 'complete', 'compopt', 'continue', 'declare', 'dirs', 'disown', 'enable', 'eval', 'exec'],
  ...['exit', 'export', 'fc', 'fg', 'getopts', 'hash', 'help', 'history', 'jobs', 'let', 'local', 'logout', 'mapfile', 'popd', 'pushd', 'read', 'readarray', 'readonly', 'return'],
  ...['set', 'shift', 'shopt', 'source', 'suspend', 'times', 'trap', 'type', 'typeset', 'ulimit', 'umask', 'unalias', 'unset', 'wait'],
]);

function needsShell(words: readonly string[]): boolean {
  const first = words[0] ?? '';
  return words.some((word) => SHELL_SYNTAX.test(word.replace(TOKEN, ''))) || /^[A-Za-z_][A-Za-z0-9_]*=/.test(first) || SHELL_WORDS.has(first);
}

/** Quotes a value for a POSIX shell: `it's` → `'it'"'"'s'`. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+,=-]+$/.test(value) ? value : `'${value.replace(/'/g, `'"'"'`)}'`;
}

/** GNU parallel's replacement strings for one argument. */
function replacements(arg: string): Record<string, string> {
  const ext = extname(arg);
  const noExt = ext === '' ? arg : arg.slice(0, -ext.length);
  const base = basename(arg);
  const baseExt = extname(base);
  return { '{}': arg, '{.}': noExt, '{/}': base, '{//}': dirname(arg), '{/.}': baseExt === '' ? base : base.slice(0, -baseExt.length) };
}

const TOKEN = /\{(\d+)?(\/\/|\/\.|\/|\.)?\}|\{#\}/g;

/** Replaces `{}` `{.}` `{/}` `{//}` `{/.}` `{#}` and positional `{1}`, `{2.}`… in `text`. */
function substitute(text: string, args: readonly string[], seq: number, quote: (value: string) => string): { text: string; used: boolean } {
  let used = false;
  const out = text.replace(TOKEN, (token, position: string | undefined, modifier: string | undefined) => {
    used = true;
    if (token === '{#}') return String(seq);
    const index = position === undefined ? 0 : Number(position) - 1;
    const arg = position === undefined ? args.join(' ') : (args[index] ?? '');
    const key = `{${modifier ?? ''}}`;
    return quote(replacements(arg)[key] ?? arg);
  });
  return { text: out, used };
}

/**
 * Builds the jobs of `fanout exec` the way GNU parallel does: every combination of the
 * argument sources (the groups after `:::`), or one job per line when the arguments come from
 * standard input; `{}` and its variants in the template take each argument, and without any,
 * the arguments are appended. With no template, each argument line is a command itself.
 */
export function buildJobs(template: readonly string[], sources: readonly (readonly string[])[]): Job[] {
  const combos: string[][] = [[]];
  for (const source of sources) {
    const next: string[][] = [];
    for (const combo of combos) for (const value of source) next.push([...combo, value]);
    combos.splice(0, combos.length, ...next);
  }
  if (sources.length === 0) return [];
  return combos.map((args, i) => {
    const seq = i + 1;
    if (template.length === 0) {
      // Each input is a command line of its own.
      const line = args.join(' ');
      const words = line.split(/\s+/).filter((t) => t !== '');
      return needsShell(words) || SHELL_SYNTAX.test(line) ? { seq, script: line, display: line } : { seq, argv: words, display: line };
    }
    const joined = template.join(' ');
    // A template written as one argument with spaces ("echo {}") is a command line, like GNU parallel's.
    const words = template.length === 1 ? template[0]!.split(/\s+/).filter((t) => t !== '') : [...template];
    if (!needsShell(words)) {
      let used = false;
      const argv = words.map((word) => {
        const replaced = substitute(word, args, seq, (v) => v);
        used ||= replaced.used;
        return replaced.text;
      });
      if (!used) argv.push(...args);
      return { seq, argv, display: argv.map(shellQuote).join(' ') };
    }
    const replaced = substitute(joined, args, seq, shellQuote);
    const script = replaced.used ? replaced.text : `${joined} ${args.map(shellQuote).join(' ')}`;
    return { seq, script, display: script };
  });
}

/** Where one group of arguments comes from: after `:::`, or from a file named after `::::`. */
export type ArgumentSource = { kind: 'values'; values: string[] } | { kind: 'file'; path: string };

/**
 * Splits `fanout exec` arguments into the template and the argument groups: `::: a b` is one
 * group, `:::: f g` two, each file's lines (GNU parallel's argument files; `-` is standard
 * input). GNU parallel's linked groups (`:::+`, `::::+`) are refused rather than taken for
 * arguments.
 */
export function splitTemplate(positionals: readonly string[]): { template: string[]; sources: ArgumentSource[] } {
  const template: string[] = [];
  const sources: ArgumentSource[] = [];
  let mode: 'template' | 'values' | 'files' = 'template';
  let files = 0;
  const noFiles = () => new Error('expected an argument file after ::::, got none');
  for (const item of positionals) {
    if (mode === 'files' && (item === ':::' || item === '::::') && files === 0) throw noFiles();
    if (item === ':::') {
      sources.push({ kind: 'values', values: [] });
      mode = 'values';
    } else if (item === '::::') {
      mode = 'files';
      files = 0;
    } else if (item === ':::+' || item === '::::+') throw new Error(`expected ::: or :::: before argument groups, got ${item}: linked groups (GNU parallel's ${item}) are not supported`);
    else if (mode === 'template') template.push(item);
    else if (mode === 'files') {
      sources.push({ kind: 'file', path: item });
      files++;
    } else (sources.at(-1) as { values: string[] }).values.push(item);
  }
  if (mode === 'files' && files === 0) throw noFiles();
  return { template, sources };
}

/** One line of GNU parallel's `--joblog`. */
export interface JoblogEntry {
  seq: number;
  startTime: number;
  runtime: number;
  exitValue: number;
  signal: number;
  command: string;
}

export const JOBLOG_HEADER = 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand';

/** Formats a job log line the way GNU parallel does (tab-separated, seconds with decimals). */
export function joblogLine(entry: JoblogEntry, receivedBytes: number): string {
  return [entry.seq, ':', entry.startTime.toFixed(3), entry.runtime.toFixed(3), 0, receivedBytes, entry.exitValue, entry.signal, entry.command].join('\t');
}

/** Reads a job log: the last entry of each sequence number. Lines that are not entries are skipped. */
export function parseJoblog(text: string): Map<number, JoblogEntry> {
  const entries = new Map<number, JoblogEntry>();
  for (const line of text.split('\n')) {
    const cells = line.split('\t');
    if (cells.length < 9 || !/^\d+$/.test(cells[0]!)) continue;
    entries.set(Number(cells[0]), {
      seq: Number(cells[0]),
      startTime: Number(cells[2]),
      runtime: Number(cells[3]),
      exitValue: Number(cells[6]),
      signal: Number(cells[7]),
      command: cells.slice(8).join('\t'),
    });
  }
  return entries;
}

/** `--halt now,fail=1` / `soon,fail=3` / `never`, as the scheduler's failure policy. */
export function parseHalt(value: string | undefined): { halt: 'now' | 'soon'; failures: number } | 'isolate' {
  if (value === undefined || value === 'never') return 'isolate';
  const match = /^(now|soon),fail=(\d+)$/.exec(value) ?? /^(now|soon)$/.exec(value);
  if (match === null) throw new Error(`expected --halt now|soon[,fail=N] or never, got ${JSON.stringify(value)}`);
  return { halt: match[1] as 'now' | 'soon', failures: match[2] === undefined ? 1 : Math.max(1, Number(match[2])) };
}
