/**
 * What an operation brings to a pass once prepared (its paths checked, its pattern compiled):
 * its member and consumer, and where its walk starts, target by target.
 */
import type { PassConsumer } from './pass.js';
import type { Lens } from './walker.js';

/** One target of an operation. */
export type TargetSpec =
  /**
   * A directory to walk through a lens. Targets with the same `path` and `rules` share one
   * lens (`lens()` makes it the first time; `state(lens)` is its state at `path`).
   */
  | { type: 'dir'; path: string; rules: string; lens: () => Lens; state: (lens: Lens) => unknown }
  /** A file named in the input: `open` is what to open (its real path), `path` what to report. */
  | { type: 'file'; path: string; open: string }
  /** A target that cannot be walked: the operation fails with `error` when its turn comes. */
  | { type: 'fatal'; error: unknown };

/** A prepared operation. */
export interface Prepared {
  consumer: PassConsumer;
  /** In the operation's order. */
  targets: TargetSpec[];
}

/** The paths of targets, in order (a target that failed its checks has none: a stand-in no path is inside of). */
export function targetPaths(targets: readonly TargetSpec[]): string[] {
  return targets.map((target, i) => (target.type === 'fatal' ? `\0target ${i}` : target.path));
}
