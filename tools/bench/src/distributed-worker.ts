/**
 * A worker process of the distributed-scale benchmark:
 * `node distributed-worker.js <redis-url> <prefix> <concurrency json>`. Prints "ready" once it
 * takes jobs; SIGTERM closes it.
 */
import { startWorker } from '@fanout/distributed';
import { benchAdapters } from './distributed-adapters.js';

const [url, prefix, concurrency] = process.argv.slice(2);
const adapters = benchAdapters();
const worker = startWorker({ redis: url!, prefix: prefix!, adapters, concurrency: JSON.parse(concurrency!) as Record<string, number> });
await worker.ready;
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void worker
    .close(5_000)
    .then(() => Promise.all(adapters.map((adapter) => adapter.close?.())))
    .then(() => process.exit(0));
});
