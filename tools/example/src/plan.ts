import type { Plan } from '@fanout/scheduler';

/** Questions the simulated remote calls answer, with how long each takes. */
const QUESTIONS: [string, number][] = [
  ['scheduler design', 120],
  ['adaptive concurrency', 90],
  ['vegas limiter', 60],
  ['gradient limiter', 80],
  ['aimd', 40],
  ['retry budgets', 70],
  ['full jitter backoff', 50],
  ['read write locks', 110],
  ['critical path first', 60],
  ['bucket queues', 45],
  ['ndjson journals', 75],
  ['abort signals', 55],
  ['process groups', 95],
  ['ripgrep json', 65],
  ['prometheus exposition', 85],
  ['cgroup v2 memory', 100],
];

/**
 * The example plan: walk a directory, digest every file it holds (a fan-out, one operation
 * per file), total the digests, make sixteen simulated remote calls in parallel, and write a
 * report once both are done.
 */
export function examplePlan(root: string, reportPath: string): Plan {
  return {
    name: 'example: digest a directory, ask sixteen questions, write a report',
    operations: [
      { id: 'scan', kind: 'list-files', input: { root } },
      { id: 'digest', kind: 'digest', input: { path: { $item: true } }, forEach: { $ref: 'scan', path: 'files' } },
      { id: 'tally', kind: 'tally', input: { root, files: { $ref: 'digest' } } },
      ...QUESTIONS.map(([query, ms], i) => ({ id: `ask-${i}`, kind: 'remote', input: { query, ms }, priority: i < 4 ? 1 : 0 })),
      {
        id: 'report',
        kind: 'write-report',
        input: { path: reportPath, content: { tally: { $ref: 'tally' }, answers: QUESTIONS.map((_, i) => ({ $ref: `ask-${i}`, path: 'answer' })) } },
      },
    ],
  };
}
