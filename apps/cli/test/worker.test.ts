/**
 * `fanout worker` and `fanout run --redis` against the real Redis (TEST_REDIS_URL, which
 * .ci/run sets when it starts one; else the machine's 127.0.0.1:6379), each test under a key
 * prefix of its own, deleted afterwards.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearPrefix } from '@fanout/distributed';
import { eventually } from '@fanout/adapters/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, fanout, type Started, stableReport, start, writeDistributedFixture } from './helpers.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `fanout-cli-test-${randomUUID()}`;
let dir: string;
const workers: Started[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-cli-worker-'));
  await writeDistributedFixture(dir, 'distributed plan', 6);
});

afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.closed));
  await clearPrefix(REDIS_URL, prefix);
  await clearPrefix(REDIS_URL, `${prefix}-resume`);
  await clearPrefix(REDIS_URL, `${prefix}-watch`);
  await clearPrefix(REDIS_URL, `${prefix}-limit`);
  await rm(dir, { recursive: true, force: true });
});

describe('fanout worker and fanout run --redis', () => {
  it('runs a plan on 2 worker processes with the report of a run here, and the workers stop on SIGTERM', async () => {
    for (const kinds of [[], ['--kinds', 'glob,grep,read,bash']]) {
      const worker = start(['worker', '--redis', REDIS_URL, '--redis-prefix', prefix, ...kinds], { cwd: dir });
      workers.push(worker);
      expect(await eventually(() => worker.stderr().includes('serving'), 30_000)).toBe(true);
    }
    const remote = await fanout(['run', 'plan.json', '--redis', REDIS_URL, '--redis-prefix', prefix, '--json'], { cwd: dir });
    const here = await fanout(['run', 'plan.json', '--json'], { cwd: dir });
    expect(remote.code).toBe(1); // "missing" fails, both ways
    expect(here.code).toBe(1);
    expect(remote.stderr).toContain('workers on');
    expect(remote.stderr).toMatch(/glob 2, grep 2, read 2, bash 2/);
    expect(stableReport(remote.stdout)).toEqual(stableReport(here.stdout));

    for (const worker of workers) worker.child.kill('SIGTERM');
    for (const worker of workers) {
      expect(await worker.closed).toEqual({ code: 0, signal: null });
      expect(worker.stderr()).toMatch(/stopped; \d+ succeeded/);
    }
    const done = workers.map((w) =>
      Number(
        /stopped; (\d+) succeeded, (\d+) failed/
          .exec(w.stderr())!
          .slice(1)
          .reduce((a, b) => a + Number(b), 0),
      ),
    );
    expect(done.reduce((a, b) => a + b, 0)).toBe(5);
  }, 90_000);

  it('after kill -9 of fanout run, --resume finds the attempts it had queued instead of running them twice', async () => {
    const resumePrefix = `${prefix}-resume`;
    const worker = start(['worker', '--redis', REDIS_URL, '--redis-prefix', resumePrefix, '--kinds', 'bash'], { cwd: dir });
    workers.push(worker);
    expect(await eventually(() => worker.stderr().includes('serving'), 30_000)).toBe(true);
    // Commands with an effect (not idempotent): each appends its id to effects.log, then waits.
    const ids = ['c1', 'c2', 'c3'];
    await writeFile(join(dir, 'effects.json'), JSON.stringify({ operations: ids.map((id) => ({ id, kind: 'bash', input: { command: ['sh', '-c', `echo ${id} >> effects.log; sleep 2`] } })) }));
    const args = ['run', 'effects.json', '--redis', REDIS_URL, '--redis-prefix', resumePrefix, '--journal', 'effects.ndjson', '--json'];
    const first = start(args, { cwd: dir });
    const effects = async (): Promise<string[]> => (await readFile(join(dir, 'effects.log'), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
    expect(await eventually(async () => (await effects()).length === ids.length, 30_000)).toBe(true);
    first.child.kill('SIGKILL');
    await first.closed;
    const resumed = await fanout([...args, '--resume'], { cwd: dir });
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as { totals: { byState: Record<string, number> } };
    expect(report.totals.byState.succeeded).toBe(ids.length);
    // Each command ran once: the resumed run found the jobs the killed one had queued.
    expect((await effects()).sort()).toEqual(ids);
    worker.child.kill('SIGTERM');
    expect(await worker.closed).toEqual({ code: 0, signal: null });
  }, 90_000);

  it("has twice a kind's configured limit queued or running, and at most the limit running across 2 workers", async () => {
    const limitPrefix = `${prefix}-limit`;
    const here = join(dir, 'limit');
    await mkdir(here);
    await writeFile(join(here, 'fanout.config.json'), JSON.stringify({ limits: { bash: { max: 2, limiter: 'fixed' } } }));
    // Each command makes a file while it runs and appends how many it sees (its own included).
    const script = 'mkdir -p running; touch "running/$0"; ls running | wc -l >> seen.log; sleep 0.3; rm "running/$0"';
    await writeFile(join(here, 'gauge.json'), JSON.stringify({ operations: Array.from({ length: 10 }, (_, i) => ({ id: `g${i}`, kind: 'bash', input: { command: ['sh', '-c', script, `g${i}`] } })) }));
    // 2 workers of 4 slots each: 8 could run at once if the limit across workers did not hold.
    for (let i = 0; i < 2; i++) {
      const worker = start(['worker', '--redis', REDIS_URL, '--redis-prefix', limitPrefix, '--kinds', 'bash', '--concurrency', '4'], { cwd: here });
      workers.push(worker);
      expect(await eventually(() => worker.stderr().includes('serving'), 30_000)).toBe(true);
    }
    const run = await fanout(['run', 'gauge.json', '--redis', REDIS_URL, '--redis-prefix', limitPrefix, '--ndjson'], { cwd: here });
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; kind?: string; inflight?: number; limit?: number });
    const started = events.filter((event) => event.type === 'op-started' && event.kind === 'bash');
    expect(started).toHaveLength(10);
    // The scheduler had 4 commands with the workers at once (queued or running)…
    expect(Math.max(...started.map((event) => event.inflight ?? 0))).toBe(4);
    expect(started.every((event) => event.limit === 4)).toBe(true);
    // …and the workers ran at most 2 at once.
    const seen = (await readFile(join(here, 'seen.log'), 'utf8')).trim().split('\n').map(Number);
    expect(seen).toHaveLength(10);
    expect(Math.max(...seen)).toBeLessThanOrEqual(2);
    for (const worker of workers.slice(-2)) worker.child.kill('SIGTERM');
    for (const worker of workers.slice(-2)) expect(await worker.closed).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('refuses a worker without --redis, and a run whose Redis does not answer', async () => {
    const usage = await fanout(['worker'], { cwd: dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('expected --redis URL');
    const badKind = await fanout(['worker', '--redis', REDIS_URL, '--kinds', 'glob,nope'], { cwd: dir });
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toContain('"nope"');
    const away = await fanout(['run', 'plan.json', '--redis', 'redis://127.0.0.1:1', '--json'], { cwd: dir });
    expect(away.code).toBe(2);
    expect(away.stderr).toContain('FANOUT_REDIS_UNAVAILABLE');
    // A worker without its Redis says so once and exits, rather than retrying for ever.
    const lonely = await fanout(['worker', '--redis', 'redis://127.0.0.1:1'], { cwd: dir, timeoutMs: 20_000 });
    expect(lonely.code).toBe(2);
    expect(lonely.stderr.trim().split('\n')).toEqual([expect.stringContaining('expected Redis to answer at redis://127.0.0.1:1/0')]);
    expect(lonely.stderr).toContain('FANOUT_REDIS_UNAVAILABLE');
  }, 60_000);

  it('says when the workers serving a kind change while the run goes', async () => {
    const watchPrefix = `${prefix}-watch`;
    // Waits until the test lets it end, so that it outlasts the count that sees its worker come.
    await writeFile(join(dir, 'gated.json'), JSON.stringify({ operations: [{ id: 'gated', kind: 'bash', input: { command: ['sh', '-c', 'while [ ! -e go ]; do sleep 0.05; done; echo went'] } }] }));
    const run = start(['run', 'gated.json', '--redis', REDIS_URL, '--redis-prefix', watchPrefix, '--json'], { cwd: dir });
    expect(await eventually(() => run.stderr().includes('no worker serves bash yet'), 30_000)).toBe(true);
    const worker = start(['worker', '--redis', REDIS_URL, '--redis-prefix', watchPrefix, '--kinds', 'bash'], { cwd: dir });
    workers.push(worker);
    expect(await eventually(() => run.stderr().includes('workers now: bash 1'), 30_000)).toBe(true);
    await writeFile(join(dir, 'go'), '');
    expect(await run.closed).toEqual({ code: 0, signal: null });
    // Only the change: the counts at start are on the "workers on" line.
    expect(run.stderr().match(/workers now:/g)?.length).toBe(1);

    // On a terminal (a real pty, from script(1)), the live view shows them on the kind's line.
    await writeFile(join(dir, 'gated-live.json'), JSON.stringify({ operations: [{ id: 'gated', kind: 'bash', input: { command: ['sh', '-c', 'while [ ! -e go-live ]; do sleep 0.05; done'] } }] }));
    const live = spawn('script', ['-qfec', `${process.execPath} ${BIN} run gated-live.json --redis ${REDIS_URL} --redis-prefix ${watchPrefix}`, '/dev/null'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    live.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d));
    const liveClosed = new Promise<number | null>((resolve) => live.once('close', (code) => resolve(code)));
    expect(await eventually(() => /bash\s.*in flight\s+1\/\d+.*\b1 worker\b/.test(screen), 30_000)).toBe(true);
    await writeFile(join(dir, 'go-live'), '');
    expect(await liveClosed).toBe(0);

    worker.child.kill('SIGTERM');
    expect(await worker.closed).toEqual({ code: 0, signal: null });
  }, 60_000);
});
