import { describe, expect, it } from 'vitest';
import { analyse, type JobTimes, type Span } from '../src/distributed-trace.js';

const span = (opId: string, start: number, end: number, pid = opId < 'c' ? '1' : '2'): [string, Span] => [opId, { runId: 'r', opId, start, end, pid }];

describe('distributed-scale trace', () => {
  // Limit 2, run from 0 to 200. a then b on one slot of w1 (b taken by a's finish), c and d on w2.
  const jobs: JobTimes[] = [
    { opId: 'a', added: 0, taken: 10, finished: 70, worker: 'w1' },
    { opId: 'b', added: 0, taken: 70, finished: 130, worker: 'w1' },
    { opId: 'c', added: 5, taken: 20, finished: 80, worker: 'w2' },
    { opId: 'd', added: 100, taken: 100, finished: 160, worker: 'w2' },
  ];
  const spans = new Map([span('a', 12, 68), span('b', 73, 128), span('c', 22, 78), span('d', 101, 158)]);

  it('splits the slots’ time by what they did, and the parts add up to the wall time', () => {
    const m = analyse(jobs, spans, 2, 0, 200);
    expect(m.trace_running_ms).toBe(112); // 224 slot-ms of adapters ÷ 2
    expect(m.trace_held_ms).toBe(8); // taken → finished beyond the adapter: 4 + 5 + 4 + 3
    expect(m.trace_free_waiting_ms).toBe(15); // 0–10 two free, 10–20 one free, jobs queued
    expect(m.trace_free_empty_ms).toBe(10); // 80–100: one free, nothing queued, d not yet added
    expect(m.trace_tail_ms).toBe(55); // after the last add: 130–160 one free, 160–200 both
    expect(m.trace_running_ms! + m.trace_held_ms! + m.trace_free_waiting_ms! + m.trace_free_empty_ms! + m.trace_tail_ms!).toBe(m.trace_wall_ms);
  });

  it('pairs a job with the one whose finish took it on the same worker, and measures that slot’s gap', () => {
    const m = analyse(jobs, spans, 2, 0, 200);
    expect(m.trace_chained).toBe(0.25); // only b; d was taken at 100, c finished at 80
    expect(m.trace_slot_gap_ms).toBe(5); // a ended 68, b started 73
    expect(m.trace_gap_to_finish_ms).toBe(2);
    expect(m.trace_gap_from_take_ms).toBe(3);
    expect(m.trace_fetched_start_ms).toBeCloseTo(5 / 3);
    expect(m.trace_fetch_ms).toBe(56);
  });

  it('says when the first job was queued and when every slot was first busy', () => {
    const m = analyse(jobs, spans, 2, 0, 200);
    expect(m.trace_first_added_ms).toBe(0);
    expect(m.trace_all_busy_ms).toBe(22); // starts 12, 22, 73, 101: the second
  });

  it('measures how long a slot stays idle between an end and the next start on its worker, whatever took the job', () => {
    // w1: a 68 → b 73 (5). w2: c 78 → d 101 (23).
    expect(analyse(jobs, spans, 2, 0, 200).trace_idle_between_ms).toBe(14);
    // A permit handed on within the same millisecond: 0, paired in order of the ends.
    const handed = new Map([span('a', 0, 50, '1'), span('b', 0, 60, '1'), span('c', 50, 90, '1'), span('d', 61, 100, '1')]);
    expect(analyse(jobs, handed, 2, 0, 200).trace_idle_between_ms).toBe(0.5);
  });

  it('says which operation has no span', () => {
    expect(() => analyse(jobs, new Map([span('a', 12, 68)]), 2, 0, 200)).toThrow(/no span for b/);
  });
});
