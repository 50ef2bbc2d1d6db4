import { describe, it } from 'vitest';
import { conformanceCases, type ConformanceSubject } from '../../src/testing/index.js';

/** Registers the shared conformance suite for one adapter as vitest tests. */
export function describeConformance<I>(subject: ConformanceSubject<I>): void {
  describe(`conformance: ${subject.adapter.kind}`, () => {
    for (const check of conformanceCases(subject)) it(check.name, check.run, 60_000);
  });
}
