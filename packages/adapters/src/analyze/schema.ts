import { z } from 'zod';
import { MARKER_KINDS } from './output.js';

/** Defaults an adapter puts into its input schema. */
export interface AnalyzeInputDefaults {
  /** @default 100000 */
  maxFiles?: number;
  /** @default 1000 */
  maxMarkers?: number;
}

/** Hard upper bounds of the caps an input may ask for. */
export const ANALYZE_LIMITS = { maxFiles: 10_000_000, maxMarkers: 1_000_000, paths: 10_000 } as const;

/**
 * The zod schema of an analyze input, with the given defaults. A union on `analyzer`:
 *
 * - `{ analyzer: 'stats' }`: files, lines and bytes per language.
 * - `{ analyzer: 'markers', kinds?, maxMarkers? }`: TODO / FIXME / HACK / XXX with positions.
 * - `{ analyzer: 'map' }`: per file, blank / comment / code lines, imports, top-level symbols,
 *   environment variables read, `main`, tests, and the text of manifests (see `FileFacts`).
 * - `{ analyzer: 'module', module, options? }`: the default export of an ES module (inside
 *   the allowed roots) run over the files, in a worker; `options` is handed to it.
 *
 * All of them find their files the same way: `paths` (files or directories, relative to the
 * first root; default the first root), `.gitignore` honoured unless `gitignore: false`, hidden
 * entries and `node_modules` skipped unless `hidden` / `nodeModules`, at most `maxFiles`.
 * Unknown fields are refused, so a typo does not pass silently.
 */
export function analyzeInputSchema(defaults: AnalyzeInputDefaults = {}) {
  const discovery = {
    /** Files or directories to analyse, relative to the first root. @default ["."] */
    paths: z.array(z.string().min(1)).min(1).max(ANALYZE_LIMITS.paths).default(['.']),
    /** Include hidden files and directories (names starting with a dot; `.git` never). @default false */
    hidden: z.boolean().default(false),
    /** Include `node_modules` directories. @default false */
    nodeModules: z.boolean().default(false),
    /** Skip what `.gitignore` files exclude. @default true */
    gitignore: z.boolean().default(true),
    /** Most files analysed; more sets `truncated`. @default 100000 */
    maxFiles: z
      .number()
      .int()
      .min(1)
      .max(ANALYZE_LIMITS.maxFiles)
      .default(defaults.maxFiles ?? 100_000),
  };
  return z.discriminatedUnion('analyzer', [
    z.strictObject({ analyzer: z.literal('stats'), ...discovery }),
    z.strictObject({
      analyzer: z.literal('markers'),
      ...discovery,
      /** Which markers to look for. @default all of MARKER_KINDS */
      kinds: z
        .array(z.enum(MARKER_KINDS))
        .min(1)
        .default([...MARKER_KINDS]),
      /** Most markers reported; more sets `truncated`. @default 1000 */
      maxMarkers: z
        .number()
        .int()
        .min(1)
        .max(ANALYZE_LIMITS.maxMarkers)
        .default(defaults.maxMarkers ?? 1000),
    }),
    z.strictObject({ analyzer: z.literal('map'), ...discovery }),
    z.strictObject({
      analyzer: z.literal('module'),
      ...discovery,
      /** Path of the analyzer module (relative to the first root), inside the allowed roots. */
      module: z.string().min(1),
      /** Handed to the analyzer as `input.options` (validated by its `optionsSchema`, if it exports one). */
      options: z.unknown().optional(),
    }),
  ]);
}

/** The analyze input schema with the default caps. */
export const analyzeInput = analyzeInputSchema();

/** An analyze input as written in a plan (defaults not yet applied). */
export type AnalyzeInputInit = z.input<typeof analyzeInput>;
/** An analyze input after validation, as `run` receives it. */
export type AnalyzeInput = z.output<typeof analyzeInput>;
