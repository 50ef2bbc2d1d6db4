#!/usr/bin/env node
/**
 * `npm start` until the fanout CLI exists: runs the example plan over this repository and
 * prints the run summary. `node tools/example/dist/main.js [dir]` runs it over another
 * directory.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createScheduler, PlanValidationError } from '@fanout/scheduler';
import { exampleAdapters } from './adapters.js';
import { examplePlan } from './plan.js';
import { renderSummary } from './render.js';

const root = resolve(process.argv[2] ?? process.cwd());
const reportPath = join(tmpdir(), 'fanout-example-report.json');
const scheduler = createScheduler({ adapters: exampleAdapters });

console.log(`fanout example: digesting ${root} and asking 16 simulated remote questions, in parallel\n`);
const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted (Ctrl-C)')));

let run;
try {
  run = scheduler.run(examplePlan(root, reportPath), { signal: controller.signal });
} catch (error) {
  if (error instanceof PlanValidationError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}

run.on((event) => {
  if (event.type === 'op-expanded') console.log(`  ${event.id}: fanned out over ${event.children.length} files`);
  if (event.type === 'op-finished' && event.parent === undefined) {
    const mark = event.state === 'succeeded' ? 'ok' : event.state;
    console.log(`  ${(event.time / 1000).toFixed(3).padStart(7)} s  ${mark.padEnd(9)} ${event.id}`);
  }
});

const result = await run.result;
const tally = result.get('tally')?.output as { extensions: Record<string, { files: number; lines: number }>; largest: { path: string; bytes: number }[] } | undefined;
console.log('');
if (tally !== undefined) {
  const top = Object.entries(tally.extensions)
    .slice(0, 5)
    .map(([ext, t]) => `${ext} ${t.files} files / ${t.lines} lines`)
    .join(', ');
  console.log(`found: ${top}`);
  console.log(`largest: ${tally.largest.map((f) => `${f.path} (${f.bytes} B)`).join(', ')}`);
  console.log(`report: ${reportPath}\n`);
}
for (const line of renderSummary(result.summary)) console.log(line);
process.exitCode = result.ok ? 0 : 1;
