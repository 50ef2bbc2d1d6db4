export {
  createMonitor,
  DEFAULT_SIGNALS,
  MACHINE_SIGNALS,
  Monitor,
  SIGNAL_CLASS,
  type MachineSignalName,
  type MonitorEvent,
  type MonitorOptions,
  type SampleEvent,
  type SignalChangedEvent,
  type Sampler,
  type SignalState,
} from './monitor.js';
export { DEFAULT_KIND_CLASSES, RESOURCE_CLASSES, type ResourceClass } from './classes.js';
export {
  DEFAULT_RUN_SIGNALS,
  type ContentionSpec,
  type KindSignalName,
  type RateSignalSpec,
  type RunSignalOptions,
  type WatchableRun,
  type WatchOptions,
} from './run-signals.js';
export { SustainedSignal, type SignalSpec } from './signal.js';
export { MetricsRecorder, type KindCounters, type KindMetrics, type MetricsOptions, type MetricsSnapshot } from './metrics.js';
export type { SeriesPoint } from './time-series.js';
export { MonitorError, type MonitorErrorCode } from './errors.js';
export { ResourceSampler, type SamplerOptions } from './sampler.js';
export type {
  CpuReading,
  DiskReading,
  EventLoopReading,
  MemoryReading,
  MissingSignal,
  NetworkReading,
  PressureStallReading,
  ResourceSample,
  SourceName,
  StallFile,
  StallLine,
} from './sample.js';
export type { CgroupLocation } from './sources/cgroup.js';
export type { ProcessProbe } from './sources/cpu.js';
export { nodeEventLoopProbe, type EventLoopProbe } from './sources/event-loop.js';
export { processTreeCpuMeter, parseStatTimes, type ProcessTreeCpuOptions } from './process-tree-cpu.js';
