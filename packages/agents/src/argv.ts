/**
 * Command lines written as one string (`--setup "npm ci --offline"`, a `--command` template)
 * split into argv the way a POSIX shell splits words — single quotes, double quotes, backslash
 * escapes — and nothing else: no variables, globs, pipes or substitutions are interpreted, and
 * no shell ever runs. Whoever wants a shell writes `bash -c '…'` and gets exactly that.
 */
import { AgentsError } from './errors.js';

/**
 * Splits `line` into words. `field` names the option in errors.
 *
 * @example
 * splitWords(`npm run "test:unit" -- --reporter='dot'`, '--verify') // ['npm', 'run', 'test:unit', '--', '--reporter=dot']
 */
export function splitWords(line: string, field: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) {
    throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${field} to close its ${quote === "'" ? 'single' : 'double'} quote, got ${JSON.stringify(line)}`, { path: field });
  }
  if (inWord) words.push(word);
  if (words.length === 0) throw new AgentsError('FANOUT_AGENTS_INPUT_INVALID', `expected ${field} to name a program, got an empty command`, { path: field });
  return words;
}
