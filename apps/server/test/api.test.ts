/** Every route of the API over real HTTP, against the built server in a child process. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, readEvents, runServerBin, startServer, tempDir, type Served } from './helpers.js';

let served: Served;
let temp: { dir: string; remove: () => Promise<void> };

beforeAll(async () => {
  temp = await tempDir();
  await mkdir(join(temp.dir, 'src'));
  await writeFile(join(temp.dir, 'src', 'a.ts'), 'export const a = 1;\n// TODO: b\n');
  await writeFile(join(temp.dir, 'src', 'b.ts'), 'export function b() { return 2; }\n');
  served = await startServer([], temp.dir);
});

afterAll(async () => {
  await served?.stop();
  await temp?.remove();
});

const plan = {
  name: 'find todos',
  operations: [
    { id: 'files', kind: 'glob', input: { pattern: 'src/**/*.ts' } },
    { id: 'todos', kind: 'grep', input: { pattern: 'TODO', paths: ['src'] } },
    { id: 'read-a', kind: 'read', input: { path: 'src/a.ts' }, after: ['files'] },
  ],
};

describe('flags', () => {
  it('refuses a bad flag value with exit 2, naming the flag and what it got', async () => {
    const out = await runServerBin(['--port', '70000'], temp.dir);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('expected --port to be at most 65535, got 70000');
    const unknown = await runServerBin(['--frobnicate'], temp.dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('expected one of this command\'s flags, got "--frobnicate"');
    const typo = await runServerBin(['--prot', '3'], temp.dir);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('expected one of this command\'s flags, got "--prot" (did you mean --port?)');
    const grace = await runServerBin(['--grace', 'soon'], temp.dir);
    expect(grace.code).toBe(2);
    expect(grace.stderr).toContain('expected --grace to be a duration');
  });

  it('prints its help and version', async () => {
    const help = await runServerBin(['--help'], temp.dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--token-file FILE');
    const version = await runServerBin(['--version'], temp.dir);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('the API', () => {
  it('answers health and readiness', async () => {
    expect((await api(served.url, '/healthz')).body).toEqual({ ok: true });
    const ready = await api(served.url, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.ready).toBe(true);
  });

  it('lists the built-in profiles', async () => {
    const { status, body } = await api(served.url, '/v1/profiles');
    expect(status).toBe(200);
    expect(body.profiles.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['explore-codebase', 'explore-web']));
  });

  it('takes a plan at once (202), runs it, streams its events and keeps its report', async () => {
    const posted = await api(served.url, '/v1/runs', { method: 'POST', json: plan });
    expect(posted.status).toBe(202);
    expect(posted.body.id).toMatch(/^r/);
    expect(posted.body.links.events).toBe(`/v1/runs/${posted.body.id}/events`);
    const events = await readEvents(served.url, posted.body.id);
    const types = events.filter((e) => e.event === 'event').map((e) => JSON.parse(e.data).type);
    expect(types[0]).toBe('run-started');
    expect(types).toContain('run-finished');
    expect(events.at(-1)).toMatchObject({ event: 'end', data: JSON.stringify({ state: 'succeeded' }) });
    // Ids are 1, 2, 3… in order: what Last-Event-ID names.
    const ids = events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    const run = await api(served.url, `/v1/runs/${posted.body.id}`);
    expect(run.body).toMatchObject({ id: posted.body.id, title: 'find todos', state: 'succeeded', operations: 3 });
    expect(run.body.summary.byState.succeeded).toBe(3);
    expect(run.body.markdown).toContain('a.ts');
    // The last event's text is made from its summary's JSON, which the report line reuses: the
    // same text as the event serialized whole, and the same summary as the report's.
    const finished = events.find((e) => e.event === 'event' && e.data.startsWith('{"type":"run-finished"'))!.data;
    expect(JSON.stringify(JSON.parse(finished))).toBe(finished);
    expect(JSON.parse(finished).summary).toEqual(run.body.summary);
  });

  it('resumes an event stream after Last-Event-ID', async () => {
    const posted = await api(served.url, '/v1/runs', { method: 'POST', json: plan });
    const all = await readEvents(served.url, posted.body.id);
    const withIds = all.filter((e) => e.id !== undefined);
    const rest = await readEvents(served.url, posted.body.id, { lastEventId: withIds[2]!.id! });
    expect(rest.filter((e) => e.id !== undefined).map((e) => e.data)).toEqual(withIds.slice(3).map((e) => e.data));
    expect(rest.at(-1)!.event).toBe('end');
  });

  it('builds a plan from a profile and refuses a directory outside the roots', async () => {
    const posted = await api(served.url, '/v1/runs', { method: 'POST', json: { profile: 'explore-codebase', args: { size: 'small' } } });
    expect(posted.status).toBe(202);
    const events = await readEvents(served.url, posted.body.id);
    expect(JSON.parse(events.at(-1)!.data).state).toMatch(/succeeded|failed/);
    const outside = await api(served.url, '/v1/runs', { method: 'POST', json: { profile: 'explore-codebase', args: { dir: '/etc' } } });
    expect(outside.status).toBe(400);
    expect(outside.body.error.code).toBe('FANOUT_INPUT_INVALID');
    expect(outside.body.error.issues[0].path).toBe('args.dir');
    const unknown = await api(served.url, '/v1/runs', { method: 'POST', json: { profile: 'nope' } });
    expect(unknown.body.error.issues[0]).toMatchObject({ path: 'profile' });
  });

  it('lists runs newest first, in pages', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await api(served.url, '/v1/runs', { method: 'POST', json: plan })).body.id);
    const first = await api(served.url, '/v1/runs?limit=2');
    expect(first.body.runs.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    const second = await api(served.url, first.body.next);
    expect(second.body.runs[0].id).toBe(ids[0]);
    const bad = await api(served.url, '/v1/runs?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('FANOUT_INPUT_INVALID');
  });

  it('refuses an invalid plan with every problem and its path', async () => {
    const { status, body } = await api(served.url, '/v1/runs', {
      method: 'POST',
      json: {
        operations: [
          { id: 'a', kind: 'glob', input: { pattern: 1 } },
          { id: 'a', kind: 'nope', input: {}, after: ['ghost'] },
        ],
      },
    });
    expect(status).toBe(400);
    expect(body.error.code).toBe('FANOUT_PLAN_INVALID');
    const codes = body.error.issues.map((i: { code: string }) => i.code);
    expect(codes).toEqual(expect.arrayContaining(['FANOUT_PLAN_DUPLICATE_ID', 'FANOUT_PLAN_UNKNOWN_KIND', 'FANOUT_PLAN_UNKNOWN_DEPENDENCY', 'FANOUT_INPUT_INVALID']));
    const notJson = await api(served.url, '/v1/runs', { method: 'POST', body: '{"operations": [', headers: { 'content-type': 'application/json' } });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('FANOUT_INPUT_INVALID');
  });

  it('answers 404 with a code for an unknown run and an unknown route', async () => {
    const run = await api(served.url, '/v1/runs/r0000000000000000000000');
    expect(run.status).toBe(404);
    expect(run.body.error.code).toBe('FANOUT_SERVER_NOT_FOUND');
    const route = await api(served.url, '/v2/nothing');
    expect(route.status).toBe(404);
    expect(route.body.error.code).toBe('FANOUT_SERVER_NOT_FOUND');
  });

  it('will not resume or cancel a run that succeeded (409)', async () => {
    const posted = await api(served.url, '/v1/runs', { method: 'POST', json: plan });
    await readEvents(served.url, posted.body.id);
    const resume = await api(served.url, `/v1/runs/${posted.body.id}/resume`, { method: 'POST' });
    expect(resume.status).toBe(409);
    expect(resume.body.error.code).toBe('FANOUT_SERVER_RUN_STATE');
    const cancel = await api(served.url, `/v1/runs/${posted.body.id}`, { method: 'DELETE' });
    expect(cancel.status).toBe(409);
  });

  it('exposes Prometheus metrics of the runs', async () => {
    const { status, headers, body } = await api(served.url, '/metrics');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toContain('text/plain');
    expect(body).toMatch(/^fanout_server_runs\{state="all"\} \d+$/m);
    expect(body).toMatch(/fanout_.*\{kind="glob"\}/);
  });
});
