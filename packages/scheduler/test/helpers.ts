import { z } from 'zod';
import { createScheduler, defineAdapter, type Adapter, type RunOptions, type SchedulerEvent, type SchedulerOptions } from '../src/index.js';
import { ManualClock } from '../src/testing.js';

/** What a scripted operation does on each attempt, in order; the last entry repeats. */
export type Step =
  | { ok: number; value?: unknown } // succeed after `ok` ms
  | { fail: number; error: 'retryable' | 'drop' | 'fatal'; retryAfterMs?: number } // fail after `fail` ms
  | { hang: true }; // never settle unless aborted

export const scriptInput = z.object({
  steps: z.array(z.any()).min(1),
  tag: z.unknown().optional(),
});

export interface Trace {
  /** Every start and end, in order. */
  log: { at: number; type: 'start' | 'end'; id: string; kind: string; attempt: number }[];
  /** Max in flight per kind seen at any instant. */
  peak: Map<string, number>;
  inflight: Map<string, number>;
  /** Signals seen aborted: id → reason. */
  aborted: Map<string, unknown>;
  calls: Map<string, number>;
}

export function newTrace(): Trace {
  return { log: [], peak: new Map(), inflight: new Map(), aborted: new Map(), calls: new Map() };
}

export class ScriptError extends Error {
  constructor(
    readonly kindOfError: 'retryable' | 'drop' | 'fatal',
    readonly retryAfterMs?: number,
  ) {
    super(`scripted ${kindOfError} failure`);
    this.name = 'ScriptError';
  }
}

/**
 * An adapter whose attempts follow a script on a manual clock, recording what the scheduler
 * does to it: starts, ends, concurrency, aborts.
 */
export function scriptedAdapter(kind: string, clock: ManualClock, trace: Trace, defaults: Adapter['defaults'] = {}): Adapter<z.infer<typeof scriptInput>, unknown> {
  return defineAdapter({
    kind,
    input: scriptInput,
    defaults: { maxConcurrency: 4, idempotent: true, ...defaults },
    classify: (error) => (error instanceof ScriptError ? (error.retryAfterMs === undefined ? error.kindOfError : { class: error.kindOfError, retryAfterMs: error.retryAfterMs }) : 'fatal'),
    run: (input, ctx) => {
      const step = (input.steps[Math.min(ctx.attempt - 1, input.steps.length - 1)] ?? input.steps.at(-1)) as Step;
      const now = clock.now();
      trace.calls.set(ctx.id, (trace.calls.get(ctx.id) ?? 0) + 1);
      const inflight = (trace.inflight.get(kind) ?? 0) + 1;
      trace.inflight.set(kind, inflight);
      trace.peak.set(kind, Math.max(trace.peak.get(kind) ?? 0, inflight));
      trace.log.push({ at: now, type: 'start', id: ctx.id, kind, attempt: ctx.attempt });
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        trace.inflight.set(kind, (trace.inflight.get(kind) ?? 1) - 1);
        trace.log.push({ at: clock.now(), type: 'end', id: ctx.id, kind, attempt: ctx.attempt });
      };
      return new Promise((resolve, reject) => {
        const signal = ctx.signal;
        let timer: unknown;
        const onAbort = (): void => {
          trace.aborted.set(ctx.id, signal.reason);
          if (timer !== undefined) clock.clearTimeout(timer);
          end();
          reject(signal.reason);
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        if ('hang' in step) return;
        const ms = 'ok' in step ? step.ok : step.fail;
        timer = clock.setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          end();
          if ('ok' in step) resolve(step.value ?? { id: ctx.id, tag: input.tag });
          else reject(new ScriptError(step.error, step.retryAfterMs));
        }, ms);
      });
    },
  });
}

export interface Harness {
  clock: ManualClock;
  trace: Trace;
  events: SchedulerEvent[];
  scheduler: ReturnType<typeof createScheduler>;
  /** Runs a plan to the end on the manual clock. */
  run(plan: unknown, options?: RunOptions): Promise<Awaited<ReturnType<ReturnType<typeof createScheduler>['execute']>>>;
}

/** A scheduler with scripted adapters of the given kinds on a manual clock. */
export function harness(kinds: Record<string, Adapter['defaults']> = { work: {} }, options: Partial<SchedulerOptions> = {}): Harness {
  const clock = new ManualClock();
  const trace = newTrace();
  const events: SchedulerEvent[] = [];
  const adapters = Object.entries(kinds).map(([kind, defaults]) => scriptedAdapter(kind, clock, trace, defaults));
  let n = 0;
  const scheduler = createScheduler({ adapters: [...adapters, ...((options.adapters as Adapter[] | undefined) ?? [])], clock, random: () => 0.5, ...withoutAdapters(options) });
  return {
    clock,
    trace,
    events,
    scheduler,
    run: (plan, runOptions = {}) => {
      const run = scheduler.run(plan, { runId: `run-${++n}`, ...runOptions });
      run.on((event) => events.push(event));
      return clock.runUntil(run.result);
    },
  };
}

function withoutAdapters(options: Partial<SchedulerOptions>): Omit<Partial<SchedulerOptions>, 'adapters'> {
  const { adapters: _ignored, ...rest } = options;
  void _ignored;
  return rest;
}

/** A plan operation whose script is `steps`. */
export function op(id: string, steps: Step[] | Step, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, kind: 'work', input: { steps: Array.isArray(steps) ? steps : [steps] }, ...extra };
}

/** Start and end times of each id's attempts from a trace. */
export function spans(trace: Trace): Map<string, { start: number; end: number }[]> {
  const out = new Map<string, { start: number; end: number }[]>();
  const open = new Map<string, number>();
  for (const entry of trace.log) {
    const key = `${entry.id}#${entry.attempt}`;
    if (entry.type === 'start') open.set(key, entry.at);
    else {
      const list = out.get(entry.id) ?? [];
      list.push({ start: open.get(key)!, end: entry.at });
      out.set(entry.id, list);
    }
  }
  return out;
}
