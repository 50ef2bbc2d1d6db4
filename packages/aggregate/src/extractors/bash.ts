import { field, show } from '../describe.js';
import type { Extractor } from '../extractor.js';
import { maybeNum, maybeText, record } from './shape.js';

const STDOUT_CHARS = 2000;
const STDERR_CHARS = 500;

/** argv as a shell user would type it (quoted where needed), or the script. */
export function showCommand(command: unknown): string | undefined {
  if (typeof command === 'string') return command;
  if (Array.isArray(command)) return command.map((arg) => (typeof arg === 'string' && /^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');
  return undefined;
}

function head(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** `bash` → `{ exitCode, signal, stdout, stderr, durationMs, truncated, command }`. */
export const bashExtractor: Extractor = {
  kind: 'bash',
  extract(output, sink, op) {
    const o = record(output, 'bash', 'output');
    const command = showCommand(o.command) ?? showCommand(field(op.input, 'command', 'shell', 'script')) ?? op.id;
    const stdout = head(maybeText(o.stdout), STDOUT_CHARS);
    const stderr = head(maybeText(o.stderr), STDERR_CHARS);
    const exitCode = maybeNum(o.exitCode);
    const truncated = o.truncated !== null && typeof o.truncated === 'object' ? (o.truncated as { stdout?: unknown; stderr?: unknown }) : {};
    sink.command(command, {
      exitCode: exitCode ?? null,
      signal: maybeText(o.signal) ?? null,
      ...(stdout === undefined ? {} : { stdout }),
      ...(stderr === undefined ? {} : { stderr }),
      truncated: truncated.stdout === true || truncated.stderr === true,
    });
    if (truncated.stdout === true) sink.problem({ code: 'FANOUT_TRUNCATED', message: `the output of \`${command}\` was cut at its cap`, missing: `the end of the output of \`${command}\`` });
    if (exitCode !== undefined && exitCode !== 0) sink.note(`\`${command}\` exited with ${exitCode}, accepted as a success`);
  },
  describe: (input, output) => showCommand(field(output, 'command')) ?? showCommand(field(input, 'command', 'shell', 'script')),
  missing(input) {
    const command = showCommand(field(input, 'command', 'shell', 'script'));
    return command === undefined ? undefined : `the output of \`${show(command)}\``;
  },
};
