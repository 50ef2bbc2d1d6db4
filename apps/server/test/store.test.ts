/**
 * A run's log on disk (store.ts) in a real temp directory: what a restart lists from it, what a
 * resume reads back, and what a kill in the middle of a write leaves.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { appendFile, open, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adaptersFromConfig } from '@fanout/profiles';
import { createScheduler } from '@fanout/scheduler';
import { newRunId, RunLog, RunStore, type RunMeta, type StoredReport } from '../src/store.js';
import { tempDir } from './helpers.js';

let temp: { dir: string; remove: () => Promise<void> };

beforeEach(async () => {
  temp = await tempDir('fanout-store-');
});

afterEach(async () => {
  await temp.remove();
});

function newMeta(): RunMeta {
  return { id: newRunId(), title: 'plan', state: 'queued', principal: 'local', operations: 1, createdAt: new Date(0).toISOString(), starts: 1 };
}

const plan = { operations: [{ id: 'a', kind: 'read', input: { path: 'tiny.txt' } }] };

/** A run's log as a kill in the middle of a write leaves it: its meta, plan and one event, then a torn line. */
async function tornLog(): Promise<{ store: RunStore; meta: RunMeta }> {
  const store = new RunStore(temp.dir);
  const meta = newMeta();
  const log = await store.create(meta, plan);
  log.event('{"type":"run-started"}');
  await log.close();
  await appendFile(store.logPath(meta.id), '{"type":"op-fin');
  return { store, meta };
}
const report = { summary: { runId: 'x' }, report: { text: 'é and ü: bytes, not characters' }, markdown: '# done' } as unknown as StoredReport;

describe('RunStore', () => {
  it('writes a report line in pieces as the one JSON text, two-byte Markdown and a summary made ahead included', async () => {
    const store = new RunStore(temp.dir);
    const meta = newMeta();
    const log = await store.create(meta, plan);
    log.event('{"type":"run-started","note":"… before the report"}');
    const twoByte = { summary: { runId: 'y', wallMs: 1.5 }, report: { title: 'Files — 1 distinct', path: '/tmp/é' }, markdown: '# fanout report\n\n**1 operation** · 1 result → 1 distinct' } as unknown as StoredReport;
    const stored = await log.finish({ ...meta, state: 'succeeded' }, twoByte, JSON.stringify(twoByte.summary));

    const { at, bytes } = stored.report!;
    const file = await readFile(store.logPath(meta.id));
    expect(file.subarray(at, at + bytes).toString('utf8')).toBe(JSON.stringify({ type: 'run:report', report: twoByte }));
    // The meta line follows the report line at once, and the file ends with it.
    expect(file[at + bytes]).toBe(0x0a);
    expect(JSON.parse(file.subarray(at + bytes + 1).toString('utf8'))).toEqual({ type: 'run:meta', meta: { ...meta, state: 'succeeded' }, report: { at, bytes } });
    expect(await store.readReport(meta.id, stored.report!)).toEqual(twoByte);
  });

  it('lists a run that ended with its state, and reads its plan, events and report back', async () => {
    const store = new RunStore(temp.dir);
    const meta = newMeta();
    const log = await store.create(meta, plan);
    log.event('{"type":"run-started"}');
    log.event('{"type":"run-finished"}');
    const done: RunMeta = { ...meta, state: 'succeeded', finishedAt: new Date(1).toISOString() };
    const stored = await log.finish(done, report);

    const [listed] = await store.list();
    expect(listed).toEqual(stored);
    expect(listed!.meta.state).toBe('succeeded');
    // The place the log counted is where the report line is (no search of the whole log).
    const { at, bytes } = stored.report!;
    expect((await readFile(store.logPath(meta.id))).subarray(at, at + bytes).toString('utf8')).toBe(JSON.stringify({ type: 'run:report', report }));
    expect(await store.readReport(meta.id, listed!.report!)).toEqual(report);
    const contents = await store.read(meta.id);
    expect(contents).toMatchObject({ meta: done, plan, events: ['{"type":"run-started"}', '{"type":"run-finished"}'] });
    expect(contents.size).toBe((await readFile(store.logPath(meta.id))).length);
  });

  it("writes its run's journal records with its own lines, and keeps the file open for the journal's sync until released", async () => {
    const store = new RunStore(temp.dir);
    const meta = newMeta();
    const log = await store.create(meta, plan);
    /** Descriptors of this process open on the run's log. */
    const open = async (): Promise<number> => {
      const fds = await readdir('/proc/self/fd');
      const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
      return targets.filter((target) => target === store.logPath(meta.id)).length;
    };
    const journal = log.journal();
    log.event('{"type":"run-started"}');
    journal.append('{"type":"run","version":1,"runId":"r","startedAt":"now","operations":1}');
    log.event('{"type":"op-finished","id":"a"}');
    journal.append('{"type":"op","runId":"r","id":"a","kind":"read","state":"succeeded","attempts":1,"fingerprint":"f","durationMs":1}');
    await journal.flush();
    const lines = (await readFile(store.logPath(meta.id), 'utf8')).trim().split('\n');
    expect(lines.slice(2).map((line) => (JSON.parse(line) as { type: string }).type)).toEqual(['run-started', 'run', 'op-finished', 'op']);

    await log.finish({ ...meta, state: 'succeeded' }, report);
    expect(await open()).toBe(1);
    await journal.sync();
    journal.release();
    expect(await open()).toBe(0);
    // Journal records are not events.
    expect((await store.read(meta.id)).events).toEqual(['{"type":"run-started"}', '{"type":"op-finished","id":"a"}']);
  });

  it("makes the next runs' logs ahead under their ids, writes a reserved run's log there, and removes what a killed process made ahead when the next one lists", async () => {
    const store = new RunStore(temp.dir);
    const root = join(temp.dir, 'runs');
    await store.made();
    store.stock();
    // Made in the thread pool, one after the other: waited for by looking, not by a timer.
    while ((await readdir(root)).length < 2) await new Promise((resolve) => setImmediate(resolve));
    const made = (await readdir(root)).sort();
    expect(made).toHaveLength(2);
    for (const name of made) expect((await stat(join(root, name))).size).toBe(0);

    const first = store.reserve();
    expect(`${first.id}.ndjson`).toBe(made[0]);
    expect(first.fd).toBeTypeOf('number');
    const meta = { ...newMeta(), id: first.id };
    const log = await store.create(meta, plan, first);
    await log.close();
    expect((await store.read(first.id)).meta).toEqual(meta);
    await expect(store.create({ ...newMeta(), id: first.id }, plan, store.reserve())).rejects.toThrow(/expected the meta of run r[0-9a-z]+ \(the id reserved\), got run r/);

    // Another two made after the turns that took them; ids keep growing.
    while ((await readdir(root)).length < 4) await new Promise((resolve) => setImmediate(resolve));
    const stocked = (await readdir(root)).filter((name) => name !== made[0] && name !== made[1]);
    expect(stocked.every((name) => name > made[1]!)).toBe(true);

    // What a killed process made ahead (empty logs) and an earlier version's spare are removed by the next one's list.
    await writeFile(join(root, '.spare-0123abcd'), '');
    const next = new RunStore(temp.dir);
    expect((await next.list()).map((run) => run.meta.id)).toEqual([first.id]);
    expect(await readdir(root)).toEqual([`${first.id}.ndjson`]);
    await store.close();
    await next.close();
  });

  it('hands out growing ids: a log being made ahead under an id smaller than one handed out meanwhile is removed, not used; a released one is removed', async () => {
    const store = new RunStore(temp.dir);
    const root = join(temp.dir, 'runs');
    await store.made();
    store.stock();
    // None is ready yet (its create is in the thread pool): an id is drawn now, greater than the one being made.
    const fresh = store.reserve();
    expect(fresh.fd).toBeUndefined();
    await (await store.create({ ...newMeta(), id: fresh.id }, plan, fresh)).close();
    const logs = async (): Promise<string[]> => (await readdir(root)).sort();
    const ahead = async (): Promise<string[]> => (await logs()).filter((name) => name > `${fresh.id}.ndjson`);
    while ((await ahead()).length < 2) await new Promise((resolve) => setImmediate(resolve));
    const [next] = await ahead();

    // The next id handed out is the oldest made ahead, never the smaller one that was being made.
    const released = store.reserve();
    expect(`${released.id}.ndjson`).toBe(next);
    store.release(released);
    await store.close();
    expect(await logs()).toEqual([`${fresh.id}.ndjson`]);
  });

  it('leaves out a torn last line, and a resume cuts it before appending', async () => {
    const { store, meta } = await tornLog();

    const [listed] = await store.list();
    expect(listed!.meta.state).toBe('queued');
    const contents = await store.read(meta.id);
    expect(contents.events).toEqual(['{"type":"run-started"}']);

    const again = await store.reopen(meta.id, contents);
    again.meta({ ...meta, starts: 2 });
    again.event('{"type":"run-started","resumed":0}');
    await again.finish({ ...meta, starts: 2, state: 'failed' }, undefined);
    const lines = (await readFile(store.logPath(meta.id), 'utf8')).trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line).type)).toEqual(['run:meta', 'run:plan', 'run-started', 'run:meta', 'run-started', 'run:meta']);
    const [relisted] = await store.list();
    expect(relisted).toEqual({ meta: { ...meta, starts: 2, state: 'failed' } });
  });

  it("counts the report's place in a resumed log from the whole lines it kept, the torn tail cut", async () => {
    const { store, meta } = await tornLog();
    const again = await store.reopen(meta.id, await store.read(meta.id));
    again.event('{"type":"run-started","resumed":0}');
    const stored = await again.finish({ ...meta, starts: 2, state: 'succeeded' }, report);
    const { at, bytes } = stored.report!;
    expect((await readFile(store.logPath(meta.id))).subarray(at, at + bytes).toString('utf8')).toBe(JSON.stringify({ type: 'run:report', report }));
  });

  it('keeps the journal written to the same file out of the events, and finds the report after it', async () => {
    const store = new RunStore(temp.dir);
    const meta = newMeta();
    const log = await store.create(meta, plan);
    // The scheduler's journal, through a descriptor of its own, as a run appends it.
    const journal = await open(store.logPath(meta.id), 'a+');
    await journal.write(`{"type":"run","version":1,"runId":"${meta.id}","startedAt":"x","operations":1}\n`);
    log.event('{"type":"run-started"}');
    await log.flush();
    await journal.write(`{"type":"op","runId":"${meta.id}","id":"a","kind":"read","state":"succeeded","attempts":1,"fingerprint":"f","durationMs":1,"output":"é"}\n`);
    await journal.write(`{"type":"end","runId":"${meta.id}","wallMs":1,"byState":{}}\n`);
    await journal.close();
    log.event('{"type":"run-finished"}');
    const stored = await log.finish({ ...meta, state: 'succeeded' }, report);

    expect((await store.read(meta.id)).events).toEqual(['{"type":"run-started"}', '{"type":"run-finished"}']);
    expect(await store.readReport(meta.id, stored.report!)).toEqual(report);
    // Where a journal record would stand at the place the meta line names, the report is looked for further on.
    expect(await store.readReport(meta.id, { at: 0, bytes: stored.report!.bytes })).toEqual(report);
    expect(await store.journalOf(meta.id)).toBe(store.logPath(meta.id));
    await writeFile(store.journalPath(meta.id), '');
    expect(await store.journalOf(meta.id)).toBe(store.journalPath(meta.id));
  });

  it("never replaces a file already at a log's path: the create fails, the file is kept", async () => {
    const store = new RunStore(temp.dir);
    const taken = newMeta();
    await store.made();
    await writeFile(store.logPath(taken.id), '{"type":"run:meta","meta":{"id":"earlier"}}\n');
    await expect(store.create(taken, plan)).rejects.toMatchObject({ code: 'EEXIST', path: store.logPath(taken.id) });
    expect(await readFile(store.logPath(taken.id), 'utf8')).toBe('{"type":"run:meta","meta":{"id":"earlier"}}\n');
    await store.close();
  });

  it('writes nothing after a write fails, so that a torn line can only be the last one', async () => {
    // A FIFO written without blocking: a line longer than the pipe holds is written in part,
    // then the write fails (EAGAIN); once the reader has drained it, a write would succeed again.
    const fifo = join(temp.dir, 'log.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const log = new RunLog(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    const drain = (): string => {
      const chunks: Buffer[] = [];
      const buffer = Buffer.alloc(65_536);
      for (;;) {
        let n: number;
        try {
          n = readSync(reader, buffer);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw error;
        }
        if (n === 0) break;
        chunks.push(Buffer.from(buffer.subarray(0, n)));
      }
      return Buffer.concat(chunks).toString('utf8');
    };
    try {
      const big = `{"type":"op-finished","output":"${'x'.repeat(1_000_000)}"}`;
      log.event(big);
      await expect(log.flush()).rejects.toMatchObject({ code: 'EAGAIN' });
      const torn = drain();
      expect(torn.length).toBeGreaterThan(0);
      expect(torn.length).toBeLessThan(big.length);
      // Room in the pipe again: the next lines are not written, and the first error is told.
      log.event('{"type":"op-finished","id":"b"}');
      await new Promise((resolve) => setImmediate(resolve));
      await expect(log.flush()).rejects.toMatchObject({ code: 'EAGAIN' });
      await expect(log.close()).rejects.toMatchObject({ code: 'EAGAIN' });
      expect(drain()).toBe('');
    } finally {
      closeSync(reader);
    }
  });

  it("a journal appended to after its log was closed fails the run's result with FANOUT_JOURNAL_IO, and the run still ends", async () => {
    const store = new RunStore(temp.dir);
    const meta = newMeta();
    const log = await store.create(meta, plan);
    const journal = log.journal();
    await log.close();
    await writeFile(join(temp.dir, 'tiny.txt'), 'tiny\n');
    const configured = await adaptersFromConfig({ roots: [temp.dir] }, ['read']);
    try {
      const run = createScheduler({ adapters: configured.adapters }).run(plan, { journal: { path: store.logPath(meta.id), sink: journal } });
      await expect(run.result).rejects.toMatchObject({
        code: 'FANOUT_JOURNAL_IO',
        path: store.logPath(meta.id),
        cause: { message: 'expected an open run log, got one already closed' },
      });
    } finally {
      await configured.close();
      journal.release();
    }
    expect((await store.read(meta.id)).meta).toEqual(meta);
  });

  it('removes, when listing, a log left empty by a kill between its create and its first write', async () => {
    const store = new RunStore(temp.dir);
    const kept = newMeta();
    await (await store.create(kept, plan)).close();
    const killed = newMeta();
    await writeFile(store.logPath(killed.id), '');
    expect((await store.list()).map((run) => run.meta.id)).toEqual([kept.id]);
    await expect(stat(store.logPath(killed.id))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(store.root)).toEqual([`${kept.id}.ndjson`]);
    await store.close();
  });

  it('does not list a run whose first write was torn, nor files that are not run logs', async () => {
    const store = new RunStore(temp.dir);
    const kept = newMeta();
    await (await store.create(kept, plan)).close();
    const torn = newMeta();
    await writeFile(store.logPath(torn.id), '{"type":"run:meta","meta":{"id":');
    await writeFile(store.journalPath(kept.id), '');
    await writeFile(`${store.root}/notes.ndjson`, '{}\n');
    expect((await store.list()).map((run) => run.meta.id)).toEqual([kept.id]);
  });
});
