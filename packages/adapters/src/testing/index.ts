/**
 * The conformance suite every adapter of `@fanout/adapters` passes; third-party adapters can
 * run it too. Framework-agnostic: each case throws when the adapter fails it.
 * @module
 */
export { conformanceCases, type BigCase, type ConformanceCase, type ConformanceSubject, type InvalidCase, type SlowCase } from './conformance.js';
