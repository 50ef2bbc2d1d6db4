#!/usr/bin/env node
/**
 * npm run bench -- [names...] [--quick] [--json FILE] [--runs N]
 *
 * Runs fanout and its anchors side by side in one invocation, prints medians with same-run
 * ratios and the goals (tools/bench/README.md), and writes JSON rows with --json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCHES } from './benches/index.js';
import { runBench } from './runner.js';
import { advantage, formatValue, table } from './stats.js';
import type { Bench, Row } from './types.js';

const usage = `usage: npm run bench -- [names...] [--quick] [--json FILE] [--runs N]
benchmarks: ${BENCHES.map((b) => b.name).join(', ')}`;

function fail(message: string): never {
  console.error(`bench: ${message}\n${usage}`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    allowPositionals: true,
    options: { quick: { type: 'boolean', default: false }, json: { type: 'string' }, runs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
} catch (error) {
  fail((error as Error).message);
}
if (args.values.help) {
  console.log(usage);
  process.exit(0);
}
const unknown = args.positionals.filter((name) => !BENCHES.some((b) => b.name === name));
if (unknown.length > 0) fail(`unknown benchmark ${unknown.map((n) => `"${n}"`).join(', ')}`);
const quick = args.values.quick === true;
const runs = args.values.runs === undefined ? (quick ? 1 : 5) : Number(args.values.runs);
if (!Number.isInteger(runs) || runs < 1) fail(`expected --runs to be a positive integer, got ${JSON.stringify(args.values.runs)}`);
const selected = args.positionals.length === 0 ? BENCHES : BENCHES.filter((b) => args.positionals.includes(b.name));

console.log(`fanout benchmarks — ${quick ? 'quick smoke run' : `${runs} runs each, medians`} — node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
const all: Row[] = [];
for (const bench of selected) all.push(...(await measureBench(bench, (line) => console.log(line))));

console.log('\ngoals (same run):');
for (const bench of selected)
  for (const line of bench.goals?.(
    all.filter((r) => r.bench === bench.name),
    all,
  ) ?? [])
    console.log(`  ${line}`);
if (quick) console.log('  (quick mode: small sizes, a smoke test that the benchmarks run; the figures are not the goals’)');

if (args.values.json !== undefined) {
  await mkdir(dirname(args.values.json), { recursive: true });
  await writeFile(args.values.json, `${JSON.stringify(all, null, 2)}\n`);
  console.log(`\nwrote ${all.length} rows to ${args.values.json}`);
}

/** Runs one benchmark, logging its header, its progress, its time and its table of medians. */
async function measureBench(bench: Bench, log: (line: string) => void): Promise<Row[]> {
  log(`\n${bench.name}: ${bench.description}`);
  const started = performance.now();
  const rows = await runBench(bench, { quick, runs, log });
  log(`  ${bench.name}: ${((performance.now() - started) / 1000).toFixed(1)} s in all`);
  const body = rows.map((row) => {
    const ours = row.subject === 'fanout' ? undefined : counterpart(rows, row);
    const ratio = ours === undefined ? '' : `${advantage(ours.value, row.value, row.metric).toFixed(2)}×`;
    return [row.subject, row.params === undefined ? '' : JSON.stringify(row.params), row.metric, formatValue(row.value, row.unit), ratio];
  });
  log(table(['subject', 'params', 'metric', 'median', 'fanout advantage'], body));
  return rows;
}

/**
 * fanout's row to compare `row` with: same metric, and the same value for every setting both
 * rows name (concurrency, size, pattern…), `mode` aside (it names how each subject runs).
 */
function counterpart(rows: Row[], row: Row): Row | undefined {
  const settings = (r: Row) => Object.entries(r.params ?? {}).filter(([key]) => key !== 'mode');
  return rows.find(
    (r) =>
      r.bench === row.bench &&
      r.subject === 'fanout' &&
      r.metric === row.metric &&
      settings(row).every(([key, value]) => !(key in (r.params ?? {})) || JSON.stringify(r.params![key]) === JSON.stringify(value)) &&
      settings(r).every(([key, value]) => !(key in (row.params ?? {})) || JSON.stringify(row.params![key]) === JSON.stringify(value)),
  );
}
