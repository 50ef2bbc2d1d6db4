/**
 * How much one operation's sighting of a result says that the result matters, between 0 and
 * 1. Sightings from different operations combine by noisy-OR (see `entry.ts`): two grep
 * operations that agree on a line give 1 − 0.5 × 0.5 = 0.75. Sightings from one operation
 * count once, at their strongest.
 */
export interface Weights {
  /** A file a glob listed: enumerating a tree is weak evidence. @default 0.2 */
  globFile: number;
  /** A file a read returned. @default 0.25 */
  readFile: number;
  /** A line a grep matched. @default 0.5 */
  grepMatch: number;
  /** A file a grep found matches in (any number of them, from one operation). @default 0.4 */
  grepFile: number;
  /** A TODO/FIXME/HACK/XXX marker. @default 0.5 */
  marker: number;
  /** A file a marker was found in. @default 0.3 */
  markerFile: number;
  /**
   * A search result at rank 1; lower ranks decay like reciprocal rank fusion
   * (Cormack, Clarke & Büttcher, 2009): `w × (k + 1) / (k + rank)`.
   * @default 0.6
   */
  searchResult: number;
  /** The `k` of the rank decay: rank 10 keeps (k+1)/(k+10) of the weight. @default 10 */
  searchRankK: number;
  /** A page a fetch got with a 2xx status. @default 0.35 */
  fetchOk: number;
  /** A domain one of an operation's URLs is on. @default 0.15 */
  domain: number;
  /** A query run (agreement = run by several operations or providers). @default 0.5 */
  query: number;
  /** A command run, a file written, an analysis: reported, hardly ranked. @default 0.5 */
  other: number;
}

/** The weights the aggregator uses unless told otherwise. */
export const DEFAULT_WEIGHTS: Readonly<Weights> = Object.freeze({
  globFile: 0.2,
  readFile: 0.25,
  grepMatch: 0.5,
  grepFile: 0.4,
  marker: 0.5,
  markerFile: 0.3,
  searchResult: 0.6,
  searchRankK: 10,
  fetchOk: 0.35,
  domain: 0.15,
  query: 0.5,
  other: 0.5,
});

/** The largest weight one sighting may have: 1 would make every later agreement meaningless. */
export const MAX_WEIGHT = 0.95;

/** A weight clamped into (0, MAX_WEIGHT]; anything not a positive number becomes a tiny one. */
export function clampWeight(weight: number): number {
  if (!(weight > 0)) return 0.001;
  return Math.min(weight, MAX_WEIGHT);
}

/** The weight of a search result at `rank` (from 1). */
export function rankWeight(weights: Weights, rank: number): number {
  const k = weights.searchRankK;
  const r = Number.isFinite(rank) && rank >= 1 ? rank : 1;
  return (weights.searchResult * (k + 1)) / (k + r);
}
