/**
 * Fan-out: an operation with `forEach` becomes one child per item of the list a dependency's
 * output holds, and ends when its children have, with their outputs as its output. Children
 * are appended to the operation table (contiguous, so a parent's are a range) and scheduled
 * like any other operation.
 */
import { describeValue } from './diagnostics.js';
import { FanoutError, type SchedulerErrorCode } from './errors.js';
import { Status, STATE_NAMES } from './op-table.js';
import type { OperationSpec } from './plan.js';
import { pathSteps, resolveRefs, walk } from './refs.js';
import type { RunStateMachine } from './state-machine.js';
import { OpFlag } from './compile.js';
import { inputError } from './zod-issues.js';

/** First child and number of children of each expanded fan-out, for one run. */
export class FanOut {
  readonly #ranges = new Map<number, [number, number]>();

  /** Expands a fan-out operation into one child per item of the list its `forEach` names. */
  expand(m: RunStateMachine, i: number): void {
    const ops = m.ops;
    const spec = ops.spec(i);
    const forEach = spec.forEach!;
    let items: unknown;
    try {
      items = walk(m.outputOf(forEach.$ref), pathSteps(forEach.path), `the output of "${forEach.$ref}"`);
    } catch (error) {
      m.settle(i, (error as FanoutError).code === 'FANOUT_DEPENDENCY_FAILED' ? Status.Skipped : Status.Failed, error);
      return;
    }
    if (!Array.isArray(items)) {
      m.settle(i, Status.Failed, new FanoutError<SchedulerErrorCode>('FANOUT_FOREACH_NOT_LIST', `expected forEach to point to a list, got ${describeValue(items)}`, { path: `operations[${i}].forEach` }));
      return;
    }
    if (ops.count + items.length > m.config.maxOperations) {
      m.settle(
        i,
        Status.Failed,
        new FanoutError<SchedulerErrorCode>(
          'FANOUT_PLAN_TOO_LARGE',
          `expected at most ${m.config.maxOperations} operations in the run, but fanning out over ${items.length} items would make ${ops.count + items.length}`,
          {
            path: `operations[${i}].forEach`,
          },
        ),
      );
      return;
    }
    const children: number[] = [];
    const pool = m.poolList[ops.pool[i]!]!;
    ops.reserve(items.length);
    const { forEach: _omit, ...template } = spec;
    void _omit;
    for (let k = 0; k < items.length; k++) {
      const childId = `${spec.id}[${k}]`;
      if (m.compiled.index.get(childId) >= 0) {
        m.settle(
          i,
          Status.Failed,
          new FanoutError<SchedulerErrorCode>('FANOUT_PLAN_INVALID', `the fan-out child id "${childId}" is already an operation of the plan; rename one of them`, { path: `operations[${i}].id` }),
        );
        return;
      }
    }
    for (let k = 0; k < items.length; k++) {
      const childId = `${spec.id}[${k}]`;
      const item = items[k];
      let input: unknown;
      let problem: unknown;
      try {
        input = resolveRefs(spec.input, m.outputOf, { value: item });
      } catch (error) {
        problem = error;
      }
      const c = ops.addChild(childId, { ...template, id: childId, input } as OperationSpec);
      m.compiled.index.add(c);
      ops.pool[c] = pool.index;
      ops.priority[c] = ops.priority[i]!;
      ops.path[c] = ops.path[i]!;
      ops.parent[c] = i + 1;
      ops.flags[c] = ops.flags[i]! & ~(OpFlag.ForEach | OpFlag.Refs);
      ops.status[c] = Status.Pending;
      if (problem === undefined) {
        const parsed = pool.adapter.input.safeParse(input);
        if (parsed.success) ops.setInput(c, parsed.data);
        else problem = inputError(parsed.error, input, `operations[${i}].input`, childId);
      }
      if (problem !== undefined) ops.errors.set(c, problem);
      children.push(c);
    }
    pool.stats.total += children.length;
    m.config.retryBudget.setOperations(ops.count);
    ops.status[i] = Status.Expanded;
    ops.childrenLeft.set(i, children.length);
    if (children.length > 0) this.#ranges.set(i, [children[0]!, children.length]);
    if (m.hub.active) m.emit({ type: 'op-expanded', id: spec.id, kind: pool.kind, children: children.map((c) => ops.ids[c]!) });
    if (children.length === 0) {
      m.settle(i, Status.Succeeded, []);
      return;
    }
    for (const c of children) {
      if (ops.status[c] !== Status.Pending) continue;
      const problem = ops.errors.get(c);
      if (problem !== undefined) {
        ops.errors.delete(c);
        m.settle(c, Status.Failed, problem);
        continue;
      }
      if (m.journal !== undefined) {
        const decision = m.journal.decision(c);
        if (decision !== undefined) {
          m.settle(c, decision.status, decision.value);
          continue;
        }
      }
      if (m.stopping !== undefined) m.settle(c, Status.Cancelled, m.stopError());
      else m.ready(c);
    }
  }

  /** A child of `parent` ended: when it was the last, the parent ends too. */
  childEnded(m: RunStateMachine, parent: number): void {
    const ops = m.ops;
    const left = ops.childrenLeft.get(parent)! - 1;
    ops.childrenLeft.set(parent, left);
    if (left > 0 || ops.status[parent] !== Status.Expanded) return;
    const [first, n] = this.#ranges.get(parent)!;
    const children = Array.from({ length: n }, (_, k) => first + k);
    let failed = 0;
    let other = 0;
    for (const c of children) {
      const s = ops.status[c];
      if (s === Status.Failed || s === Status.TimedOut) failed++;
      else if (s !== Status.Succeeded) other++;
    }
    if (failed === 0 && other === 0) {
      m.settle(
        parent,
        Status.Succeeded,
        children.map((c) => ops.output(c)),
      );
      return;
    }
    const names = children
      .filter((c) => ops.status[c] !== Status.Succeeded)
      .slice(0, 5)
      .map((c) => `"${ops.ids[c]}" ${STATE_NAMES[ops.status[c]!]}`);
    const error = new FanoutError<SchedulerErrorCode>('FANOUT_CHILDREN_FAILED', `${failed + other} of ${children.length} children did not succeed: ${names.join(', ')}${failed + other > names.length ? ', …' : ''}`);
    m.settle(parent, failed > 0 ? Status.Failed : Status.Cancelled, error);
  }
}
