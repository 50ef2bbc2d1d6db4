/**
 * The conformance suite every adapter of `@fanout/adapters` passes; third-party adapters can
 * run it too. Framework-agnostic: each case throws when the adapter fails it. With it, the
 * helpers for calling an adapter outside a scheduler.
 * @module
 */
export { conformanceCases, type BigCase, type ConformanceCase, type ConformanceSubject, type InvalidCase, type SlowCase } from './conformance.js';
export { attemptContext, eventually } from './helpers.js';
