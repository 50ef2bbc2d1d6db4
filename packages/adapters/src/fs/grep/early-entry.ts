/**
 * `@fanout/adapters/grep/early`: what a launcher needs to start `rg` before it loads the
 * grep adapter (see `early.ts`), without zod or the scheduler: the early process, the
 * defaults of a grep input, `rg`'s command line and where `rg` is.
 * @module
 */
export { EarlyRipgrep, ripgrepEnvironment, spawnRipgrep, type RipgrepProcess, type RipgrepSpawn } from './early.js';
export { GREP_INPUT_DEFAULTS } from './input-defaults.js';
export { ripgrepArgs, type RipgrepTargets } from './ripgrep-args.js';
export { ripgrepOnPath } from './rg-path.js';
