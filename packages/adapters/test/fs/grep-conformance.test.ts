import { afterAll, describe } from 'vitest';
import { grepAdapter, grepInputSchema, grepWorkerCounts, ripgrepProcessCount, type GrepInput, type GrepOutput } from '../../src/fs/grep/index.js';
import { describeConformance } from '../helpers/conformance.js';
import { compileGrepWorker, type CompiledGrepWorker } from './grep/compiled-worker.js';
import { makeTree, RG, RG_MISSING, type Tree } from './grep/fixtures.js';

// The adapter (and so its roots) is needed when the suite is registered: set up at load time.
const worker: CompiledGrepWorker = await compileGrepWorker();
// The built-in engine's slow case: lines on which `(é+)+b` backtracks exponentially (2^40 ways
// to split the é's), spread over files so that every worker thread is stuck in a match when
// the abort or the timeout comes. Only terminating the threads can stop that. (On ASCII text
// the same pattern would fall back to V8's linear-time engine and end at once.)
const slow = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`slow/f${i}.txt`, `${'é'.repeat(40)}c\n`.repeat(4)]));
// ripgrep's: a Unicode word boundary in front of long repetitions on non-ASCII text keeps
// ripgrep off its fast engines (about 4 MB/s here), over 8 MB.
let state = 1;
const words = ['alpha', 'beta', 'gamma', 'delta', 'épsilon', 'zeta', 'ηta', 'theta'];
const line = (): string =>
  Array.from({ length: 10 }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return words[state % words.length];
  }).join(' ');
const slowForRipgrep = Array.from({ length: 4096 }, line).join('\n').concat('\n').repeat(32);
const big = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`big/f${i}.txt`, 'needle in a haystack\n'.repeat(100)]));
const tree: Tree = await makeTree({ 'small/a.txt': 'one needle\ntwo\n', 'small/b.txt': 'needle again\n', ...slow, 'slow-rg/words.txt': slowForRipgrep, ...big });
afterAll(async () => {
  await tree.cleanup();
  await worker.cleanup();
});

const invalid = [
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
];

const bigCase = async () => ({
  input: grepInputSchema.parse({ pattern: 'needle', paths: ['big'], maxMatches: 250 }),
  within: (output: unknown) => (output as GrepOutput).stats.matchedLines <= 250 && (output as GrepOutput).messages.filter((m) => m.type === 'match').length <= 250,
  saysCut: (output: unknown) => (output as GrepOutput).truncated,
});

describe('grep, builtin engine', () => {
  describeConformance<GrepInput>({
    adapter: grepAdapter({ roots: [tree.dir], workerScript: worker.script, engine: 'builtin' }),
    valid: async () => ({ input: grepInputSchema.parse({ pattern: 'needle', paths: ['small'] }) }),
    invalid,
    slow: async () => ({
      input: grepInputSchema.parse({ pattern: '(é+)+b', paths: ['slow'], mode: 'count' }),
      stopped: async () => {
        const counts = grepWorkerCounts();
        return counts.busy === 0 && counts.live === counts.idle;
      },
    }),
    big: bigCase,
  });
});

describe.skipIf(RG === undefined)(`grep, ripgrep engine${RG_MISSING}`, () => {
  describeConformance<GrepInput>({
    adapter: grepAdapter({ roots: [tree.dir], workerScript: worker.script, engine: RG === undefined ? 'builtin' : 'ripgrep', ...(RG === undefined ? {} : { rgPath: RG }) }),
    valid: async () => ({ input: grepInputSchema.parse({ pattern: 'needle', paths: ['small'] }) }),
    invalid,
    slow: async () => ({
      input: grepInputSchema.parse({ pattern: '\\b\\w{3,}\\s\\w{3,}\\s\\w{3,}\\s\\w{3,}\\s\\w{90}', paths: ['slow-rg'], mode: 'count' }),
      stopped: async () => ripgrepProcessCount() === 0,
    }),
    big: bigCase,
  });
});
