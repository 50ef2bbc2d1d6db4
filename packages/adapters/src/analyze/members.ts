/**
 * The built-in analyses as members of a scan pass: `stats`, `markers` and `map` take their files in
 * tree order from the shared walk, their per-file outcomes from the shared reads (see
 * `fs/scan/work.ts`), and add them up here, on the main thread. Progress is reported every
 * {@link PROGRESS_EVERY} files: `{ analyzer, done }` (and `markers` for the markers found).
 */
import type { AttemptContext } from '@fanout/scheduler';
import type { Settle } from '../fs/scan/member.js';
import { targetPaths, type Prepared } from '../fs/scan/prepared.js';
import type { BatchShared } from '../fs/scan/scan.js';
import { analyzeTargets, DiscoveryMember } from './discover.js';
import { MarkersTally, type MarkersFileOutcome } from './markers.js';
import type { MapFileOutcome } from './facts.js';
import { MapTally } from './map.js';
import type { MapOutput, MarkersOutput, StatsOutput } from './output.js';
import type { AnalyzeInput } from './schema.js';
import { PROGRESS_EVERY, StatsTally, type StatsFileOutcome } from './stats.js';

/** Prepares a `stats` or `markers` analysis for a pass: checks its paths, says where its walk starts. */
export async function prepareAnalyze(input: Exclude<AnalyzeInput, { analyzer: 'module' }>, context: AttemptContext, settle: Settle, shared: BatchShared): Promise<Prepared> {
  context.signal.throwIfAborted();
  const targets = await analyzeTargets(input, shared.roots, shared.listings);
  context.signal.throwIfAborted();
  if (input.analyzer === 'map') {
    const member = new MapMember(targetPaths(targets), input.maxFiles, context, settle);
    return { consumer: { member, spec: { type: 'map' }, hint: () => 0 }, targets };
  }
  if (input.analyzer === 'stats') {
    const member = new StatsMember(targetPaths(targets), input.maxFiles, context, settle);
    return { consumer: { member, spec: { type: 'stats' }, hint: () => 0 }, targets };
  }
  const member = new MarkersMember(targetPaths(targets), input.maxFiles, input.maxMarkers, context, settle);
  return { consumer: { member, spec: { type: 'markers', kinds: input.kinds }, hint: () => member.remaining }, targets };
}

class StatsMember extends DiscoveryMember {
  readonly #tally = new StatsTally();

  protected file(path: string, outcome: unknown): void {
    this.#tally.add(path, outcome as StatsFileOutcome);
    const done = this.#tally.files;
    if (done % PROGRESS_EVERY === 0) this.context.progress({ analyzer: 'stats', done });
  }

  protected finish(): void {
    const result = this.#tally.result();
    const output: StatsOutput = { ...result, skipped: [...this.skipped, ...result.skipped], truncated: this.truncated };
    this.resolve(output);
  }
}

class MapMember extends DiscoveryMember {
  readonly #tally = new MapTally();

  protected file(path: string, outcome: unknown): void {
    this.#tally.add(path, outcome as MapFileOutcome);
    const done = this.#tally.files;
    if (done % PROGRESS_EVERY === 0) this.context.progress({ analyzer: 'map', done });
  }

  protected finish(): void {
    const result = this.#tally.result();
    const output: MapOutput = { ...result, skipped: [...this.skipped, ...result.skipped], truncated: this.truncated };
    this.resolve(output);
  }
}

class MarkersMember extends DiscoveryMember {
  readonly #tally: MarkersTally;

  constructor(paths: readonly string[], maxFiles: number, maxMarkers: number, context: AttemptContext, settle: Settle) {
    super(paths, maxFiles, context, settle);
    this.#tally = new MarkersTally(maxMarkers);
  }

  /** Markers a file may still contribute (a hint for the per-file scan). */
  get remaining(): number {
    return this.#tally.remaining;
  }

  protected file(path: string, outcome: unknown): void {
    // Past maxMarkers: done at once, whatever is still being walked.
    if (this.#tally.add(path, outcome as MarkersFileOutcome)) {
      this.finish();
      return;
    }
    const done = this.#tally.files;
    if (done % PROGRESS_EVERY === 0) this.context.progress({ analyzer: 'markers', done, markers: this.#tally.count });
  }

  protected finish(): void {
    const result = this.#tally.result();
    const output: MarkersOutput = { ...result, skipped: [...this.skipped, ...result.skipped], truncated: result.truncated || this.truncated };
    this.resolve(output);
  }
}
