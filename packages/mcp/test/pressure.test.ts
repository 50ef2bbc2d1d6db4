import { join } from 'node:path';
import type { PressureReading, PressureSource } from '@fanout/scheduler';
import { describe, expect, it } from 'vitest';
import { subscribedAfterStart } from '../src/call.js';
import { connectedTree, content, gate, release, until } from './helpers.js';

/** A pressure source whose readings the test sets, recording what it is asked. */
class ScriptedPressure implements PressureSource {
  readonly log: string[] = [];
  paused = new Set<string>();
  #listeners = new Set<() => void>();

  read(kind: string): PressureReading {
    return this.paused.has(kind) ? { admit: false, reason: `${kind} paused by the test` } : { admit: true };
  }

  subscribe(onChange: () => void): () => void {
    this.log.push('subscribed');
    this.#listeners.add(onChange);
    return () => {
      this.log.push('unsubscribed');
      this.#listeners.delete(onChange);
    };
  }

  /** Sets the readings and tells the subscribers, as a monitor does when a signal changes. */
  set(paused: string[]): void {
    this.paused = new Set(paused);
    for (const listener of this.#listeners) listener();
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('pressure subscribed after the run starts', () => {
  it('subscribes a turn later, not as the run starts, and tells the run to read the readings then', async () => {
    const source = new ScriptedPressure();
    const changes: number[] = [];
    const unsubscribe = subscribedAfterStart(source).subscribe(() => changes.push(changes.length));
    expect(source.log).toEqual([]);
    await turn();
    expect(source.log).toEqual(['subscribed']);
    expect(changes).toEqual([0]);
    source.set(['grep']);
    expect(changes).toEqual([0, 1]);
    unsubscribe();
    expect(source.log).toEqual(['subscribed', 'unsubscribed']);
  });

  it('never subscribes for a run that ends before its turn', async () => {
    const source = new ScriptedPressure();
    const unsubscribe = subscribedAfterStart(source).subscribe(() => {
      throw new Error('expected no reading of a run that has ended, got one');
    });
    unsubscribe();
    await turn();
    await turn();
    expect(source.log).toEqual([]);
  });

  describe('through a server', () => {
    const source = new ScriptedPressure();
    const world = connectedTree({ 'a.txt': 'alpha\n' }, (root) => ({ config: { roots: [root] }, pressure: source }));

    it('pauses and resumes a kind when the source says so, and lets go of the source when the run ends', async () => {
      const fifo = gate(join(world.root, 'slow.fifo'));
      const started = content(
        await world.mcp.client.callTool({
          name: 'fanout_read',
          arguments: {
            deadlineMs: 0,
            operations: [
              { id: 'slow', kind: 'read', input: { path: 'slow.fifo', fifo: true } },
              { id: 'find', kind: 'grep', input: { pattern: 'alpha' }, after: ['slow'] },
            ],
          },
        }),
      );
      await until(() => source.log.includes('subscribed'), 'the run to subscribe');
      source.set(['grep']);
      await release(fifo, 'gate\n');
      const status = async () => content(await world.mcp.client.callTool({ name: 'fanout_status', arguments: { handle: started.handle, deadlineMs: 0 } }));
      let paused = await status();
      for (let i = 0; i < 500 && paused.operations.find((op) => op.id === 'slow')?.state !== 'succeeded'; i++) paused = await status();
      expect(paused.operations.find((op) => op.id === 'slow')).toMatchObject({ state: 'succeeded' });
      // Ready, but its kind is paused.
      expect(paused.operations.find((op) => op.id === 'find')).toMatchObject({ state: 'pending' });
      expect(source.log).toEqual(['subscribed']);

      source.set([]);
      const done = content(await world.mcp.client.callTool({ name: 'fanout_status', arguments: { handle: started.handle } }));
      expect(done).toMatchObject({ done: true, summary: { succeeded: 2 } });
      expect(source.log).toEqual(['subscribed', 'unsubscribed']);
    });
  });
});
