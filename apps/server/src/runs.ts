/**
 * The runs of a server: submitted, queued per principal, run on one shared scheduler with
 * their journal in the data directory, their events fanned out to subscribers and appended to
 * the run's log, their report written there when they end. On start, runs a previous process
 * left queued or going are listed `interrupted`; `resume` runs them again from their journal,
 * so nothing that succeeded runs twice. The events of the runs that ended last stay in memory
 * (up to {@link RECENT_EVENT_BYTES}), so a client that subscribes just after its run ended is
 * answered without reading the disk.
 */
import type { MetricsRecorder, Monitor, ResourceSample } from '@fanout/monitor';
import type { Config } from '@fanout/profiles';
import { runOptions } from '@fanout/profiles';
import type { CompiledPlan, Plan, Run, RunOptions, RunResult, RunSummary, Scheduler, SchedulerEvent } from '@fanout/scheduler';
import { ServerError } from './errors.js';
import { buildReport } from './report.js';
import { SETTLED, type ReportPlace, type RunLog, type RunMeta, type RunState, type RunStore, type StoredReport } from './store.js';

/** Event text kept in memory for runs that are over, in UTF-8 bytes, the oldest runs' dropped first. */
export const RECENT_EVENT_BYTES = 16 * 1024 * 1024;

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
  /** Queued or going: its log is open and its events go to subscribers as they come. */
  live: boolean;
  /** Its events, every start's, in order, while live (once it is over: `packed` while kept among the recent, else on disk only). */
  events: string[] | undefined;
  /**
   * Its events once it is over, while kept among the recent: their UTF-8, each followed by a
   * newline, in a buffer off the JS heap. Kept as strings, they were copied by every
   * young-generation collection until promoted: half of what one copied in `fanout serve`
   * with a short run every few milliseconds (its pause is the tail of such runs).
   */
  packed?: Buffer;
  /** Bytes of `packed` counted in the recent runs' budget (0 when not kept). */
  kept: number;
  subscribers: Set<Subscriber>;
  log?: RunLog;
  /** Where its report is in its log, once it is over. */
  report?: ReportPlace;
  run?: Run;
  /** The plan while it waits to start (read back from its log for a resume). */
  plan?: Plan;
  /** The plan as the scheduler compiled it at submission (not validated a second time). */
  compiled?: CompiledPlan;
  mode?: 'append' | 'resume';
  /** Its journal when not its log: beside it (an MCP tool's run, or one of an earlier layout). */
  journal?: string;
  cancelled?: boolean;
  settled?: Promise<void>;
  /** An adopted run's log being created while the run already goes (its events wait in `events`). */
  opening?: Promise<void>;
}

/** Starts a run with the server's run id, journal and event listener. */
type Launcher = (options: Pick<RunOptions, 'runId' | 'journal' | 'onEvent'>) => Run;

/** A run started elsewhere in this process (a tool call at `/mcp`) that the server takes in: see {@link RunManager.adopt}. */
export interface AdoptedRun {
  title: string;
  plan: Plan;
  principal: string;
  /** Where it came from, recorded in its meta (`{ tool, handle }` of an MCP call). */
  mcp: { tool: string; handle: string };
  /** Starts it with these options (the caller's own listener stays attached). */
  start: Launcher;
}

/** An event as it is stored and sent: an operation's output stays in the journal and the report. */
function eventJson(event: SchedulerEvent): string {
  if (event.type === 'op-finished' && 'output' in event) {
    const { output: _output, ...rest } = event;
    return JSON.stringify(rest);
  }
  return JSON.stringify(event);
}

/**
 * The run's last event, `JSON.stringify(event)` made from its summary's JSON text, which the
 * report line takes too (a summary is a kilobyte or more of JSON, and was serialized for each).
 */
function runFinishedJson(event: Extract<SchedulerEvent, { type: 'run-finished' }>, summaryJson: string): string {
  const keys = Object.keys(event);
  // Another order of keys would be another text: made whole then.
  if (keys[0] !== 'type' || keys[1] !== 'summary') return JSON.stringify(event);
  const { type: _type, summary: _summary, ...rest } = event;
  const tail = JSON.stringify(rest);
  return `{"type":"run-finished","summary":${summaryJson}${tail === '{}' ? '}' : `,${tail.slice(1)}`}`;
}

export class RunManager {
  readonly #entries = new Map<string, Entry>();
  /** Ids newest first. */
  #order: string[] = [];
  readonly #queue: Entry[] = [];
  readonly #going = new Map<string, number>();
  /** Runs over whose events are kept in memory, oldest first, and their bytes. */
  readonly #recent = new Set<Entry>();
  #recentBytes = 0;
  #closing = false;
  /** Journals of runs that ended, being synced (`close` waits for them). */
  readonly #syncs = new Set<Promise<void>>();

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

  /**
   * Loads the runs of the data directory; those a previous process left unsettled are
   * `interrupted` (nothing is written: a log that ends queued or going means that to any later
   * process too).
   */
  async load(): Promise<void> {
    // Now, not at the first submit: a run adopted from /mcp starts (and opens its journal) before its log is created.
    await this.store.made();
    for (const { meta, report } of await this.store.list()) {
      if (!SETTLED.has(meta.state)) meta.state = 'interrupted';
      this.#entries.set(meta.id, { meta, live: false, events: undefined, kept: 0, subscribers: new Set(), ...(report === undefined ? {} : { report }) });
    }
    this.#order = [...this.#entries.keys()].sort().reverse();
    // The first run's log is made ahead too.
    this.store.stock();
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
    return entry.events ?? unpack(entry.packed) ?? (await this.store.read(id)).events;
  }

  /** The run's plan as submitted (undefined when its log has none left to read). */
  async plan(id: string): Promise<Plan | undefined> {
    if (!this.#entries.has(id)) throw notFound(id);
    return (await this.store.read(id)).plan;
  }

  /** The run's report, once it is over. */
  async report(id: string): Promise<StoredReport | undefined> {
    const place = this.#entries.get(id)?.report;
    return place === undefined ? undefined : this.store.readReport(id, place);
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

  /**
   * Stores a validated plan as a new run and queues it; resolves once its log is written.
   * `compiled` (this scheduler's compilation of `plan`) spares the run a second validation.
   * `accepted` is called once the run is stored and queued, before it may start: the route
   * answers its 202 there, so the answer is not held back by the run's start (its journal
   * opened, its first events), which then overlaps the client's next request.
   */
  async submit(plan: Plan, principal: string, title: string, compiled?: CompiledPlan, accepted?: (meta: RunMeta) => void): Promise<RunMeta> {
    this.checkRoom(principal);
    // Its log made ahead, when one is ready: no file-system call before the 202 but the write.
    const reservation = this.store.reserve();
    const meta: RunMeta = { id: reservation.id, title, state: 'queued', principal, operations: plan.operations.length, createdAt: new Date().toISOString(), starts: 1 };
    const log = await this.store.create(meta, plan, reservation);
    const entry: Entry = { meta, live: true, events: [], kept: 0, subscribers: new Set(), log, plan, ...(compiled === undefined ? {} : { compiled }) };
    this.#entries.set(meta.id, entry);
    this.#order.unshift(meta.id);
    entry.mode = 'append';
    this.#queue.push(entry);
    try {
      accepted?.(meta);
    } finally {
      this.#pump();
    }
    return meta;
  }

  /**
   * Takes in a run another part of this process starts (a tool call at `/mcp`, whose answer
   * cannot wait for the queue): it is started now, with this server's run id, journal and
   * event log, counted against its principal's runs going, listed, streamed, cancelled and
   * resumed like a submitted one. With no room to go now (the principal has `maxRunsPerPrincipal`
   * going) it is refused, FANOUT_SERVER_TOO_MANY_RUNS, rather than queued. Its log is created
   * while it already goes; its first events wait in memory until then.
   */
  adopt(adopted: AdoptedRun): Run {
    const { principal, plan } = adopted;
    if (this.#closing) throw new ServerError('FANOUT_SERVER_SHUTTING_DOWN', 'expected a server that takes new runs, got one shutting down; call the tool again on the next one', { retryAfter: 5 });
    const going = this.#going.get(principal) ?? 0;
    if (going >= this.limits.maxRunsPerPrincipal) {
      throw new ServerError(
        'FANOUT_SERVER_TOO_MANY_RUNS',
        `expected fewer than ${this.limits.maxRunsPerPrincipal} runs going for this token to start a tool's run (those of /mcp start at once or not at all, they do not queue), got ${going} going; retry when one ends`,
        { retryAfter: 1 },
      );
    }
    const now = new Date().toISOString();
    const reservation = this.store.reserve();
    const meta: RunMeta = {
      id: reservation.id,
      title: adopted.title === '' ? adopted.mcp.tool : `${adopted.mcp.tool}: ${adopted.title}`,
      state: 'running',
      principal,
      operations: plan.operations.length,
      createdAt: now,
      starts: 1,
      mcp: adopted.mcp,
    };
    // Its journal is opened as it starts, before its log exists: a file of its own.
    const entry: Entry = { meta, live: true, events: [], kept: 0, subscribers: new Set(), plan, mode: 'append', journal: this.store.journalPath(meta.id) };
    this.#entries.set(meta.id, entry);
    this.#order.unshift(meta.id);
    this.#start(entry, adopted.start);
    const run = entry.run;
    if (run === undefined) {
      this.store.release(reservation);
      throw new ServerError('FANOUT_SERVER_INTERNAL', `expected the tool's run ${adopted.mcp.handle} to start, got none (run ${meta.id}: ${entry.meta.error ?? 'no error'})`);
    }
    // Cancelled by the tool (fanout_cancel, a client cancelling its call): listed cancelled, as over DELETE.
    const cancel = run.cancel.bind(run);
    run.cancel = (reason?: unknown) => {
      entry.cancelled = true;
      cancel(reason);
    };
    entry.opening = this.store.create(meta, plan, reservation).then(
      (log) => {
        // Still live: a run that ends waits for this in #finish before it writes its end.
        entry.log = log;
        for (const event of entry.events ?? []) log.event(event);
      },
      (error: unknown) => {
        // A run the server cannot record would be lost to the list at the next start.
        entry.meta.error = `its log ${this.store.logPath(meta.id)} could not be created: ${(error as Error)?.message ?? String(error)}`;
        entry.cancelled = true;
        run.cancel(`the server could not record run ${meta.id}`);
      },
    );
    return run;
  }

  /** Queues an interrupted (or cancelled) run again; its journal's successes are carried over. */
  async resume(id: string): Promise<RunMeta> {
    const entry = this.#entries.get(id);
    if (entry === undefined) throw notFound(id);
    if (entry.meta.state !== 'interrupted' && entry.meta.state !== 'cancelled') {
      throw new ServerError('FANOUT_SERVER_RUN_STATE', `expected an interrupted or cancelled run to resume, got run ${id} ${entry.meta.state}`);
    }
    this.checkRoom(entry.meta.principal);
    if (entry.live) throw new ServerError('FANOUT_SERVER_RUN_STATE', `expected an interrupted or cancelled run to resume, got run ${id} being resumed already`);
    entry.live = true;
    let log: RunLog;
    let plan: Plan | undefined;
    let journal: string;
    try {
      const contents = await this.store.read(id);
      journal = await this.store.journalOf(id);
      plan = contents.plan;
      if (plan === undefined) throw new ServerError('FANOUT_SERVER_RUN_STATE', `expected the plan of run ${id} in its log ${this.store.logPath(id)}, got none`);
      log = await this.store.reopen(id, contents);
      this.#forget(entry);
      delete entry.packed;
      entry.events = contents.events;
    } catch (error) {
      entry.live = false;
      throw error;
    }
    entry.meta = { ...entry.meta, state: 'queued', starts: entry.meta.starts + 1 };
    delete entry.meta.finishedAt;
    delete entry.meta.error;
    delete entry.meta.byState;
    delete entry.report;
    entry.log = log;
    entry.plan = plan;
    if (journal === this.store.logPath(id)) delete entry.journal;
    else entry.journal = journal;
    entry.cancelled = false;
    entry.mode = 'resume';
    log.meta(entry.meta);
    await log.flush();
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
    if (!entry.live) {
      const events = entry.events ?? unpack(entry.packed) ?? (await this.store.read(id)).events;
      if (!entry.live) {
        for (let i = after; i < events.length; i++) subscriber.event(i + 1, events[i]!);
        subscriber.end(entry.meta.state);
        return () => undefined;
      }
      // Resumed while the log was read: its live list holds the same events, and the new ones.
    }
    const events = entry.events!;
    for (let i = after; i < events.length; i++) subscriber.event(i + 1, events[i]!);
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

  #start(entry: Entry, launcher?: Launcher): void {
    const { meta } = entry;
    const principal = meta.principal;
    this.#going.set(principal, (this.#going.get(principal) ?? 0) + 1);
    entry.settled = this.#execute(entry, launcher)
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

  async #execute(entry: Entry, launcher?: Launcher): Promise<void> {
    const id = entry.meta.id;
    const plan = entry.plan!;
    const compiled = entry.compiled;
    delete entry.plan;
    delete entry.compiled;
    const events = (entry.events ??= []);
    const emit = (data: string): void => {
      events.push(data);
      // An adopted run's log may not be open yet: its events are written when it is.
      entry.log?.event(data);
      const eventId = events.length;
      for (const subscriber of entry.subscribers) subscriber.event(eventId, data);
    };
    // The run's log, unless it has a journal of its own (see store.ts): its records are written
    // through the log (an adopted run's log may not be open yet, and it has a journal of its own).
    const sink = entry.journal === undefined ? entry.log?.journal() : undefined;
    // The summary of the run's last event and its JSON text, for the report line.
    let finished: { summary: RunSummary; json: string } | undefined;
    const options = {
      runId: id,
      // Synced after the result: the disk's flush is not on the path of the run's end (README, "What is durable").
      journal: { path: entry.journal ?? this.store.logPath(id), mode: entry.mode ?? 'append', sync: 'after-result' as const, ...(sink === undefined ? {} : { sink }) },
      onEvent: (event: SchedulerEvent) => {
        if (event.type !== 'run-finished') return emit(eventJson(event));
        finished = { summary: event.summary, json: JSON.stringify(event.summary) };
        emit(runFinishedJson(event, finished.json));
      },
    };
    let run: Run;
    try {
      run = launcher === undefined ? this.scheduler.run(compiled ?? plan, { ...runOptions(this.config), ...options }) : launcher(options);
    } catch (error) {
      sink?.release();
      throw error;
    }
    // The log's file stays open for the journal's deferred sync, until it is done.
    if (sink !== undefined) void run.synced.finally(sink.release).catch(() => undefined);
    entry.run = run;
    // Not written now: on disk a queued run and a running one both mean "interrupted" to the
    // next process; the file is written again when the run ends.
    entry.meta = { ...entry.meta, state: 'running', startedAt: new Date().toISOString() };
    // An adopted run (an MCP tool's) goes on the tool's adapters: with --redis, the executor's too,
    // so it is followed like the others.
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
    } finally {
      unsample();
      unwatch();
      unfollow();
      this.#syncing(run);
    }
    const report = await buildReport(result, plan, this.config);
    entry.meta.byState = result.summary.byState;
    await this.#finish(entry, entry.cancelled === true ? 'cancelled' : result.ok ? 'succeeded' : 'failed', report, finished?.summary === report.summary ? finished.json : undefined);
  }

  /**
   * Records the end of a run in its log (the report, then the state) and closes it; only then
   * are subscribers told, so that a state they saw is the one a restart lists.
   */
  async #finish(entry: Entry, state: RunState, report?: StoredReport, summaryJson?: string): Promise<void> {
    // The state changes once the log holds it and the report: a reader who sees it over finds both.
    const meta: RunMeta = { ...entry.meta, state, finishedAt: new Date().toISOString() };
    if (entry.opening !== undefined) {
      await entry.opening;
      delete entry.opening;
    }
    const log = entry.log;
    delete entry.log;
    try {
      if (log !== undefined) {
        const stored = await log.finish(meta, report, summaryJson);
        if (stored.report !== undefined) entry.report = stored.report;
      }
    } finally {
      entry.meta = meta;
      entry.live = false;
      this.#keep(entry);
      for (const subscriber of entry.subscribers) subscriber.end(entry.meta.state);
      entry.subscribers.clear();
    }
  }

  /** Follows the deferred sync of a run's journal until it is done; a failure is told on stderr. */
  #syncing(run: Run): void {
    const synced = run.synced.then(
      () => undefined,
      (error: unknown) => {
        process.stderr.write(`fanout-server: a journal could not be synced and closed: ${(error as Error)?.message ?? String(error)}\n`);
      },
    );
    this.#syncs.add(synced);
    void synced.then(() => this.#syncs.delete(synced));
  }

  /** Keeps the events of a run that ended among the recent ones, dropping the oldest over the budget. */
  #keep(entry: Entry): void {
    const events = entry.events;
    if (events === undefined) return;
    entry.events = undefined;
    // Each character is at least a byte of UTF-8: a run over the budget in characters is dropped
    // before a buffer is made for it.
    let chars = 0;
    for (const event of events) chars += event.length;
    if (chars > RECENT_EVENT_BYTES) return;
    const packed = pack(events);
    if (packed.length > RECENT_EVENT_BYTES) return;
    entry.packed = packed;
    entry.kept = packed.length;
    this.#recent.add(entry);
    this.#recentBytes += packed.length;
    for (const oldest of this.#recent) {
      if (this.#recentBytes <= RECENT_EVENT_BYTES) break;
      this.#forget(oldest);
      delete oldest.packed;
    }
  }

  /** Takes a run out of the recent ones (its events stay where they are). */
  #forget(entry: Entry): void {
    if (!this.#recent.delete(entry)) return;
    this.#recentBytes -= entry.kept;
    entry.kept = 0;
  }

  /**
   * Stops taking runs; lets those going finish within `graceMs`, then cancels the rest and
   * waits for their journals; queued ones are left `interrupted` for the next process.
   */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const entry of this.#queue.splice(0)) {
      entry.meta = { ...entry.meta, state: 'interrupted' };
      const log = entry.log;
      delete entry.log;
      entry.live = false;
      delete entry.plan;
      delete entry.compiled;
      try {
        await log?.finish(entry.meta, undefined);
      } finally {
        for (const subscriber of entry.subscribers) subscriber.end('interrupted');
        entry.subscribers.clear();
      }
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
    // The journals of the runs that ended are on disk before the server says it stopped.
    await Promise.all(this.#syncs);
    await this.store.close();
  }
}

/** Event texts as one buffer: each one's UTF-8 and a newline (no event's JSON holds a newline). */
function pack(events: readonly string[]): Buffer {
  return events.length === 0 ? Buffer.alloc(0) : Buffer.from(`${events.join('\n')}\n`);
}

/** The event texts of {@link pack}'s buffer, or undefined without one. */
function unpack(packed: Buffer | undefined): string[] | undefined {
  if (packed === undefined) return undefined;
  return packed.length === 0 ? [] : packed.toString('utf8', 0, packed.length - 1).split('\n');
}

function notFound(id: string): ServerError {
  return new ServerError('FANOUT_SERVER_NOT_FOUND', `expected the id of a run of this server, got ${JSON.stringify(id)}`);
}
