/**
 * The contract of a user analyzer: an ES module, inside the allowed roots, whose default
 * export is a function `(input, api) => result`. It runs inside a worker thread of the
 * analyze pool, never in the main thread; its result is copied out with the structured clone
 * algorithm, so it must be plain data (objects, arrays, strings, numbers, Maps, Dates…, no
 * functions).
 *
 * Analyzers are expected to only read: like the built-ins, an analysis may run again after a
 * timeout (the adapter is idempotent unless created with `idempotent: false`). A worker is
 * reused for later analyses, so an analyzer should not leave timers or handles behind, and a
 * module is loaded once per worker (Node's module cache): an edit to it reaches new workers,
 * e.g. after the adapter's `close()`. The worker is not a sandbox: the module runs with the
 * permissions of the process.
 *
 * @example
 * // count-exports.mjs
 * export default async function countExports({ files }, api) {
 *   let exports = 0;
 *   for (const file of files) exports += (await api.readText(file)).match(/^export /gm)?.length ?? 0;
 *   return { exports };
 * }
 */

/** What an analyzer is given. */
export interface AnalyzerInput<Options = unknown> {
  /** Absolute paths of the files found under the input's `paths`, in tree order. */
  files: string[];
  /** The input's `options`, after the module's `optionsSchema` (if any) parsed them. */
  options: Options;
  /** True when discovery stopped at `maxFiles`: `files` is a prefix of what is there. */
  truncated: boolean;
}

/** Helpers handed to an analyzer with its input. */
export interface AnalyzerApi {
  /** The allowed roots of the adapter, absolute. */
  readonly roots: readonly string[];
  /** Reads a file as UTF-8 text, without a leading byte order mark. */
  readText(path: string): Promise<string>;
  /** Reads a file's bytes. */
  readBytes(path: string): Promise<Uint8Array>;
  /** Whether bytes look binary: a NUL in the first 8000 bytes (git's rule). */
  isBinary(bytes: Uint8Array): boolean;
  /** The language of a path, from its name or extension, as the `stats` analyzer counts it. */
  language(path: string): string;
  /** Reports progress; it reaches the scheduler's event stream as `op-progress`. Structured-cloneable data only. */
  progress(data: unknown): void;
}

/** A user analyzer: the default export of an analyzer module. */
export type Analyzer<Options = unknown, Result = unknown> = (input: AnalyzerInput<Options>, api: AnalyzerApi) => Result | Promise<Result>;

/**
 * The part of the Standard Schema interface (https://standardschema.dev, implemented by zod,
 * valibot and arktype) an analyzer module can export as `optionsSchema` to have its options
 * validated before it runs. Copied, as the spec invites, rather than depended upon.
 */
export interface StandardSchemaV1<Output = unknown> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    validate(value: unknown): StandardResult<Output> | Promise<StandardResult<Output>>;
  };
}

/** The result of a Standard Schema's `validate`. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined }> };

/**
 * The shape of an analyzer module: `default` is the analyzer; `optionsSchema`, when present,
 * validates the input's `options` inside the worker (a failure is `FANOUT_ANALYZER_INVALID`
 * naming `options.<field>`).
 */
export interface AnalyzerModule<Options = unknown, Result = unknown> {
  default: Analyzer<Options, Result>;
  optionsSchema?: StandardSchemaV1<Options>;
}

/**
 * Identity function that types an analyzer written in TypeScript.
 *
 * @example
 * import { defineAnalyzer } from '@fanout/adapters/analyze';
 * export default defineAnalyzer(async ({ files }) => ({ count: files.length }));
 */
export function defineAnalyzer<Options = unknown, Result = unknown>(analyzer: Analyzer<Options, Result>): Analyzer<Options, Result> {
  return analyzer;
}
