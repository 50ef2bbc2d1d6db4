/**
 * The built-in engine's walk order for what a parallel `rg` (no `--sort path`, see
 * `ripgrepSorts`) reported in the order its threads finished: one run's files and errors are
 * sorted by it once the run ends, so both engines give the same output in the same order.
 *
 * The walk (`fs/scan/walker.ts`) takes the run's targets in turn, each depth first with a
 * directory's entries sorted by name (UTF-16 code units). Over paths that is: the first target
 * that holds the path, then the path below it compared name by name — the same as comparing
 * the rest of the paths with `/` sorting before every other character (`a/b` before `a-c`:
 * the directory `a` sorts before the file `a-c`), which `\0`, never in a name, does.
 */
import type { RipgrepTargets } from './ripgrep-args.js';

/** The sort key of `path` (as `rg` printed it) in a run over `targets`; compare keys with `<`. */
export function walkOrderKey(targets: RipgrepTargets, path: string): string {
  const roots = targets.kind === 'directory' ? [targets.path] : targets.paths;
  for (let i = 0; i < roots.length; i++) {
    const root = roots[i]!;
    const inside = path === root ? '' : path.startsWith(root.endsWith('/') ? root : `${root}/`) ? path.slice(root.length) : undefined;
    // The target's index, fixed-width so that it sorts as a number: a run has few targets.
    if (inside !== undefined) return `${i.toString(36).padStart(4, '0')}\0${inside.replaceAll('/', '\0')}`;
  }
  // Not under any target (rg prints what it was given): after them all, by the whole path.
  return `zzzz\0${path.replaceAll('/', '\0')}`;
}

/** `items` sorted by the walk order of their keys (see {@link walkOrderKey}). */
export function inWalkOrder<T extends { key: string }>(items: T[]): T[] {
  return items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
