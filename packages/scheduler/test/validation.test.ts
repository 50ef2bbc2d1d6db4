import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createScheduler, defineAdapter, planJsonSchema, PlanValidationError, validatePlan, type Adapter } from '../src/index.js';

const read = defineAdapter({
  kind: 'read',
  input: z.object({ path: z.string(), maxBytes: z.number().int().positive().optional() }),
  run: () => 'content',
});
const glob = defineAdapter({ kind: 'glob', input: z.object({ pattern: z.string() }), run: () => ({ files: ['a', 'b'] }) });
const adapters = new Map<string, Adapter>([
  ['read', read],
  ['glob', glob],
]);

function issuesOf(plan: unknown, maxOperations?: number) {
  const result = validatePlan(plan, adapters, maxOperations === undefined ? {} : { maxOperations });
  if (result.ok) throw new Error('expected the plan to be invalid');
  return result.issues;
}

describe('validatePlan', () => {
  it('accepts a valid plan and compiles its graph', () => {
    const result = validatePlan(
      {
        operations: [
          { id: 'find', kind: 'glob', input: { pattern: '**/*.ts' } },
          { id: 'first', kind: 'read', input: { path: { $ref: 'find', path: 'files.0' } } },
          { id: 'each', kind: 'read', input: { path: { $item: true } }, forEach: { $ref: 'find', path: 'files' } },
          { id: 'after', kind: 'read', input: { path: 'x' }, after: ['first', 'each'] },
        ],
      },
      adapters,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { graph, ids } = result.compiled;
    expect(Array.from(graph.depCount)).toEqual([0, 1, 1, 2]);
    // find → first → after is the longest chain: 2 steps remain after "find".
    expect(graph.path[ids.indexOf('find')]).toBe(2);
    expect(graph.path[ids.indexOf('after')]).toBe(0);
  });

  it('reports every problem at once, each with its path', () => {
    const issues = issuesOf({
      operations: [
        { id: 'a', kind: 'read', input: { path: 'x' } },
        { id: 'a', kind: 'read', input: { path: 'y' } },
        { id: 'b', kind: 'raed', input: {} },
        { id: 'c', kind: 'read', input: { path: 42 } },
        { id: 'd', kind: 'read', input: { path: 'z' }, after: ['nope', 'a'] },
        { id: 'e', kind: 'read', input: { path: 'z' }, dependsOn: ['a'] },
        { id: 'f', kind: 'read', input: { path: { $item: true } } },
      ],
    });
    const byPath = Object.fromEntries(issues.map((issue) => [issue.path, issue]));
    expect(byPath['operations[1].id']?.message).toBe('duplicate id "a", already used by operations[0]');
    expect(byPath['operations[2].kind']?.message).toBe('unknown kind "raed"; expected one of: glob, read');
    expect(byPath['operations[3].input.path']?.message).toBe('expected string, got number 42');
    expect(byPath['operations[4].after[0]']?.message).toBe('expected the id of an operation in this plan, got "nope"');
    expect(byPath['operations[5].dependsOn']?.message).toMatch(/^unknown field "dependsOn" \(expected one of: id, kind, input, after/);
    expect(byPath['operations[6].input.path']?.message).toMatch(/only in an operation with "forEach"/);
    expect(issues).toHaveLength(6);
  });

  it('suggests the nearest id for a typo', () => {
    const issues = issuesOf({
      operations: [
        { id: 'discover', kind: 'glob', input: { pattern: '*' } },
        { id: 'next', kind: 'read', input: { path: 'x' }, after: ['dicsover'] },
      ],
    });
    expect(issues[0]!.message).toBe('expected the id of an operation in this plan, got "dicsover" (did you mean "discover"?)');
  });

  it('names the cycle, in run order', () => {
    const issues = issuesOf({
      operations: [
        { id: 'root', kind: 'read', input: { path: 'r' } },
        { id: 'a', kind: 'read', input: { path: 'a' }, after: ['root', 'c'] },
        { id: 'b', kind: 'read', input: { path: 'b' }, after: ['a'] },
        { id: 'c', kind: 'read', input: { path: 'c' }, after: ['b'] },
        { id: 'tail', kind: 'read', input: { path: 't' }, after: ['c'] },
      ],
    });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.code).toBe('FANOUT_PLAN_CYCLE');
    expect(issues[0]!.message).toContain('"a" → "b" → "c" → "a"');
  });

  it('names a cycle of 100,000 operations by its ends and its length, in a short message', () => {
    const count = 100_000;
    const operations = Array.from({ length: count }, (_, i) => ({ id: `op${i}`, kind: 'read', input: { path: 'x' }, after: [`op${(i + 1) % count}`] }));
    const issues = issuesOf({ operations });
    expect(issues).toHaveLength(1);
    expect(issues[0]!).toMatchObject({ code: 'FANOUT_PLAN_CYCLE', path: 'operations[0].after' });
    expect(issues[0]!.message).toMatch(/^dependency cycle: "op0" → "op99999" → "op99998" → "op99997" → "op99996" → … 99993 more … → "op2" → "op1" → "op0" \(100000 operations\)/);
    expect(issues[0]!.message.length).toBeLessThan(300);
  });

  it('writes the ids of a cycle escaped, never raw control characters', () => {
    const issues = issuesOf({
      operations: [
        { id: '\u001b]0;x\u0007', kind: 'read', input: { path: 'a' }, after: ['b'] },
        { id: 'b', kind: 'read', input: { path: 'b' }, after: ['\u001b]0;x\u0007'] },
      ],
    });
    expect(issues[0]!.message).toContain('"\\x1b]0;x\\x07" → "b"');
    expect(issues[0]!.message).not.toMatch(/[\u0000-\u001f]/);
  });

  it('refuses an input nested 10,000 levels deep as a plan problem with a short path, not a stack overflow', () => {
    // Built as text and parsed: JSON.parse takes any depth, JSON.stringify and recursion do not.
    const deep = JSON.parse(`${'{"a":'.repeat(10_000)}{}${'}'.repeat(10_000)}`) as unknown;
    const list = JSON.parse(`${'['.repeat(10_000)}${']'.repeat(10_000)}`) as unknown;
    const issues = issuesOf({
      operations: [
        { id: 'deep', kind: 'read', input: { path: 'x', extra: deep } },
        { id: 'with-ref', kind: 'glob', input: { pattern: { $ref: 'deep' }, nested: list } },
      ],
    });
    expect(issues.map((issue) => [issue.code, issue.path])).toEqual([
      ['FANOUT_PLAN_TOO_DEEP', 'operations[0].input'],
      ['FANOUT_PLAN_TOO_DEEP', 'operations[1].input'],
    ]);
    expect(issues[0]!.message).toMatch(/^expected an input nested at most 1000 levels deep, got deeper at operations\[0\]\.input\.extra\.a\.a.*…\.a.* \(\d+ characters\)$/);
    expect(issues[0]!.message.length).toBeLessThan(300);
    // Through run() too: a PlanValidationError, which the CLI turns into exit 2.
    const scheduler = createScheduler({ adapters: [read, glob] });
    expect(() => scheduler.run({ operations: [{ id: 'deep', kind: 'read', input: { path: 'x', extra: deep } }] })).toThrow(PlanValidationError);
  });

  it('accepts an input nested 1,000 levels deep, and runs it', async () => {
    // The input, "nested", 997 objects and the innermost {}: 1,000 levels.
    const deep = JSON.parse(`${'{"a":'.repeat(997)}{}${'}'.repeat(997)}`) as unknown;
    const echo = defineAdapter({ kind: 'echo', input: z.unknown(), run: () => 'ok' });
    const plan = {
      operations: [
        { id: 'deep', kind: 'echo', input: { nested: deep } },
        { id: 'next', kind: 'echo', input: { prev: { $ref: 'deep' }, nested: deep } },
      ],
    };
    expect(validatePlan(plan, new Map([['echo', echo]])).ok).toBe(true);
    const result = await createScheduler({ adapters: [echo] }).execute(plan);
    expect(result.ok).toBe(true);
  });

  it('finds cycles through references and self-dependencies', () => {
    const issues = issuesOf({
      operations: [
        { id: 'x', kind: 'read', input: { path: { $ref: 'y' } } },
        { id: 'y', kind: 'read', input: { path: { $ref: 'x' } } },
        { id: 'z', kind: 'read', input: { path: 'z' }, after: ['z'] },
      ],
    });
    expect(issues.map((issue) => issue.code).sort()).toEqual(['FANOUT_PLAN_CYCLE', 'FANOUT_PLAN_CYCLE']);
    expect(issues.find((issue) => issue.path === 'operations[2].after[0]')?.message).toBe('"z" waits for itself');
  });

  it('checks references: their target, their shape', () => {
    const issues = issuesOf({
      operations: [
        { id: 'a', kind: 'read', input: { path: { $ref: 'ghost' } } },
        { id: 'b', kind: 'read', input: { path: { $ref: 'a', pth: 'x' } } },
        { id: 'c', kind: 'read', input: { path: 'x' }, forEach: { $ref: 'missing' } },
      ],
    });
    expect(issues.map((issue) => issue.path)).toEqual(['operations[1].input.path.pth', 'operations[0].input.path.$ref', 'operations[2].forEach.$ref']);
  });

  it('names a reference deep in arrays and objects by its whole path', () => {
    const issues = issuesOf({
      operations: [
        { id: 'g', kind: 'glob', input: { pattern: '*' } },
        { id: 'deep', kind: 'read', input: { path: 'x', extra: [{ n: 1 }, { list: ['a', { $ref: 'g' }, { $ref: 'gone' }] }] } },
      ],
    });
    expect(issues.map((issue) => issue.path)).toEqual(['operations[1].input.extra[1].list[2].$ref']);
  });

  it('refuses plans over the size limit before looking at their operations', () => {
    const operations = Array.from({ length: 11 }, (_, i) => ({ id: `op${i}`, kind: 'read', input: { path: 'x' } }));
    const issues = issuesOf({ operations }, 10);
    expect(issues).toEqual([{ code: 'FANOUT_PLAN_TOO_LARGE', path: 'operations', message: 'expected at most 10 operations, got 11; split the plan or raise maxOperations' }]);
  });

  it('explains a plan that is not a plan', () => {
    expect(issuesOf([1, 2])[0]!.message).toBe('expected a plan object with an "operations" list, got an array of 2');
    expect(issuesOf({ operations: 'all' })).toEqual([{ code: 'FANOUT_PLAN_INVALID', path: 'operations', message: 'expected a list of operations, got the string "all"' }]);
    expect(issuesOf({ operations: [], polcy: {} })[0]!.message).toMatch(/unknown field "polcy"/);
    expect(issuesOf({ operations: [null] })[0]!.path).toBe('operations[0]');
    expect(issuesOf({ operations: [{ id: 'x', kind: 'read', input: { path: 'x' }, priority: 1.5 }] })[0]).toMatchObject({
      path: 'operations[0].priority',
      message: 'expected int, got number 1.5',
    });
  });

  it('keeps $literal values as written', async () => {
    const echo = defineAdapter({ kind: 'echo', input: z.object({ doc: z.unknown() }), run: (input) => input.doc });
    const scheduler = createScheduler({ adapters: [echo] });
    const result = await scheduler.execute({ operations: [{ id: 'e', kind: 'echo', input: { doc: { $literal: { $ref: '#/definitions/user' } } } }] });
    expect(result.get('e')?.output).toEqual({ $ref: '#/definitions/user' });
  });

  it('throws PlanValidationError from run() and runs nothing', () => {
    let ran = 0;
    const counted = defineAdapter({ kind: 'read', input: z.object({ path: z.string() }), run: () => ran++ });
    const scheduler = createScheduler({ adapters: [counted] });
    const attempt = () =>
      scheduler.run({
        operations: [
          { id: 'a', kind: 'read', input: { path: 'x' } },
          { id: 'b', kind: 'read', input: {} },
        ],
      });
    expect(attempt).toThrow(PlanValidationError);
    try {
      attempt();
    } catch (error) {
      expect((error as PlanValidationError).code).toBe('FANOUT_PLAN_INVALID');
      expect((error as PlanValidationError).message).toContain('operations[1].input.path: expected string, got undefined');
    }
    expect(ran).toBe(0);
  });

  it('runs a plan its validate() compiled without validating it again, once', async () => {
    let parsed = 0;
    const counted = defineAdapter({
      kind: 'counted',
      input: z.object({ n: z.number() }).transform((value) => {
        parsed++;
        return value;
      }),
      run: (input: { n: number }) => input.n * 2,
    });
    const scheduler = createScheduler({ adapters: [counted] });
    const validation = scheduler.validate({ operations: [{ id: 'a', kind: 'counted', input: { n: 21 } }] });
    expect(validation.ok).toBe(true);
    if (!validation.ok) return;
    expect(parsed).toBe(1);
    const result = await scheduler.execute(validation.compiled);
    expect(result.ok).toBe(true);
    expect(result.get('a')).toMatchObject({ state: 'succeeded', output: 42 });
    expect(parsed).toBe(1);
    // A run grows the plan it took: the same compiled plan given again is not a plan.
    expect(() => scheduler.run(validation.compiled)).toThrow(PlanValidationError);
    // Another scheduler's compiled plan is validated like any other value.
    const other = createScheduler({ adapters: [counted] }).validate({ operations: [{ id: 'b', kind: 'counted', input: { n: 1 } }] });
    if (!other.ok) throw new Error('expected a valid plan');
    expect(() => scheduler.run(other.compiled)).toThrow(PlanValidationError);
  });

  it('publishes a JSON Schema of plans', () => {
    const schema = planJsonSchema() as { properties: { operations: { items: { required: string[]; properties: Record<string, unknown> } } } };
    expect(schema.properties.operations.items.required).toEqual(['id', 'kind']);
    expect(Object.keys(schema.properties.operations.items.properties)).toEqual(['id', 'kind', 'input', 'after', 'priority', 'timeoutMs', 'retry', 'locks', 'forEach']);
  });
});
