import { appendFileSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createScheduler, defineAdapter, isJournalLine, readJournal, type JournalRecord, type JournalSink, type PressureSource } from '../src/index.js';
import { deferred } from '../src/testing.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An adapter that fails the ids listed in `failing`, counting every call. */
function counting(failing: Set<string>) {
  const calls: string[] = [];
  const adapter = defineAdapter({
    kind: 'step',
    input: z.object({ value: z.unknown() }),
    defaults: { idempotent: false },
    run: (input, ctx) => {
      calls.push(ctx.id);
      if (failing.has(ctx.id)) throw new Error(`${ctx.id} broke`);
      return { value: input.value, id: ctx.id };
    },
  });
  return { adapter, calls };
}

const plan = {
  operations: [
    { id: 'a', kind: 'step', input: { value: 1 } },
    { id: 'b', kind: 'step', input: { value: 2 } },
    { id: 'c', kind: 'step', input: { value: { $ref: 'a', path: 'value' } } },
    { id: 'd', kind: 'step', input: { value: 4 }, after: ['b'] },
    { id: 'fan', kind: 'step', input: { value: { $item: true } }, forEach: { $ref: 'a', path: 'value' } },
  ],
};

async function lines(path: string): Promise<JournalRecord[]> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JournalRecord);
}

describe('journal', () => {
  it('isJournalLine tells every record a run writes from lines of other shapes in the same file', async () => {
    const path = join(dir, 'shared.ndjson');
    // Another writer's lines first, as fanout-server's run log has them.
    const others = ['{"type":"run:meta","meta":{}}', '{"type":"op-finished","id":"a"}', '{"type":"runs"}', '{"kind":"op","type":"op"}', 'not json'];
    await writeFile(path, `${others.join('\n')}\n`);
    const { adapter } = counting(new Set(['b']));
    await createScheduler({ adapters: [adapter] }).execute(plan, { journal: { path, mode: 'append' }, runId: 'r1' });
    const written = (await readFile(path, 'utf8')).trim().split('\n').slice(others.length);
    expect(written.map((line) => (JSON.parse(line) as JournalRecord).type)).toEqual(expect.arrayContaining(['run', 'op', 'end']));
    expect(written.every(isJournalLine)).toBe(true);
    expect(others.filter(isJournalLine)).toEqual([]);
  });

  it('with sync "after-result", holds every record when the result resolves, and is synced and closed by `synced`', async () => {
    const path = join(dir, 'run.ndjson');
    const { adapter } = counting(new Set());
    // One output past the size written on the event loop: batches of both sizes, in order.
    const big = 'x'.repeat(100_000);
    const run = createScheduler({ adapters: [adapter] }).run(
      { operations: [...plan.operations.slice(0, 4), { id: 'big', kind: 'step', input: { value: big }, after: ['d'] }] },
      { journal: { path, sync: 'after-result' }, runId: 'r1' },
    );
    const result = await run.result;
    expect(result.ok).toBe(true);
    const records = await lines(path);
    expect(records[0]).toMatchObject({ type: 'run', runId: 'r1' });
    expect(records.at(-1)).toMatchObject({ type: 'end', runId: 'r1' });
    expect(records.filter((r) => r.type === 'op')).toHaveLength(5);
    expect(records.find((r) => r.type === 'op' && r.id === 'big')).toMatchObject({ state: 'succeeded', output: { value: big } });
    await run.synced;
    // Resumable like any journal: nothing runs again.
    const again = counting(new Set());
    await createScheduler({ adapters: [again.adapter] }).execute({ operations: [...plan.operations.slice(0, 4), { id: 'big', kind: 'step', input: { value: big }, after: ['d'] }] }, { journal: { path, mode: 'resume' } });
    expect(again.calls).toEqual([]);
  });

  it('appends a run record, one record per terminal state, and an end record', async () => {
    const path = join(dir, 'run.ndjson');
    const { adapter } = counting(new Set(['b']));
    const result = await createScheduler({ adapters: [adapter] }).execute(plan, { journal: path, runId: 'r1' });
    const records = await lines(path);
    expect(records[0]).toMatchObject({ type: 'run', version: 1, runId: 'r1', operations: 5 });
    const ops = records.filter((r) => r.type === 'op');
    expect(ops.map((r) => [r.id, r.state]).sort()).toEqual([
      ['a', 'succeeded'],
      ['b', 'failed'],
      ['c', 'succeeded'],
      ['d', 'skipped'],
      ['fan', 'failed'],
    ]);
    expect(ops.find((r) => r.id === 'a')).toMatchObject({ output: { value: 1, id: 'a' }, attempts: 1 });
    expect(ops.find((r) => r.id === 'b')).toMatchObject({ error: { message: 'b broke' } });
    expect(records.at(-1)).toMatchObject({ type: 'end', runId: 'r1', byState: result.summary.byState });
  });

  it('resume skips what succeeded and reruns the rest, dependents getting journaled outputs', async () => {
    const path = join(dir, 'run.ndjson');
    const first = counting(new Set(['b']));
    await createScheduler({ adapters: [first.adapter] }).execute(plan, { journal: path });
    expect(first.calls.sort()).toEqual(['a', 'b', 'c']);

    const second = counting(new Set());
    const result = await createScheduler({ adapters: [second.adapter] }).execute(plan, { journal: { path, mode: 'resume' } });
    expect(second.calls.sort()).toEqual(['b', 'd']);
    expect(result.ok).toBe(false); // "fan" fans out over 1, which is no list
    expect(result.get('a')).toMatchObject({ state: 'succeeded', resumed: true, output: { value: 1, id: 'a' } });
    expect(result.get('d')!.state).toBe('succeeded');
    expect(result.summary.resumed).toBe(2);

    const third = counting(new Set());
    await createScheduler({ adapters: [third.adapter] }).execute(plan, { journal: { path, mode: 'resume' } });
    expect(third.calls).toEqual([]);
  });

  it('retry-failed reruns only failures and what they held back', async () => {
    const path = join(dir, 'run.ndjson');
    const flat = {
      operations: [
        { id: 'ok', kind: 'step', input: { value: 1 } },
        { id: 'bad', kind: 'step', input: { value: 2 } },
        { id: 'held', kind: 'step', input: { value: 3 }, after: ['bad'] },
      ],
    };
    await createScheduler({ adapters: [counting(new Set(['bad'])).adapter] }).execute(flat, { journal: path });
    // A fourth operation the journal never saw: retry-failed leaves it alone.
    const grown = { operations: [...flat.operations, { id: 'new', kind: 'step', input: { value: 4 } }] };
    const again = counting(new Set());
    const result = await createScheduler({ adapters: [again.adapter] }).execute(grown, { journal: { path, mode: 'retry-failed' } });
    expect(again.calls.sort()).toEqual(['bad', 'held']);
    expect(result.get('new')!.state).toBe('skipped');
    expect((result.get('new')!.error as { code: string }).code).toBe('FANOUT_NOT_RETRIED');
  });

  it('reruns a success whose input changed', async () => {
    const path = join(dir, 'run.ndjson');
    await createScheduler({ adapters: [counting(new Set()).adapter] }).execute(plan, { journal: path });
    const changed = structuredClone(plan) as { operations: { input: unknown }[] };
    changed.operations[1]!.input = { value: 'two' };
    const again = counting(new Set());
    await createScheduler({ adapters: [again.adapter] }).execute(changed, { journal: { path, mode: 'resume' } });
    expect(again.calls.sort()).toEqual(['b']);
  });

  it('resumes fan-out children one by one', async () => {
    const path = join(dir, 'run.ndjson');
    const fanPlan = {
      operations: [
        { id: 'list', kind: 'step', input: { value: ['x', 'y', 'z'] } },
        { id: 'each', kind: 'step', input: { value: { $item: true } }, forEach: { $ref: 'list', path: 'value' } },
      ],
    };
    await createScheduler({ adapters: [counting(new Set(['each[1]'])).adapter] }).execute(fanPlan, { journal: path });
    const again = counting(new Set());
    const result = await createScheduler({ adapters: [again.adapter] }).execute(fanPlan, { journal: { path, mode: 'resume' } });
    expect(again.calls).toEqual(['each[1]']);
    expect(result.get('each')!.output).toEqual([
      { value: 'x', id: 'each[0]' },
      { value: 'y', id: 'each[1]' },
      { value: 'z', id: 'each[2]' },
    ]);
  });

  it('tolerates a torn last line and names any other bad line', async () => {
    const path = join(dir, 'run.ndjson');
    await createScheduler({ adapters: [counting(new Set()).adapter] }).execute(plan, { journal: path });
    await appendFile(path, '{"type":"op","id":"x","sta');
    const state = await readJournal(path);
    expect(state.get('a')?.state).toBe('succeeded');

    const bad = join(dir, 'bad.ndjson');
    await writeFile(bad, '{"type":"run"}\nnot json\n{"type":"end"}\n');
    await expect(readJournal(bad)).rejects.toMatchObject({ code: 'FANOUT_JOURNAL_INVALID', message: expect.stringContaining('line 2') });
    expect((await readJournal(join(dir, 'missing.ndjson'))).size).toBe(0);
  });

  it('fails the run result when the journal cannot be written', async () => {
    const { adapter } = counting(new Set());
    await expect(createScheduler({ adapters: [adapter] }).execute(plan, { journal: join(dir, 'no', 'such', 'dir.ndjson') })).rejects.toMatchObject({
      code: 'FANOUT_JOURNAL_IO',
      message: expect.stringContaining(join(dir, 'no', 'such', 'dir.ndjson')),
    });
  });

  it('after a crash tore the last line, resumes every time, rerunning nothing that succeeded', async () => {
    const path = join(dir, 'run.ndjson');
    const flat = {
      operations: [
        { id: 'a', kind: 'step', input: { value: 1 } },
        { id: 'b', kind: 'step', input: { value: 2 } },
        { id: 'c', kind: 'step', input: { value: 3 } },
      ],
    };
    await createScheduler({ adapters: [counting(new Set(['c'])).adapter] }).execute(flat, { journal: path });
    // A process killed mid-write: half a record, no newline.
    await appendFile(path, '{"type":"op","runId":"r9","id":"c","kind":"step","state":"succ');
    const before = await readFile(path, 'utf8');
    for (let round = 1; round <= 3; round++) {
      const again = counting(new Set(round === 1 ? ['c'] : []));
      const result = await createScheduler({ adapters: [again.adapter] }).execute(flat, { journal: { path, mode: 'resume' } });
      expect(again.calls, `round ${round}`).toEqual(round <= 2 ? ['c'] : []);
      expect(result.get('a')).toMatchObject({ state: 'succeeded', resumed: true });
      expect(result.get('c')!.state).toBe(round === 1 ? 'failed' : 'succeeded');
    }
    // The torn half was cut, not kept: every line of the journal is a whole record.
    const text = await readFile(path, 'utf8');
    expect(text.startsWith(before.slice(0, before.lastIndexOf('\n') + 1))).toBe(true);
    for (const line of text.trimEnd().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('gives a whole last record that lost only its newline the newline, and keeps it', async () => {
    const path = join(dir, 'run.ndjson');
    const record = { type: 'op', runId: 'r0', id: 'a', kind: 'step', state: 'succeeded', attempts: 1, fingerprint: 'x', durationMs: 1 };
    await writeFile(path, JSON.stringify(record));
    await createScheduler({ adapters: [counting(new Set()).adapter] }).execute({ operations: [{ id: 'b', kind: 'step', input: { value: 1 } }] }, { journal: path });
    const records = await lines(path);
    expect(records[0]).toEqual(record);
    expect(records[1]).toMatchObject({ type: 'run' });
  });

  it('never cuts or appends to a file that is not a journal, named by mistake', async () => {
    const notes = join(dir, 'notes.txt');
    await writeFile(notes, 'buy milk');
    await expect(createScheduler({ adapters: [counting(new Set()).adapter] }).execute(plan, { journal: notes })).rejects.toMatchObject({ code: 'FANOUT_JOURNAL_IO', cause: { code: 'FANOUT_JOURNAL_INVALID' } });
    expect(await readFile(notes, 'utf8')).toBe('buy milk');
    await expect(readJournal(notes)).rejects.toMatchObject({ code: 'FANOUT_JOURNAL_INVALID', message: expect.stringContaining('"buy milk"') });
  });

  it('reads a journal whose torn record had the next run glued to it (written before torn tails were cut)', async () => {
    const path = join(dir, 'glued.ndjson');
    const a = { type: 'op', runId: 'r1', id: 'a', kind: 'step', state: 'succeeded', attempts: 1, fingerprint: 'f', durationMs: 1 };
    const b = { type: 'op', runId: 'r2', id: 'b', kind: 'step', state: 'failed', attempts: 1, fingerprint: 'g', durationMs: 1 };
    await writeFile(path, `${JSON.stringify(a)}\n{"type":"op","id":"x","sta{"type":"run","version":1,"runId":"r2","startedAt":"now","operations":2}\n${JSON.stringify(b)}\n`);
    const state = await readJournal(path);
    expect([...state.keys()]).toEqual(['a', 'b']);
  });

  it('refuses a binary or hostile journal with a short escaped excerpt, never its raw bytes', async () => {
    const binary = join(dir, 'binary.ndjson');
    await writeFile(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x1b, 0x5b, 0x32, 0x4a, ...Buffer.alloc(4000, 0xff)]));
    const error = (await readJournal(binary).catch((caught: unknown) => caught)) as Error & { code: string };
    expect(error.code).toBe('FANOUT_JOURNAL_INVALID');
    expect(error.message).toMatch(/binary data \(a NUL byte at offset 6, starting "\\x7fELF\\x02\\x01\\x00\\x1b\[2J/);
    expect(error.message).not.toMatch(/[\x00-\x08\x1b\x7f-\x9f\ufffd]/);

    const hostile = join(dir, 'hostile.ndjson');
    const long = `\u001b]0;owned\u0007\u202e${'x'.repeat(1_300_000)}`;
    await writeFile(hostile, `{"type":"run"}\n${long}\n{"type":"end"}\n`);
    const bad = (await readJournal(hostile).catch((caught: unknown) => caught)) as Error & { code: string; path: string };
    expect(bad).toMatchObject({ code: 'FANOUT_JOURNAL_INVALID', path: `${hostile}:2` });
    expect(bad.message).toContain('line 2');
    expect(bad.message).toContain('\\x1b]0;owned\\x07\\u202e');
    expect(bad.message).toContain('(1300011 characters)');
    expect(bad.message.length).toBeLessThan(400);
    expect(bad.message).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202e]/);
  });
});

describe('journal sink', () => {
  /**
   * A sink over a real file: each line appended to it at once (the contract), or, with
   * `buffer`, kept until `flush` (what the contract forbids: for the fatal path, which flushes
   * anyway); every call is noted in `calls`.
   */
  function fileSink(path: string, options: { failFlush?: boolean; buffer?: boolean } = {}) {
    const calls: string[] = [];
    const pending: string[] = [];
    const syncing = deferred<void>();
    const sink: JournalSink = {
      append: (line) => {
        calls.push('append');
        if (options.buffer === true) pending.push(line);
        else appendFileSync(path, `${line}\n`);
      },
      flush: async () => {
        calls.push('flush');
        if (options.failFlush === true) throw new Error('disk full');
        appendFileSync(
          path,
          pending
            .splice(0)
            .map((line) => `${line}\n`)
            .join(''),
        );
      },
      sync: () => {
        calls.push('sync');
        return syncing.promise;
      },
    };
    return { sink, calls, syncing };
  }

  it('takes every record as one line, in order, from the run record to the end record; the scheduler opens no file of its own', async () => {
    const path = join(dir, 'log.ndjson');
    // The caller's own lines share the file (fanout-server's run log).
    await writeFile(path, '{"type":"run:meta","meta":{}}\n');
    const { sink, calls, syncing } = fileSink(path);
    const { adapter } = counting(new Set(['b']));
    syncing.resolve();
    const result = await createScheduler({ adapters: [adapter] }).execute(plan, { journal: { path, sink }, runId: 'r1' });
    const [, ...records] = await lines(path);
    expect(records[0]).toMatchObject({ type: 'run', version: 1, runId: 'r1', operations: 5 });
    expect(
      records
        .filter((r) => r.type === 'op')
        .map((r) => [r.id, r.state])
        .sort(),
    ).toEqual([
      ['a', 'succeeded'],
      ['b', 'failed'],
      ['c', 'succeeded'],
      ['d', 'skipped'],
      ['fan', 'failed'],
    ]);
    expect(records.at(-1)).toMatchObject({ type: 'end', runId: 'r1', byState: result.summary.byState });
    // One flush after the last record, then one sync (sync "before-result", the default).
    expect(calls.filter((call) => call !== 'append')).toEqual(['flush', 'sync']);
    expect(calls.lastIndexOf('append')).toBeLessThan(calls.indexOf('flush'));
    expect(await readdir(dir)).toEqual(['log.ndjson']);
  });

  it('with sync "after-result", the result waits for the flush only, `synced` for the sync; a resume reads what the sink wrote', async () => {
    const path = join(dir, 'log.ndjson');
    const { sink, calls, syncing } = fileSink(path);
    const first = counting(new Set(['b']));
    const run = createScheduler({ adapters: [first.adapter] }).run(plan, { journal: { path, sink, sync: 'after-result' }, runId: 'r1' });
    let synced = false;
    void run.synced.then(() => (synced = true));
    await run.result;
    // Every record is in the file when the result resolves; the sync is asked for, not awaited.
    expect((await lines(path)).at(-1)).toMatchObject({ type: 'end', runId: 'r1' });
    await Promise.resolve();
    expect(calls.filter((call) => call !== 'append')).toEqual(['flush', 'sync']);
    expect(synced).toBe(false);
    syncing.resolve();
    await run.synced;

    const second = counting(new Set());
    const again = fileSink(path);
    again.syncing.resolve();
    await createScheduler({ adapters: [second.adapter] }).execute(plan, { journal: { path, mode: 'resume', sink: again.sink } });
    expect(second.calls.sort()).toEqual(['b', 'd']);
  });

  it('a flush that fails rejects the result with FANOUT_JOURNAL_IO naming the path and its cause, and nothing is synced', async () => {
    const path = join(dir, 'log.ndjson');
    const { sink, calls } = fileSink(path, { failFlush: true });
    const run = createScheduler({ adapters: [counting(new Set()).adapter] }).run(plan, { journal: { path, sink, sync: 'after-result' } });
    await expect(run.result).rejects.toMatchObject({ code: 'FANOUT_JOURNAL_IO', path, message: `expected to write the journal ${path}, but could not: disk full`, cause: { message: 'disk full' } });
    await run.synced;
    expect(calls).not.toContain('sync');
  });

  it('a run ended by an error of its own still flushes what the sink holds, before its result rejects', async () => {
    const path = join(dir, 'log.ndjson');
    const { sink, calls } = fileSink(path, { buffer: true });
    // Subscribed to after the run record is appended: the run ends there, on the fatal path.
    const broken = new Error('pressure source broke');
    const pressure: PressureSource = {
      read: () => ({ admit: true }),
      subscribe: () => {
        throw broken;
      },
    };
    const scheduler = createScheduler({ adapters: [counting(new Set()).adapter], pressure });
    const run = scheduler.run(plan, { journal: { path, sink }, runId: 'r1' });
    await expect(run.result).rejects.toBe(broken);
    expect(calls).toEqual(['append', 'flush']);
    expect(await lines(path)).toEqual([expect.objectContaining({ type: 'run', runId: 'r1', operations: 5 })]);
    await run.synced;
  });

  it("an append that throws (a log closed under the run) does not stop the run: its result rejects with FANOUT_JOURNAL_IO naming the path and the first append's error", async () => {
    const path = join(dir, 'log.ndjson');
    let closed = false;
    let failures = 0;
    const sink: JournalSink = {
      append: (line) => {
        if (closed) throw new Error(`expected an open run log, got one already closed (${++failures})`);
        appendFileSync(path, `${line}\n`);
      },
      flush: async () => undefined,
      sync: async () => undefined,
    };
    const adapter = defineAdapter({
      kind: 'step',
      input: z.object({ value: z.unknown() }),
      run: (input, ctx) => {
        // The log is closed once the first operation has been recorded.
        if (ctx.id === 'b') closed = true;
        return { value: input.value };
      },
    });
    const ordered = {
      operations: [
        { id: 'a', kind: 'step', input: { value: 1 } },
        { id: 'b', kind: 'step', input: { value: 2 }, after: ['a'] },
        { id: 'c', kind: 'step', input: { value: 3 }, after: ['b'] },
      ],
    };
    const run = createScheduler({ adapters: [adapter] }).run(ordered, { journal: { path, sink }, runId: 'r1' });
    await expect(run.result).rejects.toMatchObject({
      code: 'FANOUT_JOURNAL_IO',
      path,
      message: `expected to write the journal ${path}, but could not: expected an open run log, got one already closed (1)`,
      cause: { message: 'expected an open run log, got one already closed (1)' },
    });
    // Every operation ran; the records written before the log closed are whole.
    expect(failures).toBe(3);
    expect((await lines(path)).map((r) => (r.type === 'op' ? r.id : r.type))).toEqual(['run', 'a']);
  });
});
