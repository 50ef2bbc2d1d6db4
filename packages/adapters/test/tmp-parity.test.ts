import { it } from 'vitest';
import { compileGrepWorker } from './fs/grep/compiled-worker.js';
import { grep } from './fs/grep/fixtures.js';
const norm = (o: any) => JSON.parse(JSON.stringify(o, (k, v) => (k === 'elapsed' || k === 'elapsed_total' ? undefined : v)));
it('x', async () => {
  const worker = await compileGrepWorker();
  const dir = process.env.TREE!;
  for (const input of [{ pattern: 'export', mode: 'count' }, { pattern: 'function', context: 1 }, { pattern: 'interface\\s+\\w+', ignoreCase: true, mode: 'count' }, { pattern: 'TODO', mode: 'files' }] as any[]) {
    const t0 = performance.now();
    const a = await grep(input, { roots: [dir], workerScript: worker.script, engine: 'builtin' } as any);
    const t1 = performance.now();
    const b = await grep(input, { roots: [dir], workerScript: worker.script, engine: 'ripgrep' } as any);
    const t2 = performance.now();
    const am = norm(a.output.messages), bm = norm(b.output.messages);
    let diff = -1;
    for (let i = 0; i < Math.max(am.length, bm.length); i++) if (JSON.stringify(am[i]) !== JSON.stringify(bm[i])) { diff = i; break; }
    console.log(JSON.stringify(input), a.state, b.state, b.error?.message, 'builtin', (t1 - t0).toFixed(0), 'rg', (t2 - t1).toFixed(0), 'msgs', am.length, bm.length, 'firstdiff', diff, diff >= 0 ? JSON.stringify(am[diff])?.slice(0, 300) + '\n  VS ' + JSON.stringify(bm[diff])?.slice(0, 300) : '', JSON.stringify(a.output.stats), JSON.stringify(b.output.stats), a.output.truncated, b.output.truncated, a.output.errors.length, b.output.errors.length);
  }
  await worker.cleanup();
}, 120000);
