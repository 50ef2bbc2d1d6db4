/** The dependency graph of a compiled plan, as flat arrays. */
export interface Graph {
  /** How many operations each one waits for. */
  depCount: Int32Array;
  /** Operations each one waits for: `deps[depStart[i] .. depStart[i + 1])`. */
  depStart: Int32Array;
  deps: Int32Array;
  /** Operations waiting for each one: `dependents[dependentStart[i] .. dependentStart[i + 1])`. */
  dependentStart: Int32Array;
  dependents: Int32Array;
  /** Length of the longest chain of dependents after each operation (0 for a leaf). */
  path: Int32Array;
  /** Dependency cycles, each listed in run order; empty for a valid plan. */
  cycles: number[][];
}

/** Builds the reverse edges, the longest remaining paths and the cycles of a plan. */
export function buildGraph(count: number, depStart: Int32Array, deps: Int32Array): Graph {
  const depCount = new Int32Array(count);
  const dependentStart = new Int32Array(count + 1);
  const path = new Int32Array(count);
  if (deps.length === 0) {
    // No edges at all, the common case of a flat batch: nothing to order.
    return { depCount, depStart, deps, dependentStart, dependents: new Int32Array(0), path, cycles: [] };
  }
  for (let i = 0; i < count; i++) {
    depCount[i] = depStart[i + 1]! - depStart[i]!;
    for (let k = depStart[i]!; k < depStart[i + 1]!; k++) dependentStart[deps[k]! + 1]!++;
  }
  for (let i = 0; i < count; i++) dependentStart[i + 1]! += dependentStart[i]!;
  const dependents = new Int32Array(deps.length);
  const fill = dependentStart.slice(0, count);
  for (let i = 0; i < count; i++) {
    for (let k = depStart[i]!; k < depStart[i + 1]!; k++) dependents[fill[deps[k]!]!++] = i;
  }

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
  if (tail < count) return { depCount, depStart, deps, dependentStart, dependents, path, cycles: findCycles(count, depStart, deps, remaining) };

  for (let o = count - 1; o >= 0; o--) {
    const v = order[o]!;
    let longest = 0;
    for (let k = dependentStart[v]!; k < dependentStart[v + 1]!; k++) {
      const through = path[dependents[k]!]! + 1;
      if (through > longest) longest = through;
    }
    path[v] = longest;
  }
  return { depCount, depStart, deps, dependentStart, dependents, path, cycles: [] };
}

/**
 * Every operation Kahn's algorithm left over waits for at least one other left-over one, so
 * walking "waits for" edges from any of them must come back to a node already seen: a cycle.
 * Reports up to ten distinct cycles.
 */
function findCycles(count: number, depStart: Int32Array, deps: Int32Array, remaining: Int32Array): number[][] {
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
      let next = -1;
      for (let k = depStart[v]!; k < depStart[v + 1]!; k++) {
        if (remaining[deps[k]!]! > 0) {
          next = deps[k]!;
          break;
        }
      }
      v = next;
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
