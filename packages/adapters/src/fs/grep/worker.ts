/**
 * A grep worker thread, the scan's: reads the files the main thread sends, once each, and
 * answers with every consumer's outcome. It imports only the per-file work (the search engine
 * and the analyzers' per-file halves: no zod, no scheduler), so it starts fast.
 */
import { parentPort } from 'node:worker_threads';
import { FileWork } from '../scan/work.js';
import type { WorkerRequest, WorkerResponse } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('expected to run as a worker thread (node:worker_threads), got the main thread');

let work: FileWork | undefined;

port.on('message', (request: WorkerRequest) => {
  if (request.type === 'configure') {
    work = new FileWork(request.consumers, request.roots);
    return;
  }
  if (work === undefined) throw new Error('expected a "configure" message before the first "scan"');
  const files = work.filesRead;
  const bytes = work.bytesRead;
  const results = work.runBatch(request.tasks);
  const response: WorkerResponse = { type: 'results', batch: request.batch, results, files: work.filesRead - files, bytes: work.bytesRead - bytes };
  port.postMessage(response);
});
