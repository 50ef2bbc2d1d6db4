/** One figure of one subject, the JSON row format every benchmark writes. */
export interface Row {
  bench: string;
  /** `fanout` for ours, the anchor's package name for theirs, `ideal` for a computed bound. */
  subject: string;
  metric: string;
  value: number;
  unit: string;
  params?: Record<string, unknown>;
}

/** What one measured run of a subject reports: metric → value. */
export type Measurement = Record<string, number>;

/** A subject of a benchmark: run in a fresh child process per measured run. */
export interface Subject {
  name: string;
  params?: Record<string, unknown>;
  /** Shown instead of running when the subject cannot run here (a missing tool). */
  skip?: string;
}

/** A metric's unit and whether more is better. */
export interface MetricInfo {
  unit: string;
  better: 'higher' | 'lower';
}

export const METRICS: Record<string, MetricInfo> = {
  ops_per_s: { unit: 'ops/s', better: 'higher' },
  wall_ms: { unit: 'ms', better: 'lower' },
  ideal_ms: { unit: 'ms', better: 'lower' },
  rss_mb: { unit: 'MB', better: 'lower' },
  mb_per_s: { unit: 'MB/s', better: 'higher' },
  p50_ms: { unit: 'ms', better: 'lower' },
  p99_ms: { unit: 'ms', better: 'lower' },
  error_rate: { unit: 'ratio', better: 'lower' },
  validate_ms: { unit: 'ms', better: 'lower' },
  gc_ms: { unit: 'ms', better: 'lower' },
  matches: { unit: 'lines', better: 'higher' },
  ms_per_op: { unit: 'ms', better: 'lower' },
  cpu_ms_per_op: { unit: 'ms', better: 'lower' },
  cpu_here_ms_per_op: { unit: 'ms', better: 'lower' },
  cpu_workers_ms_per_op: { unit: 'ms', better: 'lower' },
  cpu_redis_ms_per_op: { unit: 'ms', better: 'lower' },
  redis_cmds_per_op: { unit: '', better: 'lower' },
  server_in_flight_max: { unit: 'requests', better: 'lower' },
  trace_fetch_ms: { unit: 'ms', better: 'lower' },
  trace_running_ms: { unit: 'ms', better: 'lower' },
  trace_held_ms: { unit: 'ms', better: 'lower' },
  trace_free_waiting_ms: { unit: 'ms', better: 'lower' },
  trace_free_empty_ms: { unit: 'ms', better: 'lower' },
  trace_tail_ms: { unit: 'ms', better: 'lower' },
  trace_slot_gap_ms: { unit: 'ms', better: 'lower' },
  trace_idle_between_ms: { unit: 'ms', better: 'lower' },
  trace_first_added_ms: { unit: 'ms', better: 'lower' },
  trace_all_busy_ms: { unit: 'ms', better: 'lower' },
  trace_gap_to_finish_ms: { unit: 'ms', better: 'lower' },
  trace_gap_from_take_ms: { unit: 'ms', better: 'lower' },
  trace_chained: { unit: 'ratio', better: 'higher' },
  trace_fetched_start_ms: { unit: 'ms', better: 'lower' },
  trace_wall_ms: { unit: 'ms', better: 'lower' },
  speedup: { unit: '×', better: 'higher' },
  follow_s: { unit: 's', better: 'lower' },
  event_loop_p99_ms: { unit: 'ms', better: 'lower' },
  failed_ops: { unit: 'ops', better: 'lower' },
  grep_ops: { unit: 'ops', better: 'higher' },
  final_limit: { unit: '', better: 'lower' },
  grep_limit_start: { unit: '', better: 'lower' },
  grep_limit_min: { unit: '', better: 'lower' },
  run_ms: { unit: 'ms', better: 'lower' },
  estimate_ms: { unit: 'ms', better: 'lower' },
  operations: { unit: 'ops', better: 'higher' },
  commands: { unit: '', better: 'lower' },
  large_tree: { unit: '', better: 'higher' },
  setup_ms_per_agent: { unit: 'ms', better: 'lower' },
  collect_ms_per_agent: { unit: 'ms', better: 'lower' },
  clean_ms: { unit: 'ms', better: 'lower' },
  clean_ms_per_agent: { unit: 'ms', better: 'lower' },
  tokens: { unit: 'tokens', better: 'lower' },
  code_lines: { unit: 'lines', better: 'higher' },
  cloc_code_lines: { unit: 'lines', better: 'higher' },
  files_diff_pct: { unit: '%', better: 'lower' },
  blank_diff_pct: { unit: '%', better: 'lower' },
  comment_diff_pct: { unit: '%', better: 'lower' },
  code_diff_pct: { unit: '%', better: 'lower' },
  worst_language_code_diff_pct: { unit: '%', better: 'lower' },
  recovery_ms: { unit: 'ms', better: 'lower' },
  end_after_kill_ms: { unit: 'ms', better: 'lower' },
};

/** A benchmark: its subjects and how to run one of them in a child process. */
export interface Bench {
  name: string;
  description: string;
  subjects(quick: boolean): Subject[];
  /** Runs in the child process; returns the figures of one run. */
  run(subject: Subject, quick: boolean): Promise<Measurement>;
  /** Lines that compare the medians with the bench's goal, e.g. "fanout ≥ fastq: 1.3× ✔". */
  goals?(rows: Row[], all: Row[]): string[];
}
