/**
 * The messages between the analyze pool (main thread) and its workers. One task at a time
 * per worker; `id` ties replies to the task, so a late reply of an ended task is ignored.
 * Only analyzer modules run here: the built-in `stats` and `markers` are per-file work of the
 * shared scan (`fs/scan`), which reads each file once for every operation that wants it.
 */

/** A task for a worker: an analyzer module over the files found. */
export type Job = { analyzer: 'module'; files: string[]; truncated: boolean; module: string; options: unknown; roots: string[] };

/** Main thread → worker. */
export interface TaskMessage {
  type: 'task';
  id: number;
  job: Job;
}

/**
 * An error raised in a worker, as plain data (an `AdapterError` is rebuilt from it in the
 * main thread; the worker does not load the error classes, to start fast).
 */
export interface WorkerFailure {
  code: 'FANOUT_ANALYZER_FAILED' | 'FANOUT_ANALYZER_INVALID';
  /** The input field concerned: `module`, `options.depth`, `analyzer`. */
  field: string;
  message: string;
  cause?: { name: string; message: string; stack?: string | undefined };
}

/** Worker → main thread. */
export type WorkerMessage = { type: 'ready' } | { type: 'progress'; id: number; data: unknown } | { type: 'done'; id: number; value: unknown } | { type: 'failed'; id: number; failure: WorkerFailure };
