import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { createScheduler, defineAdapter, type SchedulerEvent } from '@fanout/scheduler';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMonitor } from '../src/index.js';

/** Resolves when `predicate` holds, checking every 50 ms; rejects after `ms` with `what`. */
async function waitFor(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`expected ${what} within ${ms / 1000} s, it did not happen`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.runIf(process.platform === 'linux')('real CPU pressure', () => {
  it('pauses the CPU pool while spinners hold every core, keeps the network pool going, and grows back after', { timeout: 200_000 }, async (context) => {
    // Slow answers and slow greps keep this process's own load small: the spinners must be
    // what pegs the machine.
    const server: Server = createServer((_req, res) => setTimeout(() => res.end('ok'), 50));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const spinners: ChildProcess[] = [];
    const monitor = createMonitor({ intervalMs: 200, signals: { cpu: { sustainMs: 400, releaseMs: 400 } } });
    const grep = defineAdapter({
      kind: 'grep',
      input: z.object({ ms: z.number() }),
      defaults: { maxConcurrency: 16, optimalConcurrency: 8, idempotent: true },
      run: ({ ms }) => new Promise((resolve) => setTimeout(resolve, ms)),
    });
    const fetch = defineAdapter({
      kind: 'fetch',
      input: z.object({ path: z.string() }),
      defaults: { maxConcurrency: 4, idempotent: true },
      run: ({ path }, ctx) =>
        new Promise<string>((resolve, reject) => {
          get({ host: '127.0.0.1', port, path, signal: ctx.signal, agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(String(res.statusCode)));
          }).on('error', reject);
        }),
    });
    const scheduler = createScheduler({ adapters: [grep, fetch], pressure: monitor });
    const cpu: number[] = [];
    monitor.on((event) => {
      if (event.type === 'sample' && event.sample.cpu !== undefined) cpu.push(event.sample.cpu.utilisation);
    });
    const recent = () =>
      cpu
        .slice(-10)
        .map((u) => `${Math.round(u * 100)}%`)
        .join(' ');
    // AIMD for the CPU pool: no probes of its own, so the pressure cut always shows as a limit change.
    const run = scheduler.run(
      {
        operations: [
          ...Array.from({ length: 20_000 }, (_, i) => ({ id: `g${i}`, kind: 'grep', input: { ms: 50 } })),
          ...Array.from({ length: 20_000 }, (_, i) => ({ id: `f${i}`, kind: 'fetch', input: { path: `/${i}` } })),
        ],
      },
      { limits: { grep: { limiter: 'aimd' } } },
    );
    const events: SchedulerEvent[] = [];
    run.on((event) => {
      if (event.type !== 'op-queued' && event.type !== 'op-started' && !(event.type === 'op-finished' && event.kind === 'grep')) events.push(event);
    });
    let grepStarted = 0;
    let fetchDone = 0;
    run.on((event) => {
      if (event.type === 'op-started' && event.kind === 'grep') grepStarted++;
      if (event.type === 'op-finished' && event.kind === 'fetch') fetchDone++;
    });
    // Pressure events on grep after event `from` (the machine may have paused it before).
    const pressure = (admit: boolean, from = 0) => events.find((e, i) => i >= from && e.type === 'pressure-changed' && e.kind === 'grep' && e.admit === admit);
    const admitted = () => {
      const last = events.findLast((e) => e.type === 'pressure-changed' && e.kind === 'grep');
      return last === undefined || (last.type === 'pressure-changed' && last.admit);
    };
    try {
      await waitFor(() => grepStarted > 50 && fetchDone > 20, 10_000, 'both pools to be running');
      // The machine is shared: start from a quiet moment, so that the pause is the spinners' doing.
      const quiet = () => cpu.length >= 3 && cpu.slice(-3).every((u) => u < 0.7) && admitted();
      try {
        await waitFor(quiet, 20_000, 'a quiet moment (3 samples under 70% CPU)');
      } catch {
        context.skip(`the machine stayed busy without the spinners (last CPU samples: ${recent()}): other work holds the CPU`);
      }
      const before = events.length;
      for (let i = 0; i < cpus().length; i++) spinners.push(spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
      await waitFor(() => pressure(false, before) !== undefined, 20_000, 'the CPU pool to be paused');
      const paused = pressure(false, before)!;
      expect(paused.type === 'pressure-changed' && paused.reason).toMatch(/^cpu \d+% ≥ 90% for 0.4 s$/);
      expect(events.find((e) => e.type === 'pressure-changed' && e.kind === 'fetch')).toBeUndefined();
      const grepAtPause = grepStarted;
      const fetchAtPause = fetchDone;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(grepStarted).toBe(grepAtPause);
      expect(fetchDone).toBeGreaterThan(fetchAtPause + 10);
      // The cut comes with the pause, in the same reading.
      const cut = events.find(
        (e, i): e is Extract<SchedulerEvent, { type: 'limit-changed' }> => i >= before && e.type === 'limit-changed' && e.kind === 'grep' && e.reason === (paused.type === 'pressure-changed' && paused.reason),
      );
      expect(cut).toBeDefined();
      expect(cut!.to).toBeLessThan(cut!.from);

      for (const spinner of spinners.splice(0)) spinner.kill('SIGKILL');
      const after = events.indexOf(paused);
      await waitFor(() => pressure(true, after) !== undefined, 60_000, 'the CPU pool to be admitted again once the spinners stopped').catch((error: Error) => {
        throw new Error(`${error.message} (last CPU samples: ${recent()}; it waits for 0.4 s under 80%)`);
      });
      const resumed = pressure(true, after)!;
      await waitFor(() => events.some((e) => e.type === 'limit-changed' && e.kind === 'grep' && e.seq > resumed.seq && e.to > cut!.to), 20_000, 'the CPU pool’s limit to grow back');
      expect(grepStarted).toBeGreaterThan(grepAtPause);
    } finally {
      for (const spinner of spinners) spinner.kill('SIGKILL');
      run.cancel();
      await run.result.catch(() => undefined);
      monitor.stop();
      server.closeAllConnections();
      server.close();
    }
  });
});
