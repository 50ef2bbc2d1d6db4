import type { Config } from './schema.js';

/** One size of a profile: how many operations of which kind a task of that size deserves. */
export interface ProfileSize {
  name: string;
  description: string;
  /** Operations per kind a task of this size deserves (the sizes `fanout profiles` lists). */
  operations: Partial<Record<'glob' | 'grep' | 'read' | 'search', number>>;
  /** The wall time a task of this size should stay under, in milliseconds (`fanout profiles` shows it; the benchmarks check it). */
  targetMs?: number;
  /** For explore-codebase: the size applies to trees of at most this many files. */
  maxFiles?: number;
}

/** A built-in profile: configuration it starts from, and the sizes its plan builder knows. */
export interface Profile {
  name: string;
  description: string;
  config: Config;
  sizes: readonly ProfileSize[];
}

/**
 * Per-kind limits: the adaptive limiter starts at `optimal` and may grow to `max`. File kinds
 * go highest (the kernel's page cache answers most of them); search lower, as remote APIs
 * rate-limit; analyze at half the file kinds, as it is CPU-bound; bash lowest, as each one is a
 * process with its own memory.
 */
const LIMITS: NonNullable<Config['limits']> = {
  search: { max: 32, optimal: 16 },
  glob: { max: 48, optimal: 24 },
  grep: { max: 48, optimal: 24 },
  read: { max: 48, optimal: 24 },
  write: { max: 48, optimal: 24 },
  bash: { max: 16, optimal: 8 },
  analyze: { max: 24, optimal: 12 },
};

/**
 * Resource thresholds: CPU over 90 %, memory over 85 %, network over 80 % and disk over 75 % of
 * capacity (sustained) slow the kinds that use them; over 10 % failures or a mean response over
 * 5 s shrink the limits. The reactions are in @fanout/monitor (classes.ts, run-signals.ts).
 */
const THRESHOLDS: NonNullable<Config['thresholds']> = {
  cpu: 0.9,
  memory: 0.85,
  network: 0.8,
  disk: 0.75,
  failureRate: 0.1,
  slowResponseMs: 5000,
};

const BASE: Config = { limits: LIMITS, thresholds: THRESHOLDS };

/** The comprehensive explore-web matrix: 32 searches in 8 categories. */
export const WEB_CATEGORIES = [
  { name: 'primary', searches: 8 },
  { name: 'technical documentation', searches: 6 },
  { name: 'code examples', searches: 4 },
  { name: 'API documentation', searches: 4 },
  { name: 'frameworks', searches: 4 },
  { name: 'performance', searches: 3 },
  { name: 'security', searches: 2 },
  { name: 'community', searches: 1 },
] as const;

const MINUTE = 60_000;

/** The built-in profiles, by name. */
export const PROFILES: Readonly<Record<string, Profile>> = {
  default: {
    name: 'default',
    description: 'The default per-kind limits and resource thresholds, for any plan.',
    config: BASE,
    sizes: [],
  },
  start: {
    name: 'start',
    description: 'Project discovery: 4 structural checks, 6 context analyses and 3 complexity assessments, all in one parallel plan.',
    config: BASE,
    sizes: [{ name: 'default', description: '4 structural checks + 6 context analyses + 3 complexity assessments', operations: {} }],
  },
  'explore-codebase': {
    name: 'explore-codebase',
    description: 'Progressive exploration of a codebase: discover, search, read what ranks highest, analyse; sized by counting files first.',
    config: BASE,
    sizes: [
      { name: 'small', description: 'fewer than 1,000 files', maxFiles: 999, operations: { glob: 4, grep: 6, read: 2 }, targetMs: 30_000 },
      { name: 'medium', description: '1,000 to 10,000 files', maxFiles: 10_000, operations: { glob: 8, grep: 12, read: 4 }, targetMs: 3 * MINUTE },
      { name: 'large', description: 'more than 10,000 files', operations: { glob: 16, grep: 24, read: 12 }, targetMs: 15 * MINUTE },
    ],
  },
  'explore-web': {
    name: 'explore-web',
    description: 'A query matrix across categories, searched in parallel; the results several queries agree on are fetched.',
    config: BASE,
    sizes: [
      { name: 'simple', description: '8 searches', operations: { search: 8 }, targetMs: 2 * MINUTE },
      { name: 'complex', description: '16 searches', operations: { search: 16 }, targetMs: 5 * MINUTE },
      { name: 'comprehensive', description: '32 searches in 8 batches', operations: { search: 32 }, targetMs: 10 * MINUTE },
    ],
  },
};

/** The size of explore-codebase for a tree of `files` files. */
export function codebaseSize(files: number): ProfileSize {
  const sizes = PROFILES['explore-codebase']!.sizes;
  return sizes.find((size) => size.maxFiles !== undefined && files <= size.maxFiles) ?? sizes.at(-1)!;
}

/** A size of a profile by name, or undefined. */
export function profileSize(profile: string, size: string): ProfileSize | undefined {
  return PROFILES[profile]?.sizes.find((s) => s.name === size);
}
