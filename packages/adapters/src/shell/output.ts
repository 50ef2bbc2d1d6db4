/**
 * The output of `bash`: how the process ended and what it said. Output is the head of each
 * stream up to its cap, as UTF-8 and exactly as written (no newline stripped).
 */
export interface BashOutput {
  /** Exit code, or null when a signal ended the process. */
  exitCode: number | null;
  /** The signal that ended the process (`"SIGKILL"`), or null. */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** From the spawn to the close of the last pipe. */
  durationMs: number;
  /** Which streams were cut at their cap. */
  truncated: { stdout: boolean; stderr: boolean };
  /** The argv that ran (`["bash", "-c", script, "bash", ...args]` for a script). */
  command: string[];
  /** Bytes each stream wrote in all, kept or not. */
  bytes: { stdout: number; stderr: number };
  /** The absolute working directory it ran in. */
  cwd: string;
}
