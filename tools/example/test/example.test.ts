import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler } from '@fanout/scheduler';
import { exampleAdapters } from '../src/adapters.js';
import { examplePlan } from '../src/plan.js';
import { renderSummary } from '../src/render.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fanout-example-'));
  await mkdir(join(root, 'src'));
  await mkdir(join(root, 'node_modules', 'dep'), { recursive: true });
  await writeFile(join(root, 'src', 'a.ts'), 'export const a = 1;\nexport const b = 2;\n');
  await writeFile(join(root, 'src', 'b.ts'), 'export {};\n');
  await writeFile(join(root, 'README.md'), '# hello\n');
  await writeFile(join(root, 'node_modules', 'dep', 'index.js'), 'skipped\n');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the example plan', () => {
  it('digests every file, answers every question and writes the report', async () => {
    const reportPath = join(root, 'report.json');
    const result = await createScheduler({ adapters: exampleAdapters }).execute(examplePlan(root, reportPath));
    expect(result.ok).toBe(true);
    // scan + digest + 3 children + tally + 16 questions + report
    expect(result.summary.total).toBe(1 + 1 + 3 + 1 + 16 + 1);
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as { tally: { extensions: Record<string, { files: number; lines: number }> }; answers: string[] };
    expect(report.tally.extensions['.ts']).toEqual({ files: 2, bytes: 51, lines: 3 });
    expect(report.tally.extensions['.md']).toMatchObject({ files: 1, lines: 1 });
    expect(report.answers).toHaveLength(16);
    expect(report.answers[0]).toBe('scheduler design: ok after 120 ms');
    // Sixteen calls of 40–120 ms, eight at a time, take far less than their 1.2 s sum.
    expect(result.summary.byKind.remote!.busyMs).toBeGreaterThan(result.summary.wallMs);
    const text = renderSummary(result.summary).join('\n');
    expect(text).toContain('speedup');
    expect(text).toContain('remote');
  });
});
