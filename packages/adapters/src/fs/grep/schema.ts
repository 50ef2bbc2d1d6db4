import { z } from 'zod';
import { GREP_INPUT_DEFAULTS as DEFAULTS } from './input-defaults.js';

const count = (what: string) => z.number({ error: `expected ${what} to be a number` }).int(`expected ${what} to be a whole number`);

/**
 * The input of a grep operation: ripgrep's flags by name. Paths are relative to the first
 * allowed root unless absolute, and must lie inside the allowed roots.
 *
 * @example
 * { pattern: 'interface\\s+\\w+', paths: ['src'], ignoreCase: true, include: ['*.ts'], context: 2 }
 */
export const grepInputSchema = z
  .strictObject({
    /** ripgrep (Rust `regex`) syntax, or a literal with `fixedStrings`. Matches never cross a line. */
    pattern: z.string({ error: 'expected pattern to be a string' }),
    /** Files and directories to search. @default ["."] */
    paths: z
      .array(z.string().min(1, 'expected a non-empty path'))
      .min(1, 'expected at least one path')
      .default([...DEFAULTS.paths]),
    /** The pattern is a literal string (`-F`). @default false */
    fixedStrings: z.boolean().default(DEFAULTS.fixedStrings),
    /** Case-insensitive (`-i`, Unicode simple case folding). @default false */
    ignoreCase: z.boolean().default(DEFAULTS.ignoreCase),
    /** Case-insensitive unless the pattern has an upper-case letter (`-S`). @default false */
    smartCase: z.boolean().default(DEFAULTS.smartCase),
    /** Only whole words: no word character right before or after a match (`-w`). @default false */
    word: z.boolean().default(DEFAULTS.word),
    /** Only files matching one of these globs (`-g GLOB`); they win over hidden and ignore rules. @default [] */
    include: z.array(z.string().min(1, 'expected a non-empty glob')).default([...DEFAULTS.include]),
    /** Skip files and directories matching these globs (`-g '!GLOB'`). @default [] */
    exclude: z.array(z.string().min(1, 'expected a non-empty glob')).default([...DEFAULTS.exclude]),
    /** Search hidden files and directories (`--hidden`); `.git` is never searched. @default false */
    hidden: z.boolean().default(DEFAULTS.hidden),
    /** Honour `.ignore`, `.rgignore` and git's ignore files (`--no-ignore` turns it off). @default true */
    ignore: z.boolean().default(DEFAULTS.ignore),
    /** Honour `.gitignore` and `.git/info/exclude` (`--no-ignore-vcs` turns it off). @default true */
    gitignore: z.boolean().default(DEFAULTS.gitignore),
    /** Git's ignore files count only inside a git repository (`--no-require-git` turns it off). @default true */
    requireGit: z.boolean().default(DEFAULTS.requireGit),
    /** Follow symlinks (`-L`); their targets must stay inside the allowed roots. @default false */
    followSymlinks: z.boolean().default(DEFAULTS.followSymlinks),
    /** Skip files larger than this many bytes (`--max-filesize`). @default 134217728 (128 MiB) */
    maxFileSize: count('maxFileSize').min(0, 'expected maxFileSize to be at least 0').default(DEFAULTS.maxFileSize),
    /** Stop each file after this many matching lines (`-m`). */
    maxCount: count('maxCount').min(1, 'expected maxCount to be at least 1').optional(),
    /**
     * Stop the whole search after this many matching lines, and say `truncated`.
     * @default 10000 in content mode, none in count and files modes
     */
    maxMatches: count('maxMatches').min(1, 'expected maxMatches to be at least 1').optional(),
    /**
     * Stop once the reported lines (and paths) reach this many bytes, and say `truncated`.
     * @default 4194304 (4 MiB)
     */
    maxOutputBytes: count('maxOutputBytes').min(1, 'expected maxOutputBytes to be at least 1').default(DEFAULTS.maxOutputBytes),
    /** Lines of context before each match (`-B`); defaults to `context`. */
    before: count('before').min(0, 'expected before to be at least 0').max(10_000, 'expected before to be at most 10000').optional(),
    /** Lines of context after each match (`-A`); defaults to `context`. */
    after: count('after').min(0, 'expected after to be at least 0').max(10_000, 'expected after to be at most 10000').optional(),
    /** Lines of context before and after (`-C`). @default 0 */
    context: count('context').min(0, 'expected context to be at least 0').max(10_000, 'expected context to be at most 10000').default(DEFAULTS.context),
    /**
     * `content`: matching lines (and context) as ripgrep's `match`/`context` messages;
     * `count`: per-file counts only (`-c`); `files`: the files that match (`-l`), each
     * searched only up to its first match. Every mode has `begin`/`end` per matching file.
     * @default "content"
     */
    mode: z.enum(['content', 'count', 'files'], { error: 'expected mode to be "content", "count" or "files"' }).default(DEFAULTS.mode),
  })
  .describe('grep: search files for a pattern, like ripgrep');

/** A grep input as written (defaults optional). */
export type GrepInputSpec = z.input<typeof grepInputSchema>;
/** A grep input after validation (defaults filled in), as `run` receives it. */
export type GrepInput = z.output<typeof grepInputSchema>;
