import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareEntries, Entry } from '../src/entry.js';
import { topEntries } from '../src/rank.js';

describe('topEntries', () => {
  it('is the head of a full sort, ties included (property)', () => {
    const sighting = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom(0.2, 0.4, 0.5));
    fc.assert(
      fc.property(fc.array(fc.array(sighting, { minLength: 1, maxLength: 4 }), { maxLength: 60 }), fc.integer({ min: 0, max: 70 }), (specs, k) => {
        const entries = specs.map((sightings, i) => {
          const entry = new Entry(`k${i}`, {}, i);
          for (const [source, weight] of sightings) entry.hit(source, weight, 0);
          return entry;
        });
        const expected = [...entries].sort(compareEntries).slice(0, k);
        expect(topEntries(entries, k).map((e) => e.key)).toEqual(expected.map((e) => e.key));
      }),
      { numRuns: 500 },
    );
  });
});
