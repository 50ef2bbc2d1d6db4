/**
 * Runs on disk, one directory each under `<data-dir>/runs/<id>/`: `meta.json` (state, times,
 * counts; replaced atomically), `plan.json`, `journal.ndjson` (the scheduler's journal, what a
 * resume reads), `events.ndjson` (every event a subscriber was sent, one a line, its line
 * number its SSE id) and `report.json` once the run is over. A server killed with SIGKILL
 * loses at most the tail of a line, which {@link readEvents} drops.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plan, RunSummary, TerminalState } from '@fanout/scheduler';

/** Where a run stands. `interrupted`: the server stopped while it was queued or going; resume it. */
export type RunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

/** The states a run does not leave by itself. */
export const SETTLED: ReadonlySet<RunState> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

/** What `meta.json` holds. */
export interface RunMeta {
  id: string;
  title: string;
  state: RunState;
  /** The principal (a hash of the token) that submitted it. */
  principal: string;
  operations: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** How many times it was submitted to run: 1, then one more per resume (counted when queued, so that a kill does not lose it). */
  starts: number;
  /** Counts by terminal state, once it is over. */
  byState?: Record<TerminalState, number>;
  /** Why it ended without a summary (an error of the server itself). */
  error?: string;
}

/** What `report.json` holds. */
export interface StoredReport {
  summary: RunSummary;
  /** The aggregated report (`@fanout/aggregate`), as `fanout run --json` prints it. */
  report: unknown;
  markdown: string;
}

let counter = 0;

/**
 * A new run id that sorts by creation time (base-36 milliseconds, then a counter within the
 * process, then randomness), so "newest first" is the ids in reverse order.
 */
export function newRunId(now = Date.now()): string {
  counter = (counter + 1) % 36 ** 4;
  return `r${now.toString(36).padStart(9, '0')}${counter.toString(36).padStart(4, '0')}${randomBytes(4).toString('hex')}`;
}

const ID = /^r[0-9a-z]{13}[0-9a-f]{8}$/;

/** True when `id` could be a run id (before it is used in a path). */
export function isRunId(id: string): boolean {
  return ID.test(id);
}

/** The files of runs in a data directory. */
export class RunStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'runs');
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  planPath(id: string): string {
    return join(this.dir(id), 'plan.json');
  }

  journalPath(id: string): string {
    return join(this.dir(id), 'journal.ndjson');
  }

  eventsPath(id: string): string {
    return join(this.dir(id), 'events.ndjson');
  }

  async create(meta: RunMeta, plan: Plan): Promise<void> {
    await mkdir(this.dir(meta.id), { recursive: true });
    // A directory without a readable meta.json is not listed: a kill between the two loses nothing accepted.
    await Promise.all([writeFile(this.planPath(meta.id), JSON.stringify(plan)), this.writeMeta(meta)]);
  }

  /** Replaces `meta.json` atomically (a temp file, then rename): a kill leaves the old or the new one. */
  async writeMeta(meta: RunMeta): Promise<void> {
    const path = join(this.dir(meta.id), 'meta.json');
    await writeFile(`${path}.tmp`, JSON.stringify(meta));
    await rename(`${path}.tmp`, path);
  }

  async readPlan(id: string): Promise<Plan> {
    return JSON.parse(await readFile(this.planPath(id), 'utf8')) as Plan;
  }

  /**
   * Writes `report.json` in place: it is read only once `meta.json` says the run is over, and
   * that is written after it, so a kill midway leaves a run listed interrupted, not a torn report.
   */
  async writeReport(id: string, report: StoredReport): Promise<void> {
    await writeFile(join(this.dir(id), 'report.json'), JSON.stringify(report));
  }

  async readReport(id: string): Promise<StoredReport | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir(id), 'report.json'), 'utf8')) as StoredReport;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Every run's meta (directories without a readable one are left out: a kill during creation). */
  async list(): Promise<RunMeta[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const metas = await Promise.all(
      names.filter(isRunId).map(async (id) => {
        try {
          return JSON.parse(await readFile(join(this.dir(id), 'meta.json'), 'utf8')) as RunMeta;
        } catch {
          return undefined;
        }
      }),
    );
    return metas.filter((meta): meta is RunMeta => meta !== undefined);
  }

  /**
   * The run's stored events (each line's JSON text), without a torn last line, which is cut
   * from the file too so that appending goes on from a whole line.
   */
  async readEvents(id: string): Promise<string[]> {
    let text: string;
    try {
      text = await readFile(this.eventsPath(id), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) await truncate(this.eventsPath(id), Buffer.byteLength(text.slice(0, end)));
    return end === 0 ? [] : text.slice(0, end - 1).split('\n');
  }
}
