/**
 * Tasks and agent choices as people write them: a file with one task a line (blank lines and
 * `#` comments skipped) or a JSON list (strings, or `{ "id", "prompt" }` objects); and
 * `claude,codex` or `claude:3` (best-of-N: three claude agents on each task). Each task gets an
 * id that is safe in a branch name, and each agent an id made of the two.
 */
import { AgentsError } from './errors.js';

/** One task. */
export interface AgentTask {
  /** Safe in a branch name: letters, digits, `.`, `_`, `-`. */
  id: string;
  prompt: string;
}

/** One agent preset and how many of it run each task. */
export interface AgentChoice {
  preset: string;
  count: number;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/;

/** Most characters of a task id's words (ids name branches and directories: short reads better). */
const SLUG_CHARS = 24;

/** A short id from a task's first words, cut at a word: `1-fix-the-login-redirect`. */
export function taskSlug(prompt: string, index: number): string {
  let words = prompt
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (words.length > SLUG_CHARS) {
    const cut = words.lastIndexOf('-', SLUG_CHARS);
    words = words.slice(0, cut > SLUG_CHARS / 2 ? cut : SLUG_CHARS).replace(/-+$/, '');
  }
  return `${index + 1}-${words === '' ? 'task' : words}`;
}

function checkId(id: string, path: string): void {
  if (!ID.test(id) || id.length > 64 || id.endsWith('.lock')) {
    throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${path} to be an id of letters, digits, ".", "_" and "-" (at most 64, usable in a branch name), got ${JSON.stringify(id)}`, {
      path,
    });
  }
}

/** Tasks from prompts, ids made from their first words. */
export function tasksFromPrompts(prompts: readonly string[], source = 'tasks'): AgentTask[] {
  return prompts.map((prompt, i) => {
    if (prompt.trim() === '') throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${source}[${i}] to be a task, got an empty string`, { path: `${source}[${i}]` });
    return { id: taskSlug(prompt, i), prompt };
  });
}

/**
 * Tasks from a file's text: a JSON list when it starts with `[`, else one task a line.
 * `source` names the file in errors.
 */
export function parseTasks(text: string, source: string): AgentTask[] {
  const trimmed = text.trim();
  let tasks: AgentTask[];
  if (trimmed.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(trimmed);
    } catch (error) {
      throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${source} to be a JSON list of tasks, but it is not JSON: ${(error as Error).message}`, { path: source });
    }
    if (!Array.isArray(list)) throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${source} to be a JSON list, got ${typeof list}`, { path: source });
    tasks = list.map((item: unknown, i) => {
      const path = `${source}[${i}]`;
      if (typeof item === 'string') {
        if (item.trim() === '') throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${path} to be a task, got an empty string`, { path });
        return { id: taskSlug(item, i), prompt: item };
      }
      const entry = item as { id?: unknown; prompt?: unknown } | null;
      if (typeof entry !== 'object' || entry === null || typeof entry.prompt !== 'string' || entry.prompt.trim() === '') {
        throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${path} to be a string or { "id"?, "prompt" } with a non-empty prompt, got ${JSON.stringify(item)?.slice(0, 80)}`, { path });
      }
      const extra = Object.keys(entry).filter((key) => key !== 'id' && key !== 'prompt');
      if (extra.length > 0) throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${path} to have only "id" and "prompt", got ${extra.map((k) => JSON.stringify(k)).join(', ')}`, { path: `${path}.${extra[0]}` });
      if (entry.id !== undefined && typeof entry.id !== 'string') throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${path}.id to be a string, got ${JSON.stringify(entry.id)}`, { path: `${path}.id` });
      const id = entry.id ?? taskSlug(entry.prompt, i);
      checkId(id, `${path}.id`);
      return { id, prompt: entry.prompt };
    });
  } else {
    const prompts = text
      .split('\n')
      .map((line) => line.replace(/\r$/, ''))
      .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
    tasks = tasksFromPrompts(prompts, source);
  }
  if (tasks.length === 0) throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${source} to hold at least one task, got none`, { path: source });
  checkUnique(tasks, source);
  return tasks;
}

/** Fails when two tasks share an id. */
export function checkUnique(tasks: readonly AgentTask[], source: string): void {
  const seen = new Map<string, number>();
  tasks.forEach((task, i) => {
    const first = seen.get(task.id);
    if (first !== undefined)
      throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected task ids to be unique, but ${source}[${first}] and ${source}[${i}] are both ${JSON.stringify(task.id)}`, {
        path: `${source}[${i}].id`,
      });
    seen.set(task.id, i);
  });
}

/**
 * Agent choices: `claude`, `claude,codex`, `claude:3,codex:2`.
 *
 * @example
 * parseAgentChoices('claude:3,codex') // [{ preset: 'claude', count: 3 }, { preset: 'codex', count: 1 }]
 */
export function parseAgentChoices(text: string, field = '--agent'): AgentChoice[] {
  const choices: AgentChoice[] = [];
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const match = /^([A-Za-z][A-Za-z0-9_-]*)(?::(\d+))?$/.exec(item);
    const count = match?.[2] === undefined ? 1 : Number(match[2]);
    if (match === null || count < 1 || count > 64) {
      throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${field} to list agents as name or name:count (count 1 to 64), like "claude,codex:2", got ${JSON.stringify(item)}`, {
        path: field,
      });
    }
    const existing = choices.find((c) => c.preset === match[1]);
    if (existing !== undefined) existing.count += count;
    else choices.push({ preset: match[1]!, count });
  }
  if (choices.length === 0) throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${field} to name at least one agent, got ${JSON.stringify(text)}`, { path: field });
  return choices;
}
