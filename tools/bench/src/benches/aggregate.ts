import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aggregator, renderMarkdown, type FinishedOperation } from '@fanout/aggregate';
import { collectGarbage, gcTimer, peakRssMb, seeded } from '../noop-adapter.js';
import { check, find } from '../stats.js';
import type { Bench, Measurement, Row, Subject } from '../types.js';

/*
 * Results are built in the shapes @fanout/adapters produces (ripgrep --json messages, search
 * results, glob lists…), from a seeded generator, before the clock starts, except in the
 * streaming benchmark where building them on the fly is the point (the aggregator must not
 * keep them). The anchor is what one writes by hand without this package: WHATWG `URL` to
 * normalise, a `Map` of key → set of operations, one sort at the end. No npm package does
 * cross-operation deduplication and correlation (ANCHORS.md: "Nobody dedups and correlates
 * results across searches and providers").
 */

const TRACKING = /^(utm_.*|fbclid|gclid|msclkid)$/i;

/** The hand-written aggregation: the anchor of both benchmarks. */
class NaiveAggregation {
  readonly groups = new Map<string, Map<string, { sources: Set<string>; hits: number }>>();

  #hit(type: string, key: string, op: string): void {
    let group = this.groups.get(type);
    if (group === undefined) this.groups.set(type, (group = new Map()));
    let entry = group.get(key);
    if (entry === undefined) group.set(key, (entry = { sources: new Set(), hits: 0 }));
    entry.sources.add(op);
    entry.hits++;
  }

  add(op: FinishedOperation): void {
    const o = op.output as Record<string, unknown>;
    switch (op.kind) {
      case 'grep':
        for (const m of o.messages as { type: string; data: { path: { text: string }; line_number: number } }[]) {
          if (m.type !== 'match') continue;
          this.#hit('match', `${m.data.path.text}:${m.data.line_number}`, op.id);
          this.#hit('file', m.data.path.text, op.id);
        }
        break;
      case 'glob':
        for (const f of o.files as string[]) this.#hit('file', f, op.id);
        break;
      case 'read':
        for (const f of o.files as { path: string }[]) this.#hit('file', f.path, op.id);
        break;
      case 'search':
        for (const r of o.results as { url: string }[]) {
          const url = new URL(r.url);
          url.hash = '';
          for (const name of [...url.searchParams.keys()]) if (TRACKING.test(name)) url.searchParams.delete(name);
          url.searchParams.sort();
          if (url.pathname.length > 1 && url.pathname.endsWith('/')) url.pathname = url.pathname.replace(/\/+$/, '');
          this.#hit('url', url.href, op.id);
        }
        break;
      case 'analyze':
        for (const m of o.markers as { path: string; line: number; column: number }[]) this.#hit('marker', `${m.path}:${m.line}:${m.column}`, op.id);
        break;
      default:
        break;
    }
  }

  /** The 50 best of each group, by agreeing operations then sightings. */
  report(): string {
    const out: Record<string, unknown[]> = {};
    for (const [type, group] of this.groups) {
      out[type] = [...group.entries()]
        .sort((a, b) => b[1].sources.size - a[1].sources.size || b[1].hits - a[1].hits)
        .slice(0, 50)
        .map(([key, e]) => ({ key, sources: [...e.sources], hits: e.hits }));
    }
    return JSON.stringify(out);
  }
}

/**
 * `count` matches as ripgrep --json reports them: file by file (begin, its matches in line
 * order, end), `perFile` distinct lines of each, among lines 1..`lines`.
 */
function rgMessages(nextPath: () => string, count: number, perFile: number, lines: number, random: () => number): unknown[] {
  const messages: unknown[] = [];
  for (let left = count; left > 0; ) {
    const path = nextPath();
    const n = Math.min(left, perFile);
    const chosen = new Set<number>();
    while (chosen.size < n) chosen.add(1 + Math.floor(random() * lines));
    messages.push({ type: 'begin', data: { path: { text: path } } });
    for (const line of [...chosen].sort((a, b) => a - b)) {
      const text = `  const value${line} = compute(${line}); // TODO check the bound\n`;
      const start = text.indexOf('TODO');
      messages.push({ type: 'match', data: { path: { text: path }, lines: { text }, line_number: line, absolute_offset: line * 60, submatches: [{ match: { text: 'TODO' }, start, end: start + 4 }] } });
    }
    messages.push({ type: 'end', data: { path: { text: path }, binary_offset: null, stats: { matches: n, matched_lines: n } } });
    left -= n;
  }
  return messages;
}

/** The mix of aggregate-100k, scaled: 60% grep matches, 20% glob files, 10% search results, 5% read files, 5% markers. */
export function mixedRun(total: number, seed: number): FinishedOperation[] {
  const random = seeded(seed);
  const pick = (n: number): number => Math.floor(random() * n);
  const files = Array.from({ length: Math.max(30, Math.round(total * 0.03)) }, (_, i) => `/repo/packages/pkg${i % 40}/src/dir${i % 17}/file${i}.ts`);
  const domains = Array.from({ length: Math.max(3, Math.round(total * 0.003)) }, (_, i) => `docs${i}.example${i % 9}.org`);
  const urls = Array.from({ length: Math.max(40, Math.round(total * 0.04)) }, (_, i) => `https://${domains[i % domains.length]}/guide/section-${i}/page?id=${i}&lang=en`);
  const variant = (url: string): string => {
    switch (pick(5)) {
      case 0:
        return url.replace('https://docs', 'https://DOCS');
      case 1:
        return `${url}&utm_source=search&utm_medium=cpc`;
      case 2:
        return `${url}#overview`;
      case 3:
        return url.replace('/page?', '/page/?');
      default:
        return url;
    }
  };
  const ops: FinishedOperation[] = [];
  const per = (share: number, size: number): number => Math.max(1, Math.round((total * share) / size));
  for (let g = 0; g < per(0.6, 1_000); g++) {
    const messages = rgMessages(() => files[pick(files.length)]!, 1_000, 25, 400, random);
    ops.push({ id: `grep-${g}`, kind: 'grep', state: 'succeeded', output: { messages, stats: { files: 0, filesWithMatches: 0, matches: 1_000, matchedLines: 1_000, bytesSearched: 0 }, truncated: false } });
  }
  for (let g = 0; g < per(0.2, 2_000); g++) {
    const list = Array.from({ length: 2_000 }, () => files[pick(files.length)]!);
    ops.push({ id: `glob-${g}`, kind: 'glob', state: 'succeeded', output: { files: list, count: list.length, truncated: false } });
  }
  for (let s = 0; s < per(0.1, 50); s++) {
    const results = Array.from({ length: 50 }, (_, r) => ({
      title: `Result ${r}`,
      url: variant(urls[pick(urls.length)]!),
      snippet: 'How to bound concurrency when fanning out requests…',
      rank: r + 1,
      provider: s % 2 === 0 ? 'brave' : 'searxng',
    }));
    ops.push({ id: `search-${s}`, kind: 'search', state: 'succeeded', output: { query: `query ${s % 150}`, provider: s % 2 === 0 ? 'brave' : 'searxng', results, tried: ['brave'] } });
  }
  for (let r = 0; r < per(0.05, 250); r++) {
    const list = Array.from({ length: 250 }, () => ({ path: files[pick(files.length)]!, ok: true, text: '…', encoding: 'utf8', bytes: 1_000, binary: false, truncated: false }));
    ops.push({ id: `read-${r}`, kind: 'read', state: 'succeeded', output: { files: list } });
  }
  for (let a = 0; a < per(0.05, 1_000); a++) {
    const markers = Array.from({ length: 1_000 }, () => ({ path: files[pick(files.length)]!, line: 1 + pick(400), column: 5, kind: 'TODO', text: 'TODO check the bound' }));
    ops.push({ id: `markers-${a}`, kind: 'analyze', state: 'succeeded', output: { analyzer: 'markers', markers, truncated: false } });
  }
  return ops;
}

function countResults(ops: FinishedOperation[]): number {
  let n = 0;
  for (const op of ops) {
    const o = op.output as Record<string, unknown[]>;
    n += o.messages !== undefined ? o.messages.filter((m) => (m as { type: string }).type === 'match').length : (o.files ?? o.results ?? o.markers ?? []).length;
  }
  return n;
}

/** Aggregates `ops` and renders the report within the default budget (spilling the rest). */
async function fanoutAggregate(ops: FinishedOperation[], spillDir: string): Promise<number> {
  const aggregator = new Aggregator();
  for (const op of ops) aggregator.add(op);
  const report = await aggregator.report({ spillDir });
  return renderMarkdown(report).length;
}

async function withSpillDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'fanout-bench-aggregate-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const aggregate100k: Bench = {
  name: 'aggregate-100k',
  description:
    '100,000 results of 295 operations (60% grep matches, 20% glob files, 10% search results, 5% read, 5% markers) deduplicated, correlated, ranked and reported within the default budget (quick: 10,000); anchor: hand-written WHATWG URL + Map + sort',
  subjects: (quick: boolean) => [
    { name: 'fanout', params: { results: quick ? 10_000 : 100_000 } },
    { name: 'naive', params: { results: quick ? 10_000 : 100_000 } },
  ],
  async run(subject: Subject): Promise<Measurement> {
    const total = subject.params!.results as number;
    const ops = mixedRun(total, 42);
    const n = countResults(ops);
    return withSpillDir(async (dir) => {
      const once =
        subject.name === 'fanout'
          ? (list: FinishedOperation[]) => fanoutAggregate(list, dir)
          : async (list: FinishedOperation[]) => {
              const naive = new NaiveAggregation();
              for (const op of list) naive.add(op);
              return naive.report().length;
            };
      if (subject.name !== 'fanout' && subject.name !== 'naive') throw new Error(`unknown subject ${subject.name}`);
      // Warm up like the scheduler benchmarks: three runs of a tenth of the work.
      collectGarbage();
      const small = mixedRun(total / 10, 7);
      for (let i = 0; i < 3; i++) await once(small);
      const gc = gcTimer();
      gc.start();
      const start = performance.now();
      const chars = await once(ops);
      const wall = performance.now() - start;
      if (chars === 0) throw new Error(`${subject.name}: empty report`);
      return { wall_ms: wall, ops_per_s: (n / wall) * 1000, rss_mb: peakRssMb(), gc_ms: await gc.stop() };
    });
  },
  goals(rows: Row[]): string[] {
    const ours = find(rows, 'aggregate-100k', 'fanout', 'wall_ms');
    const naive = find(rows, 'aggregate-100k', 'naive', 'wall_ms');
    if (ours === undefined) return [];
    const results = (ours.params?.results as number | undefined) ?? 0;
    return [
      `goal: 100,000 results aggregated in under 200 ms: ${results.toLocaleString('en-US')} in ${ours.value.toFixed(0)} ms — ${results === 100_000 ? check(ours.value < 200) : 'quick size, not the goal'} (a second is where a person waiting starts to notice)`,
      ...(naive === undefined ? [] : [`fanout vs the hand-written aggregation (which neither correlates nor explains): ${(naive.value / ours.value).toFixed(2)}×`]),
    ];
  },
};

const MATCHES_PER_OP = 1_000;
const STREAM_FILES = 10_000;

/** One grep output of `MATCHES_PER_OP` matches (25 a file) over a fixed pool of files, built when asked. */
export function grepOp(index: number, random: () => number): FinishedOperation {
  const nextPath = (): string => {
    const file = Math.floor(random() * STREAM_FILES);
    return `/repo/src/dir${file % 97}/file${file}.ts`;
  };
  const messages = rgMessages(nextPath, MATCHES_PER_OP, 25, 5_000, random);
  return {
    id: `grep-${index}`,
    kind: 'grep',
    state: 'succeeded',
    output: { messages, stats: { files: 0, filesWithMatches: 0, matches: MATCHES_PER_OP, matchedLines: MATCHES_PER_OP, bytesSearched: 0 }, truncated: false },
  };
}

/** Stream sizes: the anchor runs the first two; fanout all three (the third shows the plateau). */
function streamSizes(quick: boolean): [number, number, number] {
  return quick ? [20_000, 80_000, 160_000] : [250_000, 1_000_000, 2_000_000];
}

export const aggregateStream1m: Bench = {
  name: 'aggregate-stream-1m',
  description:
    'grep matches streamed in 1,000 per operation (25 a file, like ripgrep), built on the fly and dropped once taken in, at 250,000, 1,000,000 and 2,000,000 (the anchor: the first two; quick: 20k/80k/160k, bound 10,000): peak RSS must level off',
  subjects: (quick: boolean) => {
    const [a, b, c] = streamSizes(quick);
    return [
      { name: 'fanout', params: { matches: a } },
      { name: 'naive', params: { matches: a } },
      { name: 'fanout', params: { matches: b } },
      { name: 'naive', params: { matches: b } },
      { name: 'fanout', params: { matches: c } },
    ];
  },
  async run(subject: Subject, quick: boolean): Promise<Measurement> {
    const matches = subject.params!.matches as number;
    const ops = matches / MATCHES_PER_OP;
    const random = seeded(1);
    collectGarbage();
    return withSpillDir(async (dir) => {
      const start = performance.now();
      if (subject.name === 'fanout') {
        const aggregator = new Aggregator(quick ? { maxEntries: 10_000 } : {});
        for (let i = 0; i < ops; i++) aggregator.add(grepOp(i, random));
        const report = await aggregator.report({ spillDir: dir });
        if (report.totals.items !== matches) throw new Error(`fanout took in ${report.totals.items} of ${matches}`);
      } else if (subject.name === 'naive') {
        const naive = new NaiveAggregation();
        for (let i = 0; i < ops; i++) naive.add(grepOp(i, random));
        naive.report();
      } else {
        throw new Error(`unknown subject ${subject.name}`);
      }
      const wall = performance.now() - start;
      return { wall_ms: wall, ops_per_s: (matches / wall) * 1000, rss_mb: peakRssMb() };
    });
  },
  goals(rows: Row[]): string[] {
    const quick = rows.some((r) => r.bench === 'aggregate-stream-1m' && r.params?.matches === 20_000);
    const [a, b, c] = streamSizes(quick);
    const rss = (subject: string, matches: number): number | undefined => find(rows, 'aggregate-stream-1m', subject, 'rss_mb', { matches })?.value;
    const mb = (value: number | undefined): string => (value === undefined ? '?' : `${value.toFixed(0)} MB`);
    const k = (n: number): string => n.toLocaleString('en-US');
    const lines: string[] = [];
    const [fa, fb, fc] = [rss('fanout', a), rss('fanout', b), rss('fanout', c)];
    if (fb !== undefined && fc !== undefined) {
      const growth = fc / fb;
      lines.push(`goal: memory bounded while streaming — fanout peak RSS ${mb(fa)} at ${k(a)}, ${mb(fb)} at ${k(b)}, ${mb(fc)} at ${k(c)} matches (×${growth.toFixed(2)} for the last doubling) — ${check(growth <= 1.1)}`);
    }
    const [na, nb] = [rss('naive', a), rss('naive', b)];
    if (na !== undefined && nb !== undefined) lines.push(`the hand-written aggregation keeps every key: ${mb(na)} at ${k(a)} → ${mb(nb)} at ${k(b)} (×${(nb / na).toFixed(2)})`);
    return lines;
  },
};

/** Benchmarks of the aggregate work, registered in ./index.ts. */
export const aggregateBenches: Bench[] = [aggregate100k, aggregateStream1m];
