import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers.js';

// util-linux's `script` gives the command a pseudo-terminal, as a person's shell would.
const SCRIPT = spawnSync('script', ['--version']).status === 0;
if (!SCRIPT) console.warn('util-linux "script" is not installed: the live view under a pseudo-terminal is not tested here');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-live-'));
  await writeFile(
    join(dir, 'plan.json'),
    JSON.stringify({
      operations: [{ id: 'list', kind: 'glob', input: { pattern: '*' } }, ...Array.from({ length: 3 }, (_, i) => ({ id: `nap-${i}`, kind: 'bash', input: { command: ['sleep', '0.8'] } }))],
    }),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `fanout args…` on a pseudo-terminal; returns everything the terminal received. */
function onTerminal(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'"'"'`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: dir, env: { ...process.env, TERM: 'xterm-256color', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (screen += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen }));
  });
}

describe.skipIf(!SCRIPT)('the live view', () => {
  it('draws a line per kind in place while the run goes, then clears it and prints the summary', async () => {
    const { code, screen } = await onTerminal(['run', 'plan.json'], { NO_COLOR: undefined, FORCE_COLOR: undefined });
    expect(code).toBe(0);
    expect(screen).toMatch(/fanout · \d+\.\d s · Ctrl-C to stop/);
    // Once the monitor has sampled (every 500 ms; the run lasts 800), the header shows the machine.
    expect(screen).toMatch(/fanout · \d+\.\d s · cpu \d+% · memory \d+%.* · Ctrl-C to stop/);
    // bash: done/total, percent, in flight/limit, rate; drawn again in place (cursor up, clear).
    expect(screen).toMatch(/bash +0\/3 +0% +in flight +3\/\d+ +\d+\/s/);
    expect(screen).toMatch(/\u001b\[\d+F\u001b\[0J/);
    expect(screen).toMatch(/speedup +\S*[\d.]+×/);
    expect(screen).toMatch(/\u001b\[\d+m/); // colour on a terminal
  });

  it('respects NO_COLOR: the view still redraws, but without colours', async () => {
    const { code, screen } = await onTerminal(['run', 'plan.json'], { NO_COLOR: '1' });
    expect(code).toBe(0);
    expect(screen).toMatch(/\u001b\[\d+F\u001b\[0J/);
    expect(screen).not.toMatch(/\u001b\[[\d;]*m/);
  });

  it('--quiet draws nothing but the output', async () => {
    const { code, screen } = await onTerminal(['run', 'plan.json', '--quiet', '--json'], {});
    expect(code).toBe(0);
    expect(screen).not.toMatch(/Ctrl-C to stop/);
    expect(screen).not.toMatch(/\u001b\[\d+F/);
  });
});
