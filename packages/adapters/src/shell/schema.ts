import { z } from 'zod';

/** A string `execve` can carry: C strings end at the first NUL byte. */
const nulFree = (what: string) => z.string().refine((value) => !value.includes('\0'), { message: `expected ${what} without NUL bytes (a process cannot receive them)` });

const argument = nulFree('an argument');

const envName = z
  .string()
  .min(1)
  .refine((name) => !name.includes('=') && !name.includes('\0'), { message: 'expected an environment variable name without "=" or NUL bytes' });

const byteCount = z.number().int().positive();

/** A resource lock an input declares, as in a plan: a key (write lock) or `{ key, mode }`. */
export const bashLockSchema = z.union([z.string().min(1), z.object({ key: z.string().min(1), mode: z.enum(['read', 'write']).optional() }).strict()]);

const fields = {
  /** Argv form: the program and its arguments, run without a shell. */
  command: z.array(argument).min(1).optional(),
  /** Shell form: a script, run only when `shell` asks for a shell. */
  script: nulFree('a script').optional(),
  /** `true` for the adapter's default shell (`/bin/sh`), or the shell program to run `script` with (`"bash"`). */
  shell: z.union([z.literal(true), nulFree('a shell program').min(1)]).optional(),
  /** Positional parameters of the script (`$1`, `$2`, …): the safe way to hand it values, never spliced into its text. */
  args: z.array(argument).optional(),
  /** Working directory, inside the allowed roots (relative to the first one). @default the first root */
  cwd: z.string().min(1).optional(),
  /** Environment variables; `null` removes one (PATH, or one inherited). */
  env: z.record(envName, argument.nullable()).optional(),
  /** Start from the parent's whole environment instead of only its PATH. @default the adapter's `inheritEnv` (false) */
  inheritEnv: z.boolean().optional(),
  /** Bytes for the process's stdin: text, `{ base64 }` in JSON plans, or a `Uint8Array`. Without it, stdin is `/dev/null`. */
  stdin: z.union([z.string(), z.object({ base64: z.base64() }).strict(), z.instanceof(Uint8Array)]).optional(),
  /** Exit codes that count as success (grep's 1, "no match"). @default [0] */
  okExitCodes: z.array(z.number().int().min(0).max(255)).min(1).optional(),
  /** Lowers the adapter's output cap, for both streams or each. */
  maxOutputBytes: z.union([byteCount, z.object({ stdout: byteCount.optional(), stderr: byteCount.optional() }).strict()]).optional(),
  /** Resource locks the command needs (`"file:/abs/path"`, `{ key, mode: "read" }`). @default none */
  locks: z.array(bashLockSchema).optional(),
};

/** Refuses inputs that are neither or both forms, and shells nobody asked for. */
function checkForm(allowShell: boolean) {
  return (input: { command?: string[] | undefined; script?: string | undefined; shell?: unknown; args?: unknown }, ctx: z.RefinementCtx): void => {
    if (input.command === undefined && input.script === undefined) {
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'expected command (an argv array, run without a shell) or script with shell, got neither' });
      return;
    }
    if (input.command !== undefined && input.script !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['script'], message: 'expected either command or script, got both' });
      return;
    }
    if (input.command !== undefined) {
      if (input.command[0] === '') ctx.addIssue({ code: 'custom', path: ['command', 0], message: 'expected command[0] to name a program, got an empty string' });
      for (const field of ['shell', 'args'] as const) {
        if (input[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `expected ${field} only with script; command runs without a shell (put arguments in the command array)` });
      }
      return;
    }
    if (!allowShell) {
      ctx.addIssue({ code: 'custom', path: ['script'], message: 'expected command in argv form: this adapter runs no shell (allowShell: false)' });
      return;
    }
    if (input.shell === undefined) {
      ctx.addIssue({ code: 'custom', path: ['shell'], message: 'expected shell: true (or a shell program such as "bash") to run a script, got nothing: a shell runs only when asked for' });
    }
  };
}

/** Builds the input schema; with `allowShell: false` it accepts the argv form only. */
export function createBashInputSchema(allowShell = true) {
  return z.object(fields).strict().superRefine(checkForm(allowShell));
}

/**
 * The input of `bash`: either `{ command: ['git', 'status'] }` (argv form, no shell: nothing
 * in it is interpreted) or `{ script: 'ls | wc -l', shell: true }` (a shell, only because the
 * input asks for one). Both take `cwd`, `env`, `inheritEnv`, `stdin`, `okExitCodes`,
 * `maxOutputBytes` and `locks`.
 *
 * @example
 * bashInputSchema.parse({ script: 'grep -c "$1" *.ts', shell: 'bash', args: ['TODO'], okExitCodes: [0, 1] });
 */
export const bashInputSchema = createBashInputSchema(true);

/** A parsed `bash` input (see {@link bashInputSchema}). */
export type BashInput = z.output<typeof bashInputSchema>;

/** A lock an input declares (see {@link bashLockSchema}). */
export type BashLock = z.output<typeof bashLockSchema>;
