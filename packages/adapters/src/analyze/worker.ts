/**
 * Entry point of an analyze worker thread. It imports only `node:` modules and this
 * directory's worker-side files (no zod, no scheduler), so a fresh worker — one replaces every
 * worker ended by an abort — starts in tens of milliseconds.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { AnalyzerFailure, describeCause, messageOf } from './failure.js';
import { runModuleAnalyzer } from './module-analyzer.js';
import type { Job, TaskMessage, WorkerFailure, WorkerMessage } from './protocol.js';

if (parentPort === null) throw new Error('expected to run as a worker thread of the analyze pool, got the main thread');
const port = parentPort;

function post(message: WorkerMessage): void {
  port.postMessage(message);
}

function perform(job: Job, progress: (data: unknown) => void): Promise<unknown> {
  return runModuleAnalyzer(job, progress);
}

async function handle({ id, job }: TaskMessage): Promise<void> {
  const field = 'module';
  let value: unknown;
  try {
    value = await perform(job, (data) => post({ type: 'progress', id, data }));
  } catch (error) {
    const failure: WorkerFailure =
      error instanceof AnalyzerFailure ? error.toFailure() : { code: 'FANOUT_ANALYZER_FAILED', field, message: `the ${job.analyzer} analysis failed: ${messageOf(error)}`, cause: describeCause(error) };
    post({ type: 'failed', id, failure });
    return;
  }
  try {
    post({ type: 'done', id, value });
  } catch (error) {
    // postMessage clones synchronously: a function or a symbol in the result lands here.
    post({
      type: 'failed',
      id,
      failure: { code: 'FANOUT_ANALYZER_FAILED', field, message: `expected the analyzer's result to be copyable out of the worker (structured clone), got: ${messageOf(error)}`, cause: describeCause(error) },
    });
  }
}

port.on('message', (message: TaskMessage) => void handle(message));
post({ type: 'ready' });
