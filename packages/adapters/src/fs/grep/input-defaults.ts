/**
 * The defaults of a grep input (see `schema.ts`, which applies them), in a module of their
 * own without zod: the launcher of `fanout grep` builds the `rg` command line of a search
 * before it loads zod (see `early.ts`).
 */
export const GREP_INPUT_DEFAULTS = {
  paths: ['.'],
  fixedStrings: false,
  ignoreCase: false,
  smartCase: false,
  word: false,
  include: [],
  exclude: [],
  hidden: false,
  ignore: true,
  gitignore: true,
  requireGit: true,
  followSymlinks: false,
  maxFileSize: 128 * 1024 * 1024,
  maxOutputBytes: 4 * 1024 * 1024,
  context: 0,
  mode: 'content',
} as const;
