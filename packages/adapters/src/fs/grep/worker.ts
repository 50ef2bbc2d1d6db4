/**
 * A grep worker thread: searches the batches of files the main thread sends and answers with
 * their outcomes. It imports only the search engine (no zod, no scheduler), so it starts fast.
 */
import { parentPort } from 'node:worker_threads';
import { FileSearcher } from './file.js';
import type { WorkerRequest, WorkerResponse } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('expected to run as a worker thread (node:worker_threads), got the main thread');

let searcher: FileSearcher | undefined;

port.on('message', (request: WorkerRequest) => {
  if (request.type === 'configure') {
    searcher = new FileSearcher(request.config);
    return;
  }
  if (searcher === undefined) throw new Error('expected a "configure" message before the first "search"');
  let left = request.maxLines;
  const results = request.files.map((task) => {
    const outcome = searcher!.search(task, left);
    if (outcome.status === 'searched') left -= outcome.matchedLines;
    return outcome;
  });
  const response: WorkerResponse = { type: 'results', batch: request.batch, results };
  port.postMessage(response);
});
