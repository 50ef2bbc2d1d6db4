/**
 * One run's use of its journal (see journal.ts for the file format): what the journal lets the
 * run skip when resuming, and one record per terminal state, the run's start and its end.
 * The engine calls it; the decisions live here so the state machine only asks "may I skip
 * this operation?" and "record this end".
 */
import { FanoutError, type SchedulerErrorCode, serializeError } from './errors.js';
import type { TerminalState } from './events.js';
import { carryOver, fingerprint, JournalWriter, readJournal, SinkWriter, type JournalMode, type JournalOpRecord, type JournalRunRecord, type JournalSink, type JournalState, type RecordWriter } from './journal.js';
import { Status, type OpTable } from './op-table.js';
import type { RunSummary } from './summary.js';

/** What the journal decides for one operation: end it now with this status and value. */
export interface JournalDecision {
  status: number;
  value: unknown;
}

export class RunJournal {
  readonly #path: string;
  readonly #mode: JournalMode;
  readonly #runId: string;
  readonly #ops: OpTable;
  readonly #sync: 'before-result' | 'after-result';
  readonly #sink: JournalSink | undefined;
  #state: JournalState | undefined;
  #writer: RecordWriter | undefined;

  constructor(options: { path: string; mode: JournalMode; sync?: 'before-result' | 'after-result' | undefined; sink?: JournalSink | undefined }, runId: string, ops: OpTable) {
    this.#path = options.path;
    this.#mode = options.mode;
    this.#sync = options.sync ?? 'before-result';
    this.#sink = options.sink;
    this.#runId = runId;
    this.#ops = ops;
  }

  /** Reads the journal (unless appending only) and opens it for appending, or takes the caller's sink. */
  async open(): Promise<void> {
    if (this.#mode !== 'append') this.#state = await readJournal(this.#path);
    this.#writer = this.#sink === undefined ? new JournalWriter(this.#path) : new SinkWriter(this.#sink, this.#path);
  }

  /** What the journal lets the first `count` operations skip: `[operation, output, status]` triples. */
  carryOver(count: number): [number, unknown, number][] {
    const carried: [number, unknown, number][] = [];
    if (this.#state === undefined) return carried;
    for (let i = 0; i < count; i++) {
      const decision = this.decision(i);
      if (decision !== undefined) carried.push([i, decision.value, decision.status]);
    }
    return carried;
  }

  /** Whether operation `i` ends now, from its journal record: resumed, or skipped (`retry-failed`). */
  decision(i: number): JournalDecision | undefined {
    if (this.#state === undefined) return undefined;
    const decision = carryOver(this.#state.get(this.#ops.ids[i]!), this.#fingerprint(i), this.#mode);
    if (decision === undefined) return undefined;
    if (decision.resume) {
      this.#ops.resumed.add(i);
      return { status: Status.Succeeded, value: decision.output };
    }
    return { status: Status.Skipped, value: new FanoutError<SchedulerErrorCode>('FANOUT_NOT_RETRIED', decision.why) };
  }

  #fingerprint(i: number): string {
    const spec = this.#ops.spec(i);
    // The input as written (children: as resolved from their item), never as resolved from
    // upstream outputs, so that a resumed run computes the same fingerprint before running.
    return fingerprint(spec.kind, spec.forEach === undefined ? spec.input : [spec.input, spec.forEach]);
  }

  started(record: Omit<JournalRunRecord, 'type' | 'version' | 'runId'>): void {
    this.#writer!.append({ type: 'run', version: 1, runId: this.#runId, ...record });
  }

  /** Records the terminal state of operation `i` (of `kind`). */
  record(i: number, kind: string, state: TerminalState, value: unknown): void {
    const ops = this.#ops;
    const record: JournalOpRecord = {
      type: 'op',
      runId: this.#runId,
      id: ops.ids[i]!,
      kind,
      state,
      attempts: ops.attempts[i]!,
      fingerprint: this.#fingerprint(i),
      durationMs: ops.duration[i]!,
    };
    if (state === 'succeeded') {
      if (value !== undefined) record.output = value;
    } else if (value !== undefined) record.error = serializeError(value);
    const parent = ops.parent[i]! - 1;
    if (parent >= 0) record.parent = ops.ids[parent]!;
    this.#writer!.append(record);
  }

  /**
   * Records the end of the run, then writes everything out and closes the file; resolves once
   * it is synced, or with `sync: "after-result"` once it is written, `synced` resolving after.
   */
  async end(summary: RunSummary): Promise<void> {
    this.#writer!.append({ type: 'end', runId: this.#runId, wallMs: summary.wallMs, byState: summary.byState });
    if (this.#sync === 'before-result') {
      await this.#writer!.close();
      return;
    }
    const { written, synced } = this.#writer!.closeDeferred();
    this.synced = synced;
    await written;
  }

  /** For a run ended by an error of its own (no `end` record): writes what is pending, best effort; never rejects. */
  abandon(): Promise<void> {
    return this.#writer?.abandon() ?? Promise.resolve();
  }

  /** With `sync: "after-result"`: resolves once the file is synced and closed (set by `end`). */
  synced: Promise<void> | undefined;
}
