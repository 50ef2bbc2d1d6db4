import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { describeValue } from '@fanout/scheduler/diagnostics';
import { isBinary } from './binary.js';
import type { Analyzer, AnalyzerApi, StandardResult, StandardSchemaV1 } from './contract.js';
import { AnalyzerFailure, messageOf } from './failure.js';
import { languageOf } from './languages.js';
import type { Job } from './protocol.js';

type ModuleJob = Extract<Job, { analyzer: 'module' }>;

/**
 * Loads a user analyzer module, checks its shape, validates the options with its
 * `optionsSchema` if it has one, and runs it. Runs inside a worker only: loading a module
 * runs its top-level code, which must not happen in the main thread either.
 */
export async function runModuleAnalyzer(job: ModuleJob, progress: (data: unknown) => void): Promise<unknown> {
  const exports = await load(job.module);
  const analyze = exports.default;
  if (typeof analyze !== 'function') {
    const got = 'default' in exports ? describeValue(analyze) : 'no default export';
    throw new AnalyzerFailure('FANOUT_ANALYZER_INVALID', 'module', `expected module ${job.module} to have a default export that is a function (input, api) => result, got ${got}`);
  }
  const options = await validateOptions(exports.optionsSchema, job);
  const api: AnalyzerApi = {
    roots: job.roots,
    readText: async (path) => {
      const text = await readFile(path, 'utf8');
      return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    },
    readBytes: (path) => readFile(path),
    isBinary,
    language: languageOf,
    progress,
  };
  try {
    return await (analyze as Analyzer)({ files: job.files, options, truncated: job.truncated }, api);
  } catch (error) {
    throw new AnalyzerFailure('FANOUT_ANALYZER_FAILED', 'module', `the analyzer ${job.module} threw: ${messageOf(error)}`, error);
  }
}

async function load(path: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new AnalyzerFailure('FANOUT_ANALYZER_INVALID', 'module', `expected module ${path} to load as an ES module, but loading it failed: ${messageOf(error)}`, error);
  }
}

async function validateOptions(schema: unknown, job: ModuleJob): Promise<unknown> {
  if (schema === undefined) return job.options;
  if (!isStandardSchema(schema)) {
    throw new AnalyzerFailure('FANOUT_ANALYZER_INVALID', 'module', `expected the optionsSchema export of ${job.module} to be a Standard Schema (a zod, valibot or arktype schema), got ${describeValue(schema)}`);
  }
  let result: StandardResult<unknown>;
  try {
    result = await schema['~standard'].validate(job.options);
  } catch (error) {
    throw new AnalyzerFailure('FANOUT_ANALYZER_INVALID', 'options', `the optionsSchema of ${job.module} threw while validating options: ${messageOf(error)}`, error);
  }
  if (result.issues === undefined) return result.value;
  const issues = result.issues.map((issue) => ({ field: fieldOf(issue.path), message: issue.message }));
  const listed = issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
  throw new AnalyzerFailure('FANOUT_ANALYZER_INVALID', issues[0]?.field ?? 'options', `expected options to match the optionsSchema of ${job.module}, got ${listed}`);
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const standard = (value as { '~standard'?: { version?: unknown; validate?: unknown } } | null | undefined)?.['~standard'];
  return typeof standard === 'object' && standard !== null && standard.version === 1 && typeof standard.validate === 'function';
}

/** `options.rules[2].name`, from a Standard Schema issue path. */
function fieldOf(path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined): string {
  let field = 'options';
  for (const segment of path ?? []) {
    const key = typeof segment === 'object' ? segment.key : segment;
    field += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  }
  return field;
}
