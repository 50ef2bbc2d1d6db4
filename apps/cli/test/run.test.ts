import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@fanout/adapters/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, fanout } from './helpers.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-cli-run-'));
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src', 'a.ts'), 'export const a = 1; // TODO one\n');
  await writeFile(join(dir, 'src', 'b.ts'), 'export const b = 2;\n');
  await writeFile(join(dir, 'README.md'), '# demo\n');
  await writeFile(
    join(dir, 'plan.json'),
    JSON.stringify({
      name: 'demo plan',
      operations: [
        { id: 'sources', kind: 'glob', input: { pattern: 'src/*.ts' } },
        { id: 'todo', kind: 'grep', input: { pattern: 'TODO', paths: ['src'] } },
        { id: 'first', kind: 'read', input: { paths: { $ref: 'sources', path: 'files' }, head: 1 } },
      ],
    }),
  );
  await writeFile(
    join(dir, 'failing.json'),
    JSON.stringify({
      operations: [
        { id: 'ok', kind: 'glob', input: { pattern: '*' } },
        { id: 'missing', kind: 'read', input: { path: 'nope.txt' } },
      ],
    }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fanout run', () => {
  it('runs a plan, prints the aggregated report on stdout and the summary on stderr', async () => {
    const result = await fanout(['run', 'plan.json'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('# demo plan');
    expect(result.stdout).toContain(join(dir, 'src', 'a.ts'));
    expect(result.stderr).toMatch(/operations {2}3 \(3 succeeded\)/);
    expect(result.stderr).toMatch(/speedup {5}\d+\.\d×/);
  });

  it('--json prints the report object; --markdown the Markdown; --quiet no summary', async () => {
    const json = await fanout(['run', 'plan.json', '--json', '--quiet'], { cwd: dir });
    const report = JSON.parse(json.stdout) as { title: string; groups: { type: string; entries: unknown[] }[] };
    expect(report.title).toBe('demo plan');
    expect(report.groups.find((g) => g.type === 'file')?.entries.length).toBeGreaterThanOrEqual(2);
    expect(json.stderr).toBe('');
    const markdown = await fanout(['run', 'plan.json', '--markdown', '-q'], { cwd: dir });
    expect(markdown.stdout.startsWith('# demo plan')).toBe(true);
  });

  it('--ndjson streams the events, one JSON object a line, in order', async () => {
    const result = await fanout(['run', 'plan.json', '--ndjson'], { cwd: dir });
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; seq: number; id?: string });
    expect(events[0]!.type).toBe('run-started');
    expect(events.at(-1)!.type).toBe('run-finished');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(
      events
        .filter((e) => e.type === 'op-finished')
        .map((e) => e.id)
        .sort(),
    ).toEqual(['first', 'sources', 'todo']);
  });

  it('--trace writes Chrome trace events: a slice per attempt on its pool’s lanes, counters', async () => {
    const trace = join(dir, 'trace.json');
    const result = await fanout(['run', 'plan.json', '--trace', trace, '-q'], { cwd: dir });
    expect(result.code).toBe(0);
    const { traceEvents } = JSON.parse(await readFile(trace, 'utf8')) as { traceEvents: { ph: string; name: string; cat?: string; args?: Record<string, unknown> }[] };
    const slices = traceEvents.filter((e) => e.ph === 'X');
    expect(slices.map((s) => s.name).sort()).toEqual(['first', 'sources', 'todo']);
    expect(traceEvents.some((e) => e.ph === 'M' && e.name === 'thread_name' && String(e.args?.name).startsWith('glob'))).toBe(true);
    expect(traceEvents.some((e) => e.ph === 'C' && e.name === 'grep in flight')).toBe(true);
    // The machine as the monitor sampled it, at least once (as the run ended).
    const machine = traceEvents.filter((e) => e.ph === 'C' && e.name === 'machine %');
    expect(machine.length).toBeGreaterThan(0);
    expect(machine[0]!.args).toMatchObject({ cpu: expect.any(Number), memory: expect.any(Number) });
  });

  it('exits 1 when an operation fails, naming it and why', async () => {
    const result = await fanout(['run', 'failing.json'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('missing (read)');
    expect(result.stderr).toMatch(/nope\.txt/);
  });

  it('exits 2 on a bad plan, every problem with its path', async () => {
    const result = await fanout(['run', '-'], {
      cwd: dir,
      input: JSON.stringify({
        operations: [
          { id: 'x', kind: 'glob', input: {} },
          { id: 'x', kind: 'glob', input: { pattern: '*' } },
        ],
      }),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('operations[0].input.pattern');
    expect(result.stderr).toContain('operations[1].id: duplicate id "x"');
  });

  it('keeps a journal and resumes from it without rerunning successes', async () => {
    const journal = join(dir, 'journal.ndjson');
    expect((await fanout(['run', 'failing.json', '--journal', journal, '-q'], { cwd: dir })).code).toBe(1);
    await writeFile(join(dir, 'nope.txt'), 'now it exists\n');
    const resumed = await fanout(['run', 'failing.json', '--journal', journal, '--resume'], { cwd: dir });
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain('1 carried over from the journal');
    await rm(join(dir, 'nope.txt'));
    expect((await fanout(['run', 'plan.json', '--resume'], { cwd: dir })).stderr).toContain('--resume and --retry-failed need --journal FILE');
  });

  it('cancels on the first Ctrl-C, prints what finished, completes the journal, exits 130', async () => {
    const plan = join(dir, 'slow.json');
    const journal = join(dir, 'slow.ndjson');
    await writeFile(
      plan,
      JSON.stringify({
        operations: [{ id: 'quick', kind: 'glob', input: { pattern: '*' } }, ...Array.from({ length: 4 }, (_, i) => ({ id: `slow-${i}`, kind: 'bash', input: { command: ['sleep', '30'] }, after: ['quick'] }))],
      }),
    );
    const child = spawn(process.execPath, [BIN, 'run', plan, '--journal', journal], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    // Interrupt once the sleeps are running.
    expect(await eventually(async () => (await readFile(journal, 'utf8').catch(() => '')).includes('"quick"'), 20_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(stderr).toContain('interrupted, cancelling');
    expect(stderr).toMatch(/1 succeeded.*4 cancelled/);
    const records = (await readFile(journal, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; id?: string; state?: string });
    expect(
      records
        .filter((r) => r.type === 'op')
        .map((r) => `${r.id}:${r.state}`)
        .sort(),
    ).toEqual(['quick:succeeded', 'slow-0:cancelled', 'slow-1:cancelled', 'slow-2:cancelled', 'slow-3:cancelled']);
    expect(records.at(-1)!.type).toBe('end');
  });
});
