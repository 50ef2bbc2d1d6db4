/**
 * A worker process of the distributed-scale benchmark:
 * `node distributed-worker.js <redis-url> <prefix> <concurrency json>`. Prints "ready" once it
 * takes jobs; SIGTERM closes it. With `BENCH_DISTRIBUTED_TRACE_DIR` set, it writes when its
 * adapters started and ended each attempt into `<dir>/<pid>.tsv` as it closes (see
 * distributed-trace.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorker } from '@fanout/distributed';
import type { Adapter } from '@fanout/scheduler';
import { benchAdapters } from './distributed-adapters.js';

const [url, prefix, concurrency] = process.argv.slice(2);
const traceDir = process.env.BENCH_DISTRIBUTED_TRACE_DIR;
const spans: string[] = [];
const now = (): number => performance.timeOrigin + performance.now();
const adapters = benchAdapters();
const served: Adapter[] =
  traceDir === undefined
    ? adapters
    : adapters.map((adapter) => ({
        ...adapter,
        run: async (input, context) => {
          const start = now();
          try {
            return await adapter.run(input, context);
          } finally {
            spans.push(`${context.runId}\t${context.id}\t${start}\t${now()}`);
          }
        },
      }));
const worker = startWorker({ redis: url!, prefix: prefix!, adapters: served, concurrency: JSON.parse(concurrency!) as Record<string, number> });
await worker.ready;
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void worker
    .close(5_000)
    .then(() => Promise.all(adapters.map((adapter) => adapter.close?.())))
    .then(() => {
      if (traceDir !== undefined) writeFileSync(join(traceDir, `${process.pid}.tsv`), spans.join('\n'));
      process.exit(0);
    });
});
