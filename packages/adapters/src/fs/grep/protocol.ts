/**
 * The messages between the main thread and a grep worker thread. A worker serves one scan
 * pass at a time: `configure` lists the pass's consumers (grep operations, `stats`,
 * `markers`), and each `scan` task says which of them want the file, so the worker reads the
 * file once and answers with one outcome per consumer.
 */
import type { ConsumerOutcome, ConsumerSpec, ScanTask } from '../scan/work.js';

/** Main thread → worker. */
export type WorkerRequest =
  /** Sets the consumers of the next batches (one pass's). */
  | { type: 'configure'; consumers: ConsumerSpec[]; roots: readonly string[] }
  /** Reads and hands `tasks` to their consumers. */
  | { type: 'scan'; batch: number; tasks: ScanTask[] };

/** Worker → main thread: per task of a batch, in order, one outcome per consumer it named. */
export interface WorkerResponse {
  type: 'results';
  batch: number;
  results: ConsumerOutcome[][];
  /** Files and bytes the batch read. */
  files: number;
  bytes: number;
}
