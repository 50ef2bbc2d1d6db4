/**
 * Runs survive the server: after `kill -9` every run is listed with its true state, and an
 * interrupted one resumes from its journal without running again what succeeded. Real
 * child processes: the server, and the commands its plan runs.
 */
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { api, readEvents, startServer, tempDir, type Served } from './helpers.js';

let temp: { dir: string; remove: () => Promise<void> };
const servers: Served[] = [];

beforeEach(async () => {
  temp = await tempDir();
});

afterEach(async () => {
  // The gate lets any command still waiting end.
  await writeFile(join(temp.dir, 'gate'), '');
  for (const served of servers.splice(0)) if (served.child.exitCode === null && served.child.signalCode === null) await served.stop();
  await temp.remove();
});

async function serve(args: string[] = []): Promise<Served> {
  const served = await startServer(['--allow-shell', '--data-dir', join(temp.dir, 'data'), ...args], temp.dir);
  servers.push(served);
  return served;
}

/** Three commands that succeed at once, three that wait for `gate` (each logs every start). */
function gatedPlan(): unknown {
  const fast = [1, 2, 3].map((i) => ({ id: `fast-${i}`, kind: 'bash', input: { command: ['sh', '-c', `echo fast-${i} >> ran.log`], cwd: temp.dir } }));
  const slow = [1, 2, 3].map((i) => ({
    id: `slow-${i}`,
    kind: 'bash',
    input: { command: ['sh', '-c', `echo slow-${i} >> ran.log; while [ ! -f gate ]; do sleep 0.02; done`], cwd: temp.dir },
    timeoutMs: 60_000,
  }));
  return { name: 'gated', operations: [...fast, ...slow] };
}

/** Reads the run's events until its three fast commands succeeded and its three slow ones are going. */
async function untilGated(url: string, id: string): Promise<void> {
  let succeeded = 0;
  let started = 0;
  await readEvents(url, id, {
    until: (event) => {
      if (event.event !== 'event') return false;
      const data = JSON.parse(event.data);
      if (data.type === 'op-finished' && data.state === 'succeeded') succeeded++;
      if (data.type === 'op-started' && data.id.startsWith('slow')) started++;
      return succeeded === 3 && started === 3;
    },
  });
}

describe('durable runs', () => {
  it('lists a run interrupted by kill -9 as interrupted, and resumes it without rerunning its successes', async () => {
    const first = await serve();
    const posted = await api(first.url, '/v1/runs', { method: 'POST', json: gatedPlan() });
    expect(posted.status).toBe(202);
    const id: string = posted.body.id;
    await untilGated(first.url, id);
    // The journal (its records are in the run's log) is written as operations end; let the last success reach it.
    const runLog = join(temp.dir, 'data', 'runs', `${id}.ndjson`);
    const successes = async () => (await readFile(runLog, 'utf8')).split('\n').filter((l) => l.startsWith('{"type":"op",') && l.includes('"state":"succeeded"')).length;
    for (let i = 0; i < 200 && (await successes()) < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await successes()).toBe(3);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = await serve();
    const listed = await api(second.url, '/v1/runs');
    expect(listed.body.runs).toEqual([expect.objectContaining({ id, state: 'interrupted', operations: 6 })]);
    await writeFile(join(temp.dir, 'gate'), '');
    const resumed = await api(second.url, `/v1/runs/${id}/resume`, { method: 'POST' });
    expect(resumed.status).toBe(202);
    const events = await readEvents(second.url, id);
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ state: 'succeeded' });
    const run = await api(second.url, `/v1/runs/${id}`);
    expect(run.body).toMatchObject({ state: 'succeeded', starts: 2 });
    expect(run.body.summary.resumed).toBe(3);
    const log = (await readFile(join(temp.dir, 'ran.log'), 'utf8')).trim().split('\n');
    // Each fast command ran once; the slow ones were started again by the resume.
    for (const i of [1, 2, 3]) expect(log.filter((line) => line === `fast-${i}`)).toHaveLength(1);
    for (const i of [1, 2, 3]) expect(log.filter((line) => line === `slow-${i}`).length).toBe(2);
    // The stream holds both starts' events, ids going on from where the first stopped.
    const runStarts = events.filter((e) => e.event === 'event' && JSON.parse(e.data).type === 'run-started');
    expect(runStarts).toHaveLength(2);
    expect(JSON.parse(runStarts[1]!.data).resumed).toBe(3);
  });

  it('resumes a live event stream with Last-Event-ID: nothing missed, nothing twice', async () => {
    const served = await serve();
    const { body } = await api(served.url, '/v1/runs', { method: 'POST', json: gatedPlan() });
    // Disconnect after the first four events, while the run is still going.
    const first = await readEvents(served.url, body.id, { until: (e) => e.id === '4' });
    expect(first.map((e) => e.id)).toEqual(['1', '2', '3', '4']);
    await untilGated(served.url, body.id);
    const rest = readEvents(served.url, body.id, { lastEventId: '4' });
    await writeFile(join(temp.dir, 'gate'), '');
    const after = await rest;
    const ids = after.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    expect(ids[0]).toBe(5);
    expect(ids).toEqual(ids.map((_, i) => i + 5));
    expect(after.at(-1)).toMatchObject({ event: 'end', data: JSON.stringify({ state: 'succeeded' }) });
    // The whole stream, read again, is the two parts end to end.
    const all = await readEvents(served.url, body.id);
    expect(all.filter((e) => e.id !== undefined).map((e) => e.data)).toEqual([...first, ...after].filter((e) => e.id !== undefined).map((e) => e.data));
  });

  it('cancels a running run on DELETE, and a restart lists it cancelled', async () => {
    const first = await serve();
    const { body } = await api(first.url, '/v1/runs', { method: 'POST', json: gatedPlan() });
    await untilGated(first.url, body.id);
    const cancelled = await api(first.url, `/v1/runs/${body.id}`, { method: 'DELETE' });
    expect(cancelled.status).toBe(202);
    const events = await readEvents(first.url, body.id);
    expect(JSON.parse(events.at(-1)!.data)).toEqual({ state: 'cancelled' });
    await first.stop();
    const second = await serve();
    const run = await api(second.url, `/v1/runs/${body.id}`);
    expect(run.body.state).toBe('cancelled');
    expect(run.body.summary.byState.cancelled).toBe(3);
  });

  it('on SIGTERM lets runs go on for the grace period, then cancels them with a complete journal', async () => {
    const first = await serve(['--grace', '100ms']);
    const { body } = await api(first.url, '/v1/runs', { method: 'POST', json: gatedPlan() });
    await untilGated(first.url, body.id);
    const exit = await first.stop();
    expect(exit.code).toBe(0);
    // One file: the run's log holds the journal's records among its events.
    const log = await readFile(join(temp.dir, 'data', 'runs', `${body.id}.ndjson`));
    await expect(readFile(join(temp.dir, 'data', 'runs', `${body.id}.journal.ndjson`))).rejects.toMatchObject({ code: 'ENOENT' });
    const journal = log
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((r) => r.type === 'run' || r.type === 'op' || r.type === 'end');
    expect(journal.filter((r) => r.type === 'op')).toHaveLength(6);
    expect(journal.at(-1)).toMatchObject({ type: 'end', byState: { succeeded: 3, cancelled: 3 } });
    // The run's log ends with its state, which says where its report is.
    const last = JSON.parse(log.toString('utf8').trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ type: 'run:meta', meta: { state: 'cancelled' } });
    const report = JSON.parse(log.subarray(last.report.at, last.report.at + last.report.bytes).toString('utf8'));
    expect(report).toMatchObject({ type: 'run:report', report: { summary: { byState: { succeeded: 3, cancelled: 3 } } } });
  });

  it('while shutting down refuses a new run with 503 FANOUT_SERVER_SHUTTING_DOWN, and lets the run going finish within the grace period', async () => {
    const served = await serve(['--grace', '60s']);
    const { body } = await api(served.url, '/v1/runs', { method: 'POST', json: gatedPlan() });
    await untilGated(served.url, body.id);
    // A request begun before the signal (its request line sent, not its headers): its
    // connection is busy, so closing the listener does not drop it, and its route runs after.
    const socket = connect(served.port, '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
    socket.write('POST /v1/runs HTTP/1.1\r\n');
    /** Polls `done` (bounded): what the server prints or answers comes when it comes. */
    const until = async (done: () => boolean, what: () => string): Promise<void> => {
      for (let i = 0; !done(); i++) {
        if (i === 600) throw new Error(what());
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    served.child.kill('SIGTERM');
    // The server says so just before it starts closing, in the same turn.
    await until(
      () => served.stderr().includes('SIGTERM, stopping'),
      () => `expected "SIGTERM, stopping" on the server's stderr, got ${JSON.stringify(served.stderr())}`,
    );
    // A new connection finds no listener.
    const refused = await fetch(new URL('/healthz', served.url)).then(
      () => 'an answer',
      (error: Error) => (error.cause as NodeJS.ErrnoException).code,
    );
    expect(refused).toBe('ECONNREFUSED');
    // A run that would leave its mark had it run.
    const json = JSON.stringify({ operations: [{ id: 'late', kind: 'bash', input: { command: ['sh', '-c', 'echo late >> ran.log'], cwd: temp.dir } }] });
    socket.write(`Host: 127.0.0.1:${served.port}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    await until(
      () => answer.includes('\r\n\r\n'),
      () => `expected the head of an answer to the late POST, got ${JSON.stringify(answer)}`,
    );
    const head = answer.slice(0, answer.indexOf('\r\n\r\n'));
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expect(head.toLowerCase()).toContain('\r\nretry-after: 5');
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
    const body503 = () => answer.slice(head.length + 4);
    await until(
      () => Buffer.byteLength(body503()) >= length,
      () => `expected a body of ${length} bytes in answer to the late POST, got ${JSON.stringify(answer)}`,
    );
    socket.destroy();
    expect(JSON.parse(body503()).error.code).toBe('FANOUT_SERVER_SHUTTING_DOWN');
    // The run that was going goes on: released within the grace period, it succeeds whole.
    await writeFile(join(temp.dir, 'gate'), '');
    expect((await served.exited).code).toBe(0);
    const log = (await readFile(join(temp.dir, 'data', 'runs', `${body.id}.ndjson`), 'utf8')).trim().split('\n');
    expect(JSON.parse(log.at(-1)!)).toMatchObject({ type: 'run:meta', meta: { state: 'succeeded' } });
    // The refused run never ran.
    expect((await readFile(join(temp.dir, 'ran.log'), 'utf8')).trim().split('\n').sort()).toEqual(['fast-1', 'fast-2', 'fast-3', 'slow-1', 'slow-2', 'slow-3']);
  });

  it('lists a run whose end a client saw with that state and its report after kill -9, and replays its events, from any Last-Event-ID', async () => {
    const first = await serve();
    const plan = { name: 'quick', operations: [1, 2].map((i) => ({ id: `quick-${i}`, kind: 'bash', input: { command: ['sh', '-c', `echo quick-${i} >> ran.log`], cwd: temp.dir } })) };
    const { body } = await api(first.url, '/v1/runs', { method: 'POST', json: plan });
    const seen = await readEvents(first.url, body.id);
    expect(JSON.parse(seen.at(-1)!.data)).toEqual({ state: 'succeeded' });
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await serve();
    const run = await api(second.url, `/v1/runs/${body.id}`);
    expect(run.body).toMatchObject({ state: 'succeeded', starts: 1, byState: { succeeded: 2 } });
    expect(run.body.summary.byState.succeeded).toBe(2);
    // The same events, read back from the log this time.
    const again = await readEvents(second.url, body.id);
    expect(again.map((e) => [e.id, e.event, e.data])).toEqual(seen.map((e) => [e.id, e.event, e.data]));
    // Last-Event-ID against the log on disk, whose journal records (in the same file) are not
    // events: after each id, exactly the events the live stream sent after it.
    const numbered = seen.filter((e) => e.id !== undefined);
    expect(numbered.length).toBeGreaterThan(2);
    for (const at of [0, Math.floor(numbered.length / 2), numbered.length - 1]) {
      const from = seen.indexOf(numbered[at]!) + 1;
      const resumed = await readEvents(second.url, body.id, { lastEventId: numbered[at]!.id! });
      expect(resumed.map((e) => [e.id, e.event, e.data])).toEqual(seen.slice(from).map((e) => [e.id, e.event, e.data]));
    }
  });
});
