/**
 * Any agent CLI, from a template: `--command 'mycli --cwd {dir} --task {prompt}'`. The
 * template is split into words once (quotes honoured, nothing else interpreted), then
 * `{prompt}`, `{dir}`, `{agent}`, `{branch}`, `{task}` and `{session}` are replaced inside
 * each word — a value is never split again, so a prompt full of quotes, `;` or `$(…)` stays
 * one argument. Without `{prompt}` the prompt goes to standard input. Its output is read as
 * text, or in the dialect of a preset (`dialect: 'claude'` for a wrapper that speaks
 * stream-json).
 */
import { splitWords } from '../argv.js';
import { AgentsError } from '../errors.js';
import type { AgentPreset, LaunchContext, StreamParser } from '../preset.js';
import { claudePreset } from './claude.js';
import { codexPreset } from './codex.js';
import { geminiPreset } from './gemini.js';
import { opencodePreset } from './opencode.js';
import { textParser } from './text.js';

/** The event dialects a command may speak. */
export type AgentDialect = 'claude' | 'codex' | 'gemini' | 'opencode' | 'text';

const DIALECTS: Record<Exclude<AgentDialect, 'text'>, AgentPreset> = { claude: claudePreset, codex: codexPreset, gemini: geminiPreset, opencode: opencodePreset };

/** Options of {@link commandPreset}. */
export interface CommandPresetOptions {
  /** argv with placeholders, or one string split into words as a shell would (but never run by one). */
  template: string | readonly string[];
  /** @default "command" */
  name?: string;
  /** Whose limits and rate-limit pauses apply. @default the name */
  provider?: string;
  /** How its standard output is read. @default "text" */
  dialect?: AgentDialect;
}

const PLACEHOLDER = /\{(prompt|dir|agent|branch|task|session)\}/g;

/**
 * A preset for any command.
 *
 * @example
 * commandPreset({ template: 'my-agent --workdir {dir} --', dialect: 'text' }) // prompt on stdin
 */
export function commandPreset(options: CommandPresetOptions): AgentPreset {
  const name = options.name ?? 'command';
  const field = name === 'command' ? '--command' : `agent ${name}`;
  const words = typeof options.template === 'string' ? splitWords(options.template, field) : [...options.template];
  if (words.length === 0 || words[0] === '') throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${field} to name a program, got an empty template`, { path: field });
  if (/\{[a-z]+\}/.test(words[0]!)) throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${field} to start with a program, got the placeholder ${JSON.stringify(words[0])}`, { path: field });
  const dialect = options.dialect ?? 'text';
  if (dialect !== 'text' && !(dialect in DIALECTS)) {
    throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected the dialect of ${field} to be one of claude, codex, gemini, opencode, text, got ${JSON.stringify(dialect)}`, { path: 'dialect' });
  }
  const takesPrompt = words.some((word) => word.includes('{prompt}'));
  const takesSession = words.some((word) => word.includes('{session}'));
  const program = words[0]!;
  return {
    name,
    provider: options.provider ?? name,
    resumes: takesSession,
    launch(context: LaunchContext) {
      const values: Record<string, string> = { prompt: context.prompt, dir: context.dir, agent: context.agent, branch: context.branch, task: context.task, session: context.resumeSession ?? '' };
      const argv = words.map((word) => word.replace(PLACEHOLDER, (_, key: string) => values[key]!));
      const [file, ...args] = argv;
      args.push(...context.extraArgs);
      return takesPrompt ? { file: file!, args } : { file: file!, args, stdin: context.prompt };
    },
    parser(): StreamParser {
      return dialect === 'text' ? textParser(program) : DIALECTS[dialect].parser();
    },
  };
}
