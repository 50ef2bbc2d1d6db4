import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createScheduler, defineAdapter, readJournal, type JournalRecord } from '../src/index.js';

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
      code: 'FANOUT_JOURNAL_INVALID',
    });
  });
});
