/**
 * `@fanout/monitor/report`: a run drawn for people — its timeline recorded from the events,
 * the self-contained HTML report and its sections (the server's dashboard draws live runs
 * with them), and Chrome's trace-event format.
 * @module
 */
export { formatMs, sequentialNote } from './format.js';
export { renderFailures, renderHtmlReport, renderSummaryFacts, renderTimelineSections, REPORT_CSS } from './html.js';
export { TimelineRecorder, toChromeTrace, type Point, type ResourcePoint, type Slice, type Timeline } from './timeline.js';
