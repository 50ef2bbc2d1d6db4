import type { ResourceSample } from '@fanout/monitor';
import type { Run, SchedulerEvent } from '@fanout/scheduler';
import type { Paint } from '../color.js';

interface KindLine {
  done: number;
  total: number;
  inflight: number;
  limit: number;
  admit: boolean;
  pressure: string | undefined;
  rate: number;
}

/**
 * Shows a run while it goes. On a terminal: a live view, a header with the machine's load (as
 * the monitor samples it) and a line per kind with done / total, in flight / limit, rate, the
 * workers serving it (with --redis) and why the kind is paused when resource pressure holds it
 * back, redrawn in place. Elsewhere: plain lines (a status line every few seconds, every failure
 * as it happens, and the workers' counts when they change).
 */
export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #paint: Paint;
  readonly #live: boolean;
  readonly #run: Run;
  readonly #pressure = new Map<string, string | undefined>();
  readonly #lastDone = new Map<string, number>();
  #lastAt = 0;
  #drawn = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastPlain = 0;
  /** With --redis: the workers serving each kind, as last counted. */
  #workers: Record<string, number> | undefined;

  readonly #machine: (() => ResourceSample | undefined) | undefined;

  /** `machine` gives the latest sample of the machine, shown in the header. */
  constructor(run: Run, stream: NodeJS.WriteStream, paint: Paint, machine?: () => ResourceSample | undefined) {
    this.#run = run;
    this.#machine = machine;
    this.#stream = stream;
    this.#paint = paint;
    this.#live = stream.isTTY === true && process.env.TERM !== 'dumb';
    run.on((event) => this.#onEvent(event));
    this.#lastAt = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.#live ? 100 : 2000);
    this.#timer.unref();
  }

  /** Stops drawing and clears the live view (the summary is printed after). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#live) this.#clear();
  }

  /**
   * With --redis: how many workers serve each kind now. The live view shows it on each kind's
   * line; elsewhere a line says what changed since the counts printed as the run started.
   */
  workers(counts: Record<string, number>): void {
    const before = this.#workers;
    this.#workers = counts;
    if (this.#live || this.#timer === undefined || before === undefined) return;
    const changed = Object.keys(counts).some((kind) => counts[kind] !== before[kind]);
    if (!changed) return;
    const parts = Object.entries(counts).map(([kind, n]) => (n === 0 ? this.#paint.yellow(`${kind} 0`) : `${kind} ${n}`));
    this.#stream.write(`${this.#paint.dim('workers now:')} ${parts.join(', ')}\n`);
  }

  #onEvent(event: SchedulerEvent): void {
    if (event.type === 'pressure-changed') this.#pressure.set(event.kind, event.admit ? undefined : (event.reason ?? 'paused'));
    if (event.type === 'op-finished' && event.state !== 'succeeded' && !this.#live && event.state !== 'skipped' && event.state !== 'cancelled') {
      this.#stream.write(`${this.#paint.red(event.state)} ${event.id} (${event.kind}): ${event.error?.message ?? ''}\n`);
    }
  }

  #lines(): string[] {
    const snapshot = this.#run.snapshot();
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.#lastAt) / 1000);
    const lines: KindLine[] = [];
    const names = Object.keys(snapshot.kinds);
    for (const kind of names) {
      const k = snapshot.kinds[kind]!;
      const before = this.#lastDone.get(kind) ?? 0;
      this.#lastDone.set(kind, k.done);
      lines.push({ done: k.done, total: k.total, inflight: k.inflight, limit: k.limit, admit: k.admit, pressure: this.#pressure.get(kind), rate: (k.done - before) / seconds });
    }
    this.#lastAt = now;
    const width = Math.max(4, ...names.map((n) => n.length));
    return lines.map((line, i) => {
      const pct = line.total === 0 ? 100 : Math.floor((line.done / line.total) * 100);
      const state = line.admit ? '' : this.#paint.yellow(` paused: ${line.pressure ?? 'pressure'}`);
      const served = this.#live ? this.#workers?.[names[i]!] : undefined;
      const workers = served === undefined ? '' : served === 0 ? this.#paint.yellow('  no worker') : `  ${served} worker${served === 1 ? '' : 's'}`;
      return `${names[i]!.padEnd(width)}  ${`${line.done}/${line.total}`.padStart(13)} ${String(pct).padStart(3)}%  in flight ${`${line.inflight}/${line.limit}`.padStart(7)}  ${`${line.rate.toFixed(0)}/s`.padStart(8)}${workers}${state}`;
    });
  }

  /** The machine as the monitor last saw it: `cpu 45% · memory 61% · loop p99 3 ms`. */
  #resources(): string {
    const sample = this.#machine?.();
    if (sample === undefined) return '';
    const parts: string[] = [];
    const pct = (share: number): string => `${Math.round(share * 100)}%`;
    if (sample.cpu !== undefined) parts.push(`cpu ${pct(sample.cpu.utilisation)}`);
    if (sample.memory !== undefined) parts.push(`memory ${pct(sample.memory.utilisation)}`);
    if (sample.disk !== undefined) parts.push(`disk ${pct(sample.disk.utilisation)}`);
    if (sample.eventLoop !== undefined) parts.push(`loop p99 ${sample.eventLoop.delayP99Ms.toFixed(0)} ms`);
    return parts.join(' · ');
  }

  #tick(): void {
    const lines = this.#lines();
    const resources = this.#resources();
    if (this.#live) {
      this.#clear();
      const header = this.#paint.dim(`fanout · ${(this.#run.snapshot().time / 1000).toFixed(1)} s${resources === '' ? '' : ` · ${resources}`} · Ctrl-C to stop`);
      this.#stream.write(`${header}\n${lines.join('\n')}\n`);
      this.#drawn = lines.length + 1;
      return;
    }
    const now = performance.now();
    if (now - this.#lastPlain < 1900) return;
    this.#lastPlain = now;
    if (resources !== '') this.#stream.write(`${this.#paint.dim(`${(this.#run.snapshot().time / 1000).toFixed(1)} s · ${resources}`)}\n`);
    for (const line of lines) this.#stream.write(`${line}\n`);
  }

  #clear(): void {
    if (this.#drawn === 0) return;
    // Up n lines, to column 0, clear to the end of the screen.
    this.#stream.write(`\u001b[${this.#drawn}F\u001b[0J`);
    this.#drawn = 0;
  }
}
