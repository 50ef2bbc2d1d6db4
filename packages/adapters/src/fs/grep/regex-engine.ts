/**
 * V8's linear-time regular expression engine, as a fallback: with
 * `--enable-experimental-regexp-engine-on-excessive-backtracks`, a match that backtracks more
 * than V8's threshold (50,000 backtracks) is run again by the linear engine — when the
 * expression allows it (no `i`, `u` or `v` flag, no lookaround, no backreference, counted
 * repetitions up to about 16). `--enable-experimental-regexp-engine` only adds the `l` flag,
 * used here to ask V8 whether an expression allows it. Both are process-wide V8 flags: set
 * once, when the grep engine is first loaded (in each worker thread too; setting them again
 * is harmless), and they change nothing for expressions that do not backtrack.
 */
import { setFlagsFromString } from 'node:v8';

let enabled = false;

/** Turns the fallback on for this process (idempotent). */
export function enableLinearFallback(): void {
  if (enabled) return;
  enabled = true;
  try {
    setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
    setFlagsFromString('--enable-experimental-regexp-engine');
  } catch {
    // A runtime without the flags keeps backtracking: the time budget still applies.
  }
}

/**
 * Can V8 run `source` in linear time (so that a runaway match falls back to it)? False when
 * it cannot or when this runtime has no linear engine.
 */
export function runsInLinearTime(source: string, flags: string): boolean {
  enableLinearFallback();
  try {
    new RegExp(source, `${flags.replace(/[lgy]/g, '')}l`);
    return true;
  } catch {
    return false;
  }
}
