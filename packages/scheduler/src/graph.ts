/** The dependency graph of a compiled plan, as flat arrays (all empty when it has no edges). */
export interface Graph {
  /** How many dependency edges each operation waits on (an edge given twice counts twice). */
  depCount: Int32Array;
  /** Operations waiting for each one: `dependents[dependentStart[i] .. dependentStart[i + 1])`. */
  dependentStart: Int32Array;
  dependents: Int32Array;
  /** Length of the longest chain of dependents after each operation (0 for a leaf). */
  path: Int32Array;
  /** Dependency cycles, each listed in run order; empty for a valid plan. */
  cycles: number[][];
}

const NONE = new Int32Array(0);

/**
 * Builds the graph of `edges` edges where operation `from[k]` waits for operation `to[k]`:
 * the reverse edges, the longest remaining paths and the cycles.
 */
export function buildGraph(count: number, from: Int32Array, to: Int32Array, edges: number): Graph {
  if (edges === 0) {
    // No edges at all, the common case of a flat batch: nothing to order, and empty columns
    // stand for all-zero ones.
    return { depCount: NONE, dependentStart: NONE, dependents: NONE, path: NONE, cycles: [] };
  }
  const depCount = new Int32Array(count);
  const dependentStart = new Int32Array(count + 1);
  for (let k = 0; k < edges; k++) {
    depCount[from[k]!]!++;
    dependentStart[to[k]! + 1]!++;
  }
  for (let i = 0; i < count; i++) dependentStart[i + 1]! += dependentStart[i]!;
  const dependents = new Int32Array(edges);
  const fill = dependentStart.slice(0, count);
  for (let k = 0; k < edges; k++) dependents[fill[to[k]!]!++] = from[k]!;

  // Kahn's algorithm gives a topological order; what it cannot order lies on or behind a cycle.
  const remaining = depCount.slice();
  const order = new Int32Array(count);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < count; i++) if (remaining[i] === 0) order[tail++] = i;
  while (head < tail) {
    const v = order[head++]!;
    for (let k = dependentStart[v]!; k < dependentStart[v + 1]!; k++) {
      const d = dependents[k]!;
      if (--remaining[d]! === 0) order[tail++] = d;
    }
  }
  const path = new Int32Array(count);
  if (tail < count) return { depCount, dependentStart, dependents, path, cycles: findCycles(count, from, to, edges, remaining) };

  for (let o = count - 1; o >= 0; o--) {
    const v = order[o]!;
    let longest = 0;
    for (let k = dependentStart[v]!; k < dependentStart[v + 1]!; k++) {
      const through = path[dependents[k]!]! + 1;
      if (through > longest) longest = through;
    }
    path[v] = longest;
  }
  return { depCount, dependentStart, dependents, path, cycles: [] };
}

/**
 * Every operation Kahn's algorithm left over waits for at least one other left-over one, so
 * walking "waits for" edges from any of them must come back to a node already seen: a cycle.
 * Reports up to ten distinct cycles. Only runs for invalid plans, so it may allocate freely.
 */
function findCycles(count: number, from: Int32Array, to: Int32Array, edges: number, remaining: Int32Array): number[][] {
  const waitsFor = new Map<number, number>();
  for (let k = 0; k < edges; k++) {
    if (remaining[from[k]!]! > 0 && remaining[to[k]!]! > 0 && !waitsFor.has(from[k]!)) waitsFor.set(from[k]!, to[k]!);
  }
  const cycles: number[][] = [];
  const done = new Uint8Array(count);
  const seenAt = new Int32Array(count).fill(-1);
  for (let start = 0; start < count && cycles.length < 10; start++) {
    if (remaining[start] === 0 || done[start]) continue;
    const walk: number[] = [];
    let v = start;
    while (seenAt[v] === -1 && !done[v]) {
      seenAt[v] = walk.length;
      walk.push(v);
      v = waitsFor.get(v)!;
    }
    if (!done[v]) {
      // The walk followed "waits for" edges; reversed, the cycle reads in run order. It is
      // rotated to start at its first operation in the plan, so the message is stable.
      const cycle = walk.slice(seenAt[v]).reverse();
      const first = cycle.indexOf(Math.min(...cycle));
      cycles.push([...cycle.slice(first), ...cycle.slice(0, first)]);
    }
    for (const w of walk) {
      done[w] = 1;
      seenAt[w] = -1;
    }
  }
  return cycles;
}
