/**
 * The runs of a server: submitted, queued per principal, run on one shared scheduler with
 * their journal in the data directory, their events fanned out to subscribers and appended to
 * disk, their report written when they end. On start, runs a previous process left queued or
 * going are listed `interrupted`; `resume` runs them again from their journal, so nothing
 * that succeeded runs twice.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { MetricsRecorder, Monitor, ResourceSample } from '@fanout/monitor';
import type { Config } from '@fanout/profiles';
import { runOptions } from '@fanout/profiles';
import type { Plan, Run, RunResult, Scheduler, SchedulerEvent } from '@fanout/scheduler';
import { ServerError } from './errors.js';
import { buildReport } from './report.js';
import { newRunId, SETTLED, type RunMeta, type RunState, type RunStore, type StoredReport } from './store.js';

/** What a subscriber is sent: an event's SSE id and its JSON text; `end` once the run is over. */
export interface Subscriber {
  event(id: number, data: string): void;
  end(state: RunState): void;
}

/** Limits of {@link RunManager}. */
export interface RunLimits {
  maxRunsPerPrincipal: number;
  maxQueuedPerPrincipal: number;
}

interface Entry {
  meta: RunMeta;
  /** Events of a live run (queued or going), every start's, in order; undefined once it is over. */
  events: string[] | undefined;
  subscribers: Set<Subscriber>;
  run?: Run;
  /** The plan while it waits to start (read back from disk for a resume). */
  plan?: Plan;
  mode?: 'append' | 'resume';
  cancelled?: boolean;
  settled?: Promise<void>;
}

/** An event as it is stored and sent: an operation's output stays in the journal and the report. */
function eventJson(event: SchedulerEvent): string {
  if (event.type === 'op-finished' && 'output' in event) {
    const { output: _output, ...rest } = event;
    return JSON.stringify(rest);
  }
  return JSON.stringify(event);
}

export class RunManager {
  readonly #entries = new Map<string, Entry>();
  /** Ids newest first. */
  #order: string[] = [];
  readonly #queue: Entry[] = [];
  readonly #going = new Map<string, number>();
  #closing = false;

  constructor(
    readonly store: RunStore,
    readonly scheduler: Scheduler,
    readonly config: Config,
    readonly monitor: Monitor,
    readonly metrics: MetricsRecorder,
    readonly limits: RunLimits,
    /** Called with each run as it starts; what it returns is called once it has ended (with --redis: the executor follows the run's limits). */
    readonly onRun: (run: Run) => () => void = () => () => undefined,
  ) {}

  /** Loads the runs of the data directory; those a previous process left unsettled become `interrupted`. */
  async load(): Promise<void> {
    const metas = await this.store.list();
    for (const meta of metas) {
      if (!SETTLED.has(meta.state)) {
        meta.state = 'interrupted';
        await this.store.writeMeta(meta);
      }
      this.#entries.set(meta.id, { meta, events: undefined, subscribers: new Set() });
    }
    this.#order = [...this.#entries.keys()].sort().reverse();
  }

  get size(): number {
    return this.#entries.size;
  }

  get active(): number {
    let n = 0;
    for (const count of this.#going.values()) n += count;
    return n;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Runs newest first, `limit` of them after `cursor` (an id), and the cursor of the next page. */
  list(limit: number, cursor: string | undefined): { runs: RunMeta[]; next: string | undefined } {
    let start = 0;
    if (cursor !== undefined) {
      // Ids sort by creation: the page starts at the first id older than the cursor.
      start = this.#order.findIndex((id) => id < cursor);
      if (start < 0) start = this.#order.length;
    }
    const ids = this.#order.slice(start, start + limit);
    const next = start + limit < this.#order.length ? ids.at(-1) : undefined;
    return { runs: ids.map((id) => this.#entries.get(id)!.meta), next };
  }

  get(id: string): RunMeta | undefined {
    return this.#entries.get(id)?.meta;
  }

  /** The run's events so far (JSON texts, in order). */
  async events(id: string): Promise<readonly string[]> {
    const entry = this.#entries.get(id);
    if (entry === undefined) throw notFound(id);
    return entry.events ?? (await this.store.readEvents(id));
  }

  report(id: string): Promise<StoredReport | undefined> {
    return this.store.readReport(id);
  }

  /** A live view of a going run: in flight, queued and limits per kind. */
  snapshot(id: string): ReturnType<Run['snapshot']> | undefined {
    return this.#entries.get(id)?.run?.snapshot();
  }

  #count(principal: string): { going: number; queued: number } {
    const going = this.#going.get(principal) ?? 0;
    const queued = this.#queue.filter((entry) => entry.meta.principal === principal).length;
    return { going, queued };
  }

  /** Refuses a run the principal has no room for (429 with a `Retry-After`). */
  checkRoom(principal: string): void {
    if (this.#closing) throw new ServerError('FANOUT_SERVER_SHUTTING_DOWN', 'expected a server that takes new runs, got one shutting down; submit it to the next one', { retryAfter: 5 });
    const { going, queued } = this.#count(principal);
    if (going >= this.limits.maxRunsPerPrincipal && queued >= this.limits.maxQueuedPerPrincipal) {
      throw new ServerError(
        'FANOUT_SERVER_TOO_MANY_RUNS',
        `expected at most ${this.limits.maxRunsPerPrincipal} runs going and ${this.limits.maxQueuedPerPrincipal} queued for this token, got ${going} going and ${queued} queued; retry when one ends`,
        { retryAfter: 1 },
      );
    }
  }

  /** Stores a validated plan as a new run and queues it. */
  async submit(plan: Plan, principal: string, title: string): Promise<RunMeta> {
    this.checkRoom(principal);
    const meta: RunMeta = { id: newRunId(), title, state: 'queued', principal, operations: plan.operations.length, createdAt: new Date().toISOString(), starts: 1 };
    await this.store.create(meta, plan);
    const entry: Entry = { meta, events: [], subscribers: new Set(), plan };
    this.#entries.set(meta.id, entry);
    this.#order.unshift(meta.id);
    entry.mode = 'append';
    this.#queue.push(entry);
    this.#pump();
    return meta;
  }

  /** Queues an interrupted (or cancelled) run again; its journal's successes are carried over. */
  async resume(id: string): Promise<RunMeta> {
    const entry = this.#entries.get(id);
    if (entry === undefined) throw notFound(id);
    if (entry.meta.state !== 'interrupted' && entry.meta.state !== 'cancelled') {
      throw new ServerError('FANOUT_SERVER_RUN_STATE', `expected an interrupted or cancelled run to resume, got run ${id} ${entry.meta.state}`);
    }
    this.checkRoom(entry.meta.principal);
    entry.events = await this.store.readEvents(id);
    entry.meta = { ...entry.meta, state: 'queued', starts: entry.meta.starts + 1 };
    delete entry.meta.finishedAt;
    delete entry.meta.error;
    entry.cancelled = false;
    entry.mode = 'resume';
    await this.store.writeMeta(entry.meta);
    this.#queue.push(entry);
    this.#pump();
    return entry.meta;
  }

  /** Cancels a queued or going run. */
  async cancel(id: string): Promise<RunMeta> {
    const entry = this.#entries.get(id);
    if (entry === undefined) throw notFound(id);
    if (entry.meta.state === 'queued') {
      this.#queue.splice(this.#queue.indexOf(entry), 1);
      await this.#finish(entry, 'cancelled');
      return entry.meta;
    }
    if (entry.meta.state !== 'running' || entry.run === undefined) throw new ServerError('FANOUT_SERVER_RUN_STATE', `expected a queued or running run to cancel, got run ${id} ${entry.meta.state}`);
    entry.cancelled = true;
    entry.run.cancel('cancelled over HTTP (DELETE /v1/runs/:id)');
    return entry.meta;
  }

  /**
   * Sends a run's events after `after` (an SSE id, 0 for all) to `subscriber`, then the new
   * ones as they come, then `end`. Returns a function that stops it.
   */
  async subscribe(id: string, after: number, subscriber: Subscriber): Promise<() => void> {
    const entry = this.#entries.get(id);
    if (entry === undefined) throw notFound(id);
    if (entry.events === undefined) {
      const events = await this.store.readEvents(id);
      for (let i = after; i < events.length; i++) subscriber.event(i + 1, events[i]!);
      if (entry.events === undefined) {
        subscriber.end(entry.meta.state);
        return () => undefined;
      }
      // Resumed while the file was read: go on from the live list.
      after = Math.max(after, events.length);
    }
    for (let i = after; i < entry.events.length; i++) subscriber.event(i + 1, entry.events[i]!);
    entry.subscribers.add(subscriber);
    return () => entry.subscribers.delete(subscriber);
  }

  #pump(): void {
    for (let i = 0; i < this.#queue.length; ) {
      const entry = this.#queue[i]!;
      if ((this.#going.get(entry.meta.principal) ?? 0) < this.limits.maxRunsPerPrincipal) {
        this.#queue.splice(i, 1);
        this.#start(entry);
      } else i++;
    }
  }

  #start(entry: Entry): void {
    const { meta } = entry;
    const principal = meta.principal;
    this.#going.set(principal, (this.#going.get(principal) ?? 0) + 1);
    entry.settled = this.#execute(entry)
      .catch(async (error: unknown) => {
        entry.meta.error = (error as Error)?.message ?? String(error);
        await this.#finish(entry, 'failed').catch(() => undefined);
      })
      .finally(() => {
        this.#going.set(principal, (this.#going.get(principal) ?? 1) - 1);
        entry.run = undefined as never;
        delete entry.run;
        if (!this.#closing) this.#pump();
      });
  }

  async #execute(entry: Entry): Promise<void> {
    const id = entry.meta.id;
    const plan = entry.plan ?? (await this.store.readPlan(id));
    delete entry.plan;
    const stream: WriteStream = createWriteStream(this.store.eventsPath(id), { flags: 'a' });
    const events = (entry.events ??= []);
    const emit = (data: string): void => {
      events.push(data);
      stream.write(`${data}\n`);
      const eventId = events.length;
      for (const subscriber of entry.subscribers) subscriber.event(eventId, data);
    };
    let run: Run;
    try {
      run = this.scheduler.run(plan, {
        ...runOptions(this.config),
        runId: id,
        journal: { path: this.store.journalPath(id), mode: entry.mode ?? 'append' },
        onEvent: (event) => emit(eventJson(event)),
      });
    } catch (error) {
      stream.end();
      throw error;
    }
    entry.run = run;
    // Not written now: on disk a queued run and a running one both mean "interrupted" to the
    // next process; the file is written again when the run ends.
    entry.meta = { ...entry.meta, state: 'running', startedAt: new Date().toISOString() };
    const unfollow = this.onRun(run);
    const unwatch = this.monitor.watch(run, { concurrency: this.config.concurrency ?? 256 });
    this.metrics.attach(run);
    // The machine while the run goes, on the run's time axis, for the dashboard's pressure chart.
    const origin = performance.now() - run.snapshot().time;
    const unsample = this.monitor.on((event) => {
      if (event.type !== 'sample') return;
      const sample: ResourceSample = event.sample;
      emit(
        JSON.stringify({
          type: 'resource-sample',
          time: sample.time - origin,
          cpu: sample.cpu?.utilisation,
          memory: sample.memory?.utilisation,
          disk: sample.disk?.utilisation,
          eventLoopP99Ms: sample.eventLoop?.delayP99Ms,
        }),
      );
    });
    let result: RunResult;
    try {
      result = await run.result;
    } catch (error) {
      unsample();
      unwatch();
      unfollow();
      await new Promise<void>((resolve) => stream.end(resolve));
      throw error;
    }
    unsample();
    unwatch();
    unfollow();
    // The events file closes while the report is built and written; both before the state
    // says the run is over.
    const closed = new Promise<void>((resolve) => stream.end(resolve));
    await Promise.all([closed, buildReport(result, plan, this.config).then((report) => this.store.writeReport(id, report))]);
    entry.meta.byState = result.summary.byState;
    await this.#finish(entry, entry.cancelled === true ? 'cancelled' : result.ok ? 'succeeded' : 'failed');
  }

  async #finish(entry: Entry, state: RunState): Promise<void> {
    entry.meta = { ...entry.meta, state, finishedAt: new Date().toISOString() };
    await this.store.writeMeta(entry.meta);
    entry.events = undefined;
    for (const subscriber of entry.subscribers) subscriber.end(state);
    entry.subscribers.clear();
  }

  /**
   * Stops taking runs; lets those going finish within `graceMs`, then cancels the rest and
   * waits for their journals; queued ones are left `interrupted` for the next process.
   */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const entry of this.#queue.splice(0)) {
      entry.meta = { ...entry.meta, state: 'interrupted' };
      await this.store.writeMeta(entry.meta);
      for (const subscriber of entry.subscribers) subscriber.end('interrupted');
    }
    const going = [...this.#entries.values()].filter((entry) => entry.settled !== undefined && entry.run !== undefined);
    const all = Promise.all(going.map((entry) => entry.settled));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      for (const entry of going) {
        if (entry.run === undefined) continue;
        entry.cancelled = true;
        entry.run.cancel(`server shutting down: still going after the ${graceMs} ms grace period`);
      }
      await all;
    }
  }
}

function notFound(id: string): ServerError {
  return new ServerError('FANOUT_SERVER_NOT_FOUND', `expected the id of a run of this server, got ${JSON.stringify(id)}`);
}
