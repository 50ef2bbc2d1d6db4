export { createScheduler, Scheduler, Run, type RunOptions, type SchedulerOptions } from './scheduler.js';
export type { RunSnapshot } from './engine.js';
export type { OperationResult, RunResult } from './result.js';
export {
  defineAdapter,
  defaultClassify,
  type Adapter,
  type AdapterDefaults,
  type AttemptContext,
  type Batcher,
  type BatchMember,
  type Classification,
  type ErrorClass,
} from './adapter.js';
export {
  planSchema,
  operationSchema,
  planJsonSchema,
  type FailurePolicy,
  type ItemRef,
  type LiteralValue,
  type LockSpec,
  type OperationSpec,
  type OutputRef,
  type Plan,
  type PlanPolicy,
  type RetrySpec,
} from './plan.js';
export type { CompiledPlan } from './compile.js';
export { validatePlan, type PlanLimits, type ValidationResult } from './validate.js';
export {
  FlagCheck,
  OptionCheck,
  describeValue,
  describeZodIssues,
  joinPath,
  valueAt,
  type Diagnostic,
  type OptionErrorClass,
  type RangeOptions,
} from './diagnostics.js';
export {
  FanoutError,
  IssuesError,
  PlanValidationError,
  serializeError,
  type FanoutErrorOptions,
  type PlanIssue,
  type SchedulerErrorCode,
  type SerializedError,
} from './errors.js';
export {
  TERMINAL_STATES,
  type EventInit,
  type LimitChangedEvent,
  type OpExpandedEvent,
  type OpFinishedEvent,
  type OpProgressEvent,
  type OpQueuedEvent,
  type OpRetryingEvent,
  type OpStartedEvent,
  type PressureChangedEvent,
  type RunFinishedEvent,
  type RunStartedEvent,
  type SchedulerEvent,
  type TerminalState,
} from './events.js';
export type { IterateOptions } from './event-hub.js';
export {
  FixedLimiter,
  SampleWindow,
  type Limiter,
  type LimiterFactory,
  type LimiterOptions,
  type LimiterOutcome,
  type LimiterSample,
  type WindowOptions,
  type WindowSummary,
} from './limiter.js';
export { AimdLimiter, type AimdOptions } from './limiters/aimd.js';
export { VegasLimiter, type VegasOptions } from './limiters/vegas.js';
export { GradientLimiter, type GradientOptions } from './limiters/gradient.js';
export type { LimiterName, PoolOptions } from './pool.js';
export type { PressureReading, PressureSource } from './pressure.js';
export { systemClock, type Clock, type TimerHandle } from './clock.js';
export { Histogram, type Percentiles } from './histogram.js';
export { backoffDelay, type RetryBudgetSpec } from './retry.js';
export { escapedExcerpt, escapeHtml } from './excerpt.js';
export {
  isJournalLine,
  readJournal,
  repairJournalTail,
  type JournalEndRecord,
  type JournalMode,
  type JournalOpRecord,
  type JournalOptions,
  type JournalRecord,
  type JournalRunRecord,
  type JournalSink,
  type JournalState,
} from './journal.js';
export type { FailureRecord, KindSummary, LimitPoint, RunSummary } from './summary.js';
export { processCpuMeter, type CpuMeter } from './sequential.js';
