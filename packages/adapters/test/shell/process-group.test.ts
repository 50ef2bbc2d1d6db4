import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScheduler } from '@fanout/scheduler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bashAdapter, ProcessError, type BashAdapter, type BashInput } from '../../src/shell/index.js';
import { killLiveGroups, ProcessGroup } from '../../src/shell/process-group.js';
import { attemptContext, eventually, groupOf, isRunning, killMarked, markedProcesses, newMarker, onLinux, SPAWNERS, type Spawner } from './procs.js';

let root: string;
const adapters = {} as Record<Spawner, BashAdapter>;
beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'fanout-bash-group-')));
  for (const spawner of SPAWNERS) adapters[spawner] = bashAdapter({ roots: [root], killGraceMs: 300, spawner });
});
afterEach(() => {
  killMarked();
});
afterAll(async () => {
  await Promise.all(Object.values(adapters).map((adapter) => adapter.close()));
  await rm(root, { recursive: true, force: true });
});

/** bash and two sleeps, all ignoring SIGTERM (an ignored signal stays ignored across exec). */
function stubborn(marker: string): BashInput {
  return { script: 'trap "" TERM; sleep 300 & sleep 300 & echo ready; wait', shell: 'bash', env: { FANOUT_TEST_MARK: marker } };
}

/** Waits for the three processes of {@link stubborn} and checks they form one group of their own. */
async function groupOfThree(marker: string): Promise<number[]> {
  expect(await eventually(() => markedProcesses(marker).length === 3)).toBe(true);
  const pids = markedProcesses(marker);
  const groups = new Set(pids.map(groupOf));
  expect(groups.size).toBe(1);
  const [pgid] = [...groups];
  expect(pids).toContain(pgid); // bash leads it…
  expect(pgid).not.toBe(groupOf(process.pid)); // …and it is not ours
  for (const pid of pids) expect(isRunning(pid)).toBe(true);
  return pids;
}

describe.runIf(onLinux).each(SPAWNERS)('bash (%s spawner): the whole process group is stopped', (spawner) => {
  // Made in beforeAll, so looked up when a test runs.
  const adapter = (): BashAdapter => adapters[spawner];

  it('after a cancel, no process of the group is left, though all of them ignore SIGTERM', async () => {
    const marker = newMarker();
    const run = createScheduler({ adapters: [adapter()] }).run({ operations: [{ id: 'op', kind: 'bash', input: stubborn(marker) }] });
    const pids = await groupOfThree(marker);
    run.cancel('test');
    expect((await run.result).get('op')!.state).toBe('cancelled');
    expect(await eventually(() => pids.every((pid) => !isRunning(pid)))).toBe(true);
    expect(markedProcesses(marker)).toEqual([]);
  });

  it('after a timeout, no process of the group is left', async () => {
    const marker = newMarker();
    const run = createScheduler({ adapters: [adapter()] }).run({
      operations: [{ id: 'op', kind: 'bash', input: stubborn(marker), timeoutMs: 1000, retry: false }],
    });
    const pids = await groupOfThree(marker);
    expect((await run.result).get('op')!.state).toBe('timed-out');
    expect(await eventually(() => pids.every((pid) => !isRunning(pid)))).toBe(true);
    expect(markedProcesses(marker)).toEqual([]);
  });

  it('an abort of a direct run rejects with FANOUT_ABORTED, the output so far and the reason, once the group is gone', async () => {
    const marker = newMarker();
    const controller = new AbortController();
    const running = adapter().run(adapter().input.parse(stubborn(marker)), attemptContext(controller.signal));
    const pids = await groupOfThree(marker);
    const reason = new Error('enough');
    controller.abort(reason);
    const error = await Promise.resolve(running).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ProcessError);
    const failure = error as ProcessError;
    expect(failure.code).toBe('FANOUT_ABORTED');
    expect(failure.cause).toBe(reason);
    expect(failure.classification).toEqual({ class: 'fatal' });
    expect(failure.result.stdout).toBe('ready\n');
    expect(failure.result.signal).toBe('SIGKILL'); // bash ignored the TERM
    expect(failure.message).toMatch(/stopped script .* process group \(enough\)/);
    // The promise settles when the pipes close, that is when all that held them is exiting:
    // a process closes its files before it is a zombie, so its end is waited for, not assumed.
    expect(await eventually(() => pids.every((pid) => !isRunning(pid)))).toBe(true);
  });

  it('stops what a command left running in the background when it exits, instead of waiting for it', async () => {
    const marker = newMarker();
    const result = await createScheduler({ adapters: [adapter()] }).execute({
      // The background sleep inherits stdout: left alone it would hold the pipe for 300 s.
      operations: [{ id: 'op', kind: 'bash', input: { script: 'sleep 300 & echo started', shell: 'bash', env: { FANOUT_TEST_MARK: marker } }, timeoutMs: 20_000 }],
    });
    const op = result.get('op')!;
    expect(op.state).toBe('succeeded');
    expect(op.output).toMatchObject({ exitCode: 0, stdout: 'started\n' });
    expect(await eventually(() => markedProcesses(marker).length === 0)).toBe(true);
  });

  it('does not wait for a daemon that left the group (setsid): bash exited 0, so the command succeeded', async () => {
    const marker = newMarker();
    const result = await createScheduler({ adapters: [adapter()] }).execute({
      // The daemon holds stdout and stderr and is out of the group's reach. bash waits until
      // it has its own session (else the group's TERM could still reach it), then exits.
      operations: [{ id: 'op', kind: 'bash', input: { script: DAEMON, shell: 'bash', env: { FANOUT_TEST_MARK: marker } }, timeoutMs: 20_000, retry: false }],
    });
    const op = result.get('op')!;
    expect(op.state, String(op.error)).toBe('succeeded');
    expect(op.output).toMatchObject({ exitCode: 0, signal: null, stdout: 'started\n' });
    // The result came while the daemon still ran: nothing waited for its end.
    const [daemon] = markedProcesses(marker);
    expect(daemon).toBeDefined();
    expect(groupOf(daemon!)).not.toBe(groupOf(process.pid));
  });
});

/** bash starts `sleep 300` in a session of its own, waits until it is there, says so and exits. */
const DAEMON = 'setsid sleep 300 & until [ "$(cut -d" " -f6 /proc/$!/stat)" = "$!" ]; do sleep 0.01; done; echo started';

describe.runIf(onLinux)('ProcessGroup', () => {
  it('kills the groups still alive when Node exits (cleanup)', async () => {
    const marker = newMarker();
    const group = ProcessGroup.spawn('bash', ['-c', 'trap "" TERM; sleep 300 & sleep 300 & wait'], {
      cwd: root,
      env: { PATH: process.env.PATH!, FANOUT_TEST_MARK: marker },
      stdin: false,
      cleanup: true,
    });
    const closed = new Promise((resolve) => group.child.once('close', resolve));
    await groupOfThree(marker);
    killLiveGroups(); // what the process 'exit' hook runs
    await closed;
    expect(group.child.signalCode).toBe('SIGKILL');
    expect(await eventually(() => markedProcesses(marker).length === 0)).toBe(true);
  });

  it('leaves the groups started with cleanup: false to their owner at exit', async () => {
    const marker = newMarker();
    const group = ProcessGroup.spawn('sleep', ['300'], { cwd: root, env: { PATH: process.env.PATH!, FANOUT_TEST_MARK: marker }, stdin: false, cleanup: false });
    const closed = new Promise((resolve) => group.child.once('close', resolve));
    expect(await eventually(() => markedProcesses(marker).length === 1)).toBe(true);
    killLiveGroups();
    expect(markedProcesses(marker)).toHaveLength(1);
    group.stop(300);
    await closed;
    expect(group.child.signalCode).toBe('SIGTERM');
  });
});
