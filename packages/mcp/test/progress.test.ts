import { ManualClock } from '@fanout/scheduler/testing';
import { describe, expect, it } from 'vitest';
import { ProgressReporter, type ProgressUpdate } from '../src/index.js';

/** A reporter on a manual clock over counts the test sets. */
function setup() {
  const clock = new ManualClock(1000);
  const sent: (ProgressUpdate & { at: number })[] = [];
  const counts = { settled: 0, total: 10 };
  const reporter = new ProgressReporter(
    (update) => sent.push({ ...update, at: clock.now() }),
    {
      settled: () => counts.settled,
      total: () => counts.total,
      message: () => `${counts.settled}/${counts.total} done`,
    },
    { clock },
  );
  return { clock, sent, counts, reporter };
}

describe('progress notifications', () => {
  it('tells at once when an operation ends, but at most once every 250 ms', () => {
    const { clock, sent, counts, reporter } = setup();
    reporter.start();
    expect(sent).toEqual([{ progress: 0, total: 10, message: '0/10 done', at: 1000 }]);
    clock.advance(300);
    counts.settled = 1;
    reporter.changed();
    expect(sent.at(-1)).toMatchObject({ progress: 1, at: 1300 });
    // A burst of ends within the interval becomes one notification, when the interval allows.
    for (let i = 2; i <= 6; i++) {
      clock.advance(20);
      counts.settled = i;
      reporter.changed();
    }
    expect(sent).toHaveLength(2);
    clock.advance(149);
    expect(sent).toHaveLength(2);
    clock.advance(1);
    expect(sent.at(-1)).toMatchObject({ progress: 6, at: 1550, message: '6/10 done' });
    expect(sent).toHaveLength(3);
    reporter.stop();
  });

  it('sends a heartbeat every 5 s while nothing ends, its progress still growing below the next whole number', () => {
    const { clock, sent, counts, reporter } = setup();
    counts.settled = 3;
    reporter.start();
    clock.advance(4999);
    expect(sent).toHaveLength(1);
    clock.advance(1);
    clock.advance(5000);
    clock.advance(5000);
    expect(sent.map((s) => s.at)).toEqual([1000, 6000, 11000, 16000]);
    const values = sent.map((s) => s.progress);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]!);
    expect(values.at(-1)).toBeLessThan(4);
    counts.settled = 4;
    reporter.changed();
    clock.advance(250);
    expect(sent.at(-1)).toMatchObject({ progress: 4, at: 16250 });
    reporter.stop();
  });

  it('sends nothing once stopped, and leaves no timer behind', () => {
    const { clock, sent, counts, reporter } = setup();
    reporter.start();
    counts.settled = 1;
    reporter.changed();
    reporter.stop();
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    reporter.changed();
    expect(sent).toHaveLength(1);
  });

  it('never reports a total below what has ended (fan-out children are counted as they appear)', () => {
    const { sent, counts, reporter } = setup();
    counts.total = 2;
    counts.settled = 5;
    reporter.start();
    expect(sent[0]).toMatchObject({ progress: 5, total: 5 });
    reporter.stop();
  });
});
