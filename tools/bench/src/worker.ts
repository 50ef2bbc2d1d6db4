/**
 * Runs one measured run of one subject and prints its figures as JSON on the last line of
 * stdout. Each run gets a fresh process, so that peak memory and JIT state are its own.
 */
import { BENCHES } from './benches/index.js';
import type { Subject } from './types.js';

const [benchName, subjectJson, quickFlag] = process.argv.slice(2);
const bench = BENCHES.find((b) => b.name === benchName);
if (bench === undefined || subjectJson === undefined) {
  console.error(`usage: worker.js <bench> <subject json> [quick]; benches: ${BENCHES.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
const subject = JSON.parse(subjectJson) as Subject;
const measurement = await bench.run(subject, quickFlag === 'quick');
process.stdout.write(`${JSON.stringify(measurement)}\n`);
