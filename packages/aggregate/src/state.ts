import type { RunSummary, TerminalState } from '@fanout/scheduler';
import { Group, LineGroup } from './group.js';
import type { Weights } from './weights.js';

/** What the aggregation knows of one operation. */
export interface OpRecord {
  id: string;
  kind: string;
  state: TerminalState;
  /** The fan-out operation it is a child of. */
  parent: string | undefined;
  /** A few words on what it did (`/TODO/ in src`). */
  detail: string | undefined;
  /** Items its output held. */
  items: number;
  /** Items no earlier operation had produced. */
  fresh: number;
  attempts: number;
  durationMs: number;
  /** A fan-out operation: its children carry its results and failures. */
  expanded: boolean;
  /** Problems inside its output (a cut, a file that failed). */
  problems: number;
}

/** An operation that did not succeed, and what the result lacks because of it. */
export interface FailureRecord {
  op: string;
  kind: string;
  state: Exclude<TerminalState, 'succeeded'>;
  code: string;
  message: string;
  /** Where: the input field or file the error names. */
  path?: string;
  missing: string;
  parent?: string;
}

/** A problem inside an operation that succeeded. */
export interface ProblemRecord {
  op: string;
  kind: string;
  code: string;
  message: string;
  missing?: string;
}

/** Bounded lists: everything is counted, the first `max` are kept in detail. */
export class BoundedList<T> {
  readonly items: T[] = [];
  total = 0;

  constructor(readonly max: number) {}

  push(item: T): void {
    this.total++;
    if (this.items.length < this.max) this.items.push(item);
  }
}

/** Everything an aggregation has gathered; the report is built from it. */
export class AggregationState {
  readonly groups = new Map<string, Group>();
  readonly ops: OpRecord[] = [];
  readonly opIndex = new Map<string, number>();
  readonly failures: BoundedList<FailureRecord>;
  readonly problems: BoundedList<ProblemRecord>;
  readonly notes: BoundedList<string>;
  readonly failuresByCode = new Map<string, number>();
  readonly weights: Weights;
  readonly maxEntries: number;
  readonly maxText: number;
  summary: RunSummary | undefined;

  constructor(weights: Weights, maxEntries: number, maxText: number, maxListed: number) {
    this.weights = weights;
    this.maxEntries = maxEntries;
    this.maxText = maxText;
    this.failures = new BoundedList(maxListed);
    this.problems = new BoundedList(maxListed);
    this.notes = new BoundedList(maxListed);
  }

  group(type: string): Group {
    let group = this.groups.get(type);
    if (group === undefined) {
      group = type === 'match' ? new LineGroup(type, this.maxEntries) : new Group(type, this.maxEntries);
      this.groups.set(type, group);
    }
    return group;
  }

  /** Items seen over all groups, duplicates included. */
  get items(): number {
    let n = 0;
    for (const group of this.groups.values()) n += group.seen;
    return n;
  }
}
