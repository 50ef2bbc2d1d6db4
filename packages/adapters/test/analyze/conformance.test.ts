import { afterAll } from 'vitest';
import type { AnalyzeAdapter, AnalyzeInput, MarkersOutput } from '../../src/analyze/index.js';
import { describeConformance } from '../helpers/conformance.js';
import { compileWorker, type CompiledWorker } from './compiled-worker.js';
import { builtInAdapter, makeTree, spinningAnalyzer, type Tree } from './fixtures.js';

// The suite reads the adapter while collecting its cases, so it is built at load time.
const worker: CompiledWorker = await compileWorker();
const tree: Tree = await makeTree({
  'src/a.ts': 'export const a = 1; // TODO: name it\n',
  'spin.mjs': spinningAnalyzer('/dev/null'),
  'many/todo.txt': Array.from({ length: 50 }, (_, i) => `TODO ${i}`).join('\n'),
});
const adapter: AnalyzeAdapter = builtInAdapter(worker, [tree.root]);

afterAll(async () => {
  await adapter.close();
  await tree.cleanup();
  await worker.cleanup();
});

describeConformance<AnalyzeInput>({
  adapter,
  valid: async () => ({ input: { analyzer: 'stats', paths: ['src'] } as AnalyzeInput }),
  invalid: [
    { input: { analyzer: 'lint' }, field: 'analyzer' },
    { input: { analyzer: 'stats', paths: 'src' }, field: 'paths' },
    { input: { analyzer: 'stats', paths: [''] }, field: 'paths.0' },
    { input: { analyzer: 'stats', maxFiles: 0 }, field: 'maxFiles' },
    { input: { analyzer: 'stats', extra: true }, field: 'extra' },
    { input: { analyzer: 'markers', maxMarkers: -1 }, field: 'maxMarkers' },
    { input: { analyzer: 'markers', kinds: ['NOTE'] }, field: 'kinds.0' },
    { input: { analyzer: 'module' }, field: 'module' },
    // Checked against the real world at run time: a typed error naming the field.
    { input: { analyzer: 'stats', paths: ['../..'] }, field: 'paths' },
    { input: { analyzer: 'module', module: 'missing.mjs' }, field: 'module' },
  ],
  slow: async () => ({
    input: { analyzer: 'module', module: 'spin.mjs' } as AnalyzeInput,
    // The real work is gone when no live worker runs it: the spinning thread has exited.
    stopped: async () => adapter.workers().busy === 0,
  }),
  big: async () => ({
    input: { analyzer: 'markers', paths: ['many'], maxMarkers: 10 } as AnalyzeInput,
    within: (output) => (output as MarkersOutput).markers.length <= 10,
    saysCut: (output) => (output as MarkersOutput).truncated,
  }),
});
