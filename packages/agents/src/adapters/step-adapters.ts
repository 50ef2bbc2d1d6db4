/**
 * The `setup` and `verify` kinds: a command (argv, never a shell) run in an agent's worktree —
 * before the agent (an offline install, a build of what the agent needs) and after its work is
 * committed (tests, a linter: they judge exactly what the branch holds, and whatever they
 * write is not committed). Each in its own process group, stopped with the attempt; a
 * non-zero exit fails the step with the end of its output.
 */
import { runToEnd } from '../spawner.js';
import { defineAdapter, type AttemptContext } from '@fanout/scheduler';
import { z } from 'zod';
import { diskUsage } from '../disk-usage.js';
import { AgentsError, classifyAgentsError } from '../errors.js';
import { agentStepFields, type AgentsShared } from './context.js';

/** The input of a `setup` or `verify` operation (the plan builder writes it). */
export const stepInputSchema = z
  .object({
    ...agentStepFields,
    branch: z.string().min(1),
    command: z.array(z.string()).min(1),
    /** A reference that orders verify after collect (its output is not used). */
    collected: z.unknown().optional(),
  })
  .strict();

export type StepInput = z.output<typeof stepInputSchema>;

/** What a setup or verify command did. */
export interface StepOutput {
  agent: string;
  command: string[];
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** The end of its output (the last few KiB of each stream). */
  stdoutTail: string;
  stderrTail: string;
  /** The worktree's disk use after setup. */
  diskBytes?: number;
}

async function runStep(step: 'setup' | 'verify', input: StepInput, context: AttemptContext, shared: AgentsShared): Promise<StepOutput> {
  const [file, ...args] = input.command as [string, ...string[]];
  let outcome;
  try {
    outcome = await runToEnd(
      {
        file,
        args,
        cwd: input.path,
        env: { ...shared.env, FANOUT_AGENT: input.agent, FANOUT_AGENT_BRANCH: input.branch, FANOUT_AGENT_WORKTREE: input.path },
        stdin: undefined,
        maxStdoutBytes: 1024 * 1024,
        maxStderrBytes: 1024 * 1024,
        killGraceMs: shared.killGraceMs,
        cleanup: true,
      },
      context.signal,
    );
  } catch (error) {
    throw new AgentsError(
      step === 'setup' ? 'FANOUT_SETUP_FAILED' : 'FANOUT_VERIFY_FAILED',
      `expected to start the ${step} command ${JSON.stringify(file)} in ${input.path}, but it could not start (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      {
        cause: error,
        path: `${step}[0]`,
      },
    );
  }
  if (outcome.aborted) throw context.signal.reason;
  const output: StepOutput = {
    agent: input.agent,
    command: input.command,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    durationMs: outcome.durationMs,
    stdoutTail: outcome.stdout.tail(),
    stderrTail: outcome.stderr.tail(),
  };
  if (step === 'setup' && shared.diskUsage) output.diskBytes = await diskUsage(input.path);
  if (outcome.exitCode !== 0) {
    const said = (output.stderrTail.trim() || output.stdoutTail.trim()).slice(-600);
    const got = outcome.signal === null ? `it exited with ${outcome.exitCode}` : `it was ended by ${outcome.signal}`;
    throw new AgentsError(
      step === 'setup' ? 'FANOUT_SETUP_FAILED' : 'FANOUT_VERIFY_FAILED',
      `expected the ${step} command ${JSON.stringify(input.command.join(' '))} to exit with 0 in ${input.path} (${input.agent}), but ${got}${said === '' ? '' : `:\n${said}`}`,
      {
        data: output,
        path: step,
      },
    );
  }
  return output;
}

/** Runs setup commands; built by `createAgentsAdapters`. */
export function setupAdapter(shared: AgentsShared) {
  return defineAdapter({
    kind: 'setup',
    input: stepInputSchema,
    defaults: { maxConcurrency: 8, optimalConcurrency: 4, idempotent: false },
    classify: classifyAgentsError,
    run: (input: StepInput, context: AttemptContext) => runStep('setup', input, context, shared),
  });
}

/** Runs verify commands; built by `createAgentsAdapters`. */
export function verifyAdapter(shared: AgentsShared) {
  return defineAdapter({
    kind: 'verify',
    input: stepInputSchema,
    defaults: { maxConcurrency: 8, optimalConcurrency: 4, idempotent: false },
    classify: classifyAgentsError,
    run: (input: StepInput, context: AttemptContext) => runStep('verify', input, context, shared),
  });
}
