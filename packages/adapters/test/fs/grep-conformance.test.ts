import { afterAll } from 'vitest';
import { grepAdapter, grepInputSchema, grepWorkerCounts, type GrepInput, type GrepOutput } from '../../src/fs/grep/index.js';
import { describeConformance } from '../helpers/conformance.js';
import { compileGrepWorker, type CompiledGrepWorker } from './grep/compiled-worker.js';
import { makeTree, type Tree } from './grep/fixtures.js';

// The adapter (and so its roots) is needed when the suite is registered: set up at load time.
const worker: CompiledGrepWorker = await compileGrepWorker();
// The slow case: lines on which `(a+)+b` backtracks exponentially (2^40 ways to split the
// a's), spread over files so that every worker thread is stuck in a match when the abort or
// the timeout comes. Only terminating the threads can stop that.
const slow = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`slow/f${i}.txt`, `${'a'.repeat(40)}c\n`.repeat(4)]));
const big = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`big/f${i}.txt`, 'needle in a haystack\n'.repeat(100)]));
const tree: Tree = await makeTree({ 'small/a.txt': 'one needle\ntwo\n', 'small/b.txt': 'needle again\n', ...slow, ...big });
afterAll(async () => {
  await tree.cleanup();
  await worker.cleanup();
});

describeConformance<GrepInput>({
  adapter: grepAdapter({ roots: [tree.dir], workerScript: worker.script }),
  valid: async () => ({ input: grepInputSchema.parse({ pattern: 'needle', paths: ['small'] }) }),
  invalid: [
    { input: { pattern: 42 }, field: 'pattern' },
    { input: { paths: ['.'] }, field: 'pattern' },
    { input: { pattern: 'x', paths: [] }, field: 'paths' },
    { input: { pattern: 'x', paths: [''] }, field: 'paths.0' },
    { input: { pattern: 'x', mode: 'lines' }, field: 'mode' },
    { input: { pattern: 'x', maxCount: 0 }, field: 'maxCount' },
    { input: { pattern: 'x', context: -1 }, field: 'context' },
    { input: { pattern: 'x', include: [7] }, field: 'include.0' },
    // Refused when the operation runs, with a typed error naming the field.
    { input: { pattern: '(unclosed' }, field: 'pattern' },
    { input: { pattern: 'x', paths: ['small', '/'] }, field: 'paths.1' },
    { input: { pattern: 'x', paths: ['does-not-exist'] }, field: 'paths.0' },
  ],
  slow: async () => ({
    input: grepInputSchema.parse({ pattern: '(a+)+b', paths: ['slow'], mode: 'count' }),
    stopped: async () => {
      const counts = grepWorkerCounts();
      return counts.busy === 0 && counts.live === counts.idle;
    },
  }),
  big: async () => ({
    input: grepInputSchema.parse({ pattern: 'needle', paths: ['big'], maxMatches: 250 }),
    within: (output) => (output as GrepOutput).stats.matchedLines <= 250 && (output as GrepOutput).messages.filter((m) => m.type === 'match').length <= 250,
    saysCut: (output) => (output as GrepOutput).truncated,
  }),
});
