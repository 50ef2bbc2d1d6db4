/** The messages between the main thread and a grep worker thread. */
import type { FileOutcome, FileSearchConfig, FileTask } from './file.js';

/** Main thread → worker. */
export type WorkerRequest =
  /** Sets how the files of the next batches are searched (one operation's settings). */
  | { type: 'configure'; config: FileSearchConfig }
  /** Searches `files`; `maxLines` is what the operation's total cap still allows. */
  | { type: 'search'; batch: number; files: FileTask[]; maxLines: number };

/** Worker → main thread: the outcome of every file of a batch, in order. */
export interface WorkerResponse {
  type: 'results';
  batch: number;
  results: FileOutcome[];
}
