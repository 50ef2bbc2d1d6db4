import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const run = promisify(execFile);

describe('a monitor nobody stops', () => {
  it('does not keep the process alive', async () => {
    // The build (a dependency of the test target) must have run: the child imports plain JS.
    expect(existsSync(DIST), `expected ${DIST}: run "npm run build" in packages/monitor first`).toBe(true);
    const script = `
      import { createMonitor } from ${JSON.stringify(DIST)};
      const monitor = createMonitor({ intervalMs: 50 });
      monitor.start();
      monitor.subscribe(() => {});
      setTimeout(() => console.log(JSON.stringify({ running: monitor.running, sampled: monitor.latest !== undefined })), 300);
    `;
    const started = Date.now();
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 });
    expect(JSON.parse(stdout)).toEqual({ running: true, sampled: true });
    // It exited by itself (the timeout above would have killed it otherwise), well before 10 s.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
