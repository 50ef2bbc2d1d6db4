import { constants } from 'node:os';

/*
 * The protocol between the spawn server (spawn-server.ts, spawn-worker.ts) and its bash
 * workers. Node writes one request per job on a worker's stdin; the worker answers on its
 * stdout, one line each:
 *
 *   S <pid>            the job was forked: <pid> leads its own process group
 *   [1]+ <pid> <how> ( __fanout_launch )
 *                      bash's `jobs -l` line, printed by a CHLD trap when the job ends: <how>
 *                      is "Done", "Exit N", or the name of the signal that ended it
 *   X <status> <flags> the job ended; <status> as `$?` gives it (128 + n after signal n);
 *                      <flags> (maybe none) holds "+" when its process group still has
 *                      members (what it left running), "o" and "e" when its stdout and
 *                      stderr files are not empty (the others need no reading)
 *   F                  the job could not be started (no such program, not executable, a cwd
 *                      or output file that cannot be opened): nothing ran
 *
 * A request is a 10-digit length, then that many bytes: "id nargv nenv stdin underscore
 * lengths…;" and the fields one after the other (cwd, the argv, the env as NAME=value, the
 * value of `_`). An nenv of -1 (and no env fields) means "the environment of this worker's
 * previous job": an environment is often the same for every job (inherited, say), and cutting
 * 35 variables out of a request costs the worker ~0.4 ms, as much as the fork. The worker cuts the fields out by byte offset (`${body:offset:length}`,
 * LC_ALL=C) into arrays that are only ever expanded quoted ("${argv[@]}"): no field is
 * parsed, split, globbed or evaluated by the shell. Fields cannot hold NUL bytes (the input
 * schema refuses them; a process could not receive them either), and need no other escaping.
 */

/**
 * The worker, run as `bash --noprofile --norc -c WORKER_SCRIPT fanout-spawn-worker DIR`.
 *
 * - It needs bash ≥ 5.1 (`wait -p`) and exits with 3 on an older one (macOS's /bin/bash is
 *   3.2, RHEL 8's 4.4): the server then spawns directly.
 * - Its stderr is /dev/null (spawn-worker.ts), and so is a job's until its own redirections:
 *   bash's complaints (a locale that does not exist, a cwd that vanished) go nowhere.
 * - It unexports all it inherited, so that a job's environment is exactly what its request
 *   exports. `exec` (unlike a plain command) adds no `_`; `_` itself cannot be exported by
 *   bash, so a job that must get one is started through `/usr/bin/env -- _=VALUE`. So is a
 *   program found at a relative path (`./tool`, or a relative PATH entry): bash's `exec`
 *   would pass the kernel an absolute one, which a `#!` script sees in `$0`.
 * - Jobs run in `( … ) &` with job control on (`set -m`), so each leads its own process group,
 *   in a subshell of the `( )` kind, so that `exec` keeps SHLVL as it is. Job control is off
 *   again while the worker waits, so a stopped job is not taken for a finished one.
 * - The program is looked up on the job's PATH (default /usr/bin:/bin, as libuv does) before
 *   `exec`, because a failed `exec` in a subshell exits with 126 or 127, which a program may
 *   also exit with: a lookup failure writes DIR/ID.f instead, and the worker reports F. So
 *   does a cwd or job file that cannot be opened, and a job whose private directory is gone.
 *   Nothing ran then, and the server spawns the job directly, which fails exactly as a direct
 *   spawn does. The failure path is written out, not a function: a job's FUNCNEST, already
 *   exported, would forbid the call. What the lookup cannot foresee fails in `exec` itself
 *   (a `#!` interpreter that is missing, an argument list too long): a subshell exits then,
 *   whatever `execfail` says, with 127 or 126 and bash's message on the job's stderr, which is
 *   what the result says (a direct spawn fails to start instead).
 * - `wait PID` gives 128 + n both for an exit with that code and for an end by signal n. Bash
 *   knows which until the job is waited for, and says it in `jobs -l`, which the CHLD trap
 *   prints. The catch is the order: a plain `wait` may reap the job and forget it before the
 *   trap runs, and then the trap prints nothing (1 job in 4,000–5,000 here, short jobs on a
 *   busy machine). In POSIX mode a SIGCHLD interrupts `wait` before it reaps anything, the
 *   trap runs while the job is still known, and the next `wait` (told apart by `-p`) reaps
 *   it: no line was missing in 112,000 jobs (signalled, exiting with 128 + n, or 0) under
 *   the same load. POSIX mode is on only around the waiting loop (a `read` interrupted by a
 *   trapped signal fails in POSIX mode, and `exec` redirections that fail end the shell), and
 *   switched once each way per job: each switch costs bash ~0.1 ms.
 */
/** A job that cannot start leaves DIR/ID.f and exits; written out where used, see above. */
const FAIL = '{ : >"$__fanout_dir/$__fanout_id.f"; exit 127; }';

export const WORKER_SCRIPT = `
((BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1))) || exit 3
set -f
export -n PATH LC_ALL PWD OLDPWD SHLVL
__fanout_dir=$1
__fanout_launch() {
  cd -P -- "$__fanout_cwd" || ${FAIL}
  PATH=/usr/bin:/bin
  ((\${#__fanout_env[@]} == 0)) || export -- "\${__fanout_env[@]}"
  exec <"$__fanout_in" >"$__fanout_dir/$__fanout_id.o" 2>"$__fanout_dir/$__fanout_id.e" || ${FAIL}
  __fanout_p=\${__fanout_argv[0]}
  if [[ $__fanout_p == */* ]]; then
    [[ -f $__fanout_p && -x $__fanout_p ]] || ${FAIL}
    __fanout_f=$__fanout_p
  else
    __fanout_f=
    __fanout_rest=$PATH:
    while [[ -n $__fanout_rest ]]; do
      __fanout_f=\${__fanout_rest%%:*}
      __fanout_rest=\${__fanout_rest#*:}
      __fanout_f=\${__fanout_f:-.}/$__fanout_p
      [[ -f $__fanout_f && -x $__fanout_f ]] && break
      __fanout_f=
    done
    [[ -n $__fanout_f ]] || ${FAIL}
  fi
  if ((__fanout_under)); then
    exec -- /usr/bin/env -- "_=$__fanout_uval" "\${__fanout_argv[@]}"
  elif [[ $__fanout_f != /* && -x /usr/bin/env ]]; then
    exec -- /usr/bin/env -- "\${__fanout_argv[@]}"
  else
    exec -a "$__fanout_p" -- "$__fanout_f" "\${__fanout_argv[@]:1}"
  fi
}
trap 'jobs -l' CHLD
while read -r -N 10 __fanout_head; do
  [[ $__fanout_head == [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9] ]] || exit 4
  read -r -N $((10#$__fanout_head)) __fanout_body || exit 4
  __fanout_meta=\${__fanout_body%%;*}
  __fanout_m=($__fanout_meta)
  __fanout_o=$((\${#__fanout_meta} + 1))
  __fanout_k=5
  __fanout_id=\${__fanout_m[0]}
  __fanout_cwd=\${__fanout_body:__fanout_o:__fanout_m[__fanout_k]}
  ((__fanout_o += __fanout_m[__fanout_k++]))
  __fanout_argv=()
  for ((__fanout_i = 0; __fanout_i < __fanout_m[1]; __fanout_i++)); do
    __fanout_argv+=("\${__fanout_body:__fanout_o:__fanout_m[__fanout_k]}")
    ((__fanout_o += __fanout_m[__fanout_k++]))
  done
  ((__fanout_m[2] < 0)) || __fanout_env=()
  for ((__fanout_i = 0; __fanout_i < __fanout_m[2]; __fanout_i++)); do
    __fanout_env+=("\${__fanout_body:__fanout_o:__fanout_m[__fanout_k]}")
    ((__fanout_o += __fanout_m[__fanout_k++]))
  done
  __fanout_under=\${__fanout_m[4]}
  ((__fanout_under)) && __fanout_uval=\${__fanout_body:__fanout_o:__fanout_m[__fanout_k]}
  if ((__fanout_m[3])); then __fanout_in=$__fanout_dir/$__fanout_id.i; else __fanout_in=/dev/null; fi
  set -m
  ( __fanout_launch ) &
  __fanout_pid=$!
  set +m
  printf 'S %s\\n' "$__fanout_pid"
  set -o posix
  while :; do
    wait -p __fanout_w "$__fanout_pid"
    __fanout_st=$?
    [[ $__fanout_w == "$__fanout_pid" ]] && break
    ((__fanout_st == 127)) && ! kill -0 "$__fanout_pid" 2>/dev/null && break
  done
  set +o posix
  if ((__fanout_st == 127)) && [[ -e $__fanout_dir/$__fanout_id.f || ! -d $__fanout_dir ]]; then
    printf 'F\\n'
  else
    __fanout_x=
    kill -0 -- "-$__fanout_pid" 2>/dev/null && __fanout_x=+
    [[ -s $__fanout_dir/$__fanout_id.o ]] && __fanout_x+=o
    [[ -s $__fanout_dir/$__fanout_id.e ]] && __fanout_x+=e
    printf 'X %s %s\\n' "$__fanout_st" "$__fanout_x"
  fi
done
`;

/** The exit status of a worker that found its bash too old. */
export const WORKER_TOO_OLD = 3;

/**
 * Variables bash will not pass through `export` as given: read-only ones (UID, SHELLOPTS…),
 * ones whose value bash computes (RANDOM, SECONDS, LINENO…) or checks (OPTIND, HISTCMD), and
 * EXECIGNORE, which would change the program lookup. Found by exporting every variable of
 * the bash manual in a worker and comparing what `env` printed (test/shell/spawner.test.ts
 * keeps the check); names starting with BASH are left out wholesale.
 */
const NOT_EXPORTABLE = new Set([
  'DIRSTACK',
  'EPOCHREALTIME',
  'EPOCHSECONDS',
  'EUID',
  'EXECIGNORE',
  'FUNCNAME',
  'GROUPS',
  'HISTCMD',
  'LINENO',
  'OPTIND',
  'PIPESTATUS',
  'PPID',
  'RANDOM',
  'SECONDS',
  'SHELLOPTS',
  'SRANDOM',
  'UID',
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Whether a worker can give a job the variable `name` exactly as given. False for names that
 * are no shell identifiers (`A-B`, `1X`, `BASH_FUNC_f%%`: `export` refuses them), for bash's
 * own variables and for the worker's (`__fanout_…`); a job that needs one is spawned directly.
 * `_` is true: it goes through `/usr/bin/env` (see {@link WORKER_SCRIPT}).
 */
export function exportable(name: string): boolean {
  return IDENTIFIER.test(name) && !name.startsWith('BASH') && !name.startsWith('__fanout_') && !NOT_EXPORTABLE.has(name);
}

/** What a worker needs to start one job. */
export interface JobRequest {
  id: number;
  cwd: string;
  argv: readonly string[];
  /** `NAME=value` for every variable but `_`; `'same'`: those of the worker's previous job. */
  env: readonly string[] | 'same';
  /** The job reads DIR/ID.i (else /dev/null). */
  stdin: boolean;
  /** The value of `_`, when the job's environment has one. */
  underscore: string | undefined;
}

/** Encodes a request (see the protocol above). */
export function encodeRequest(request: JobRequest): Buffer {
  const fields: Buffer[] = [Buffer.from(request.cwd)];
  for (const arg of request.argv) fields.push(Buffer.from(arg));
  const env = request.env === 'same' ? [] : request.env;
  for (const pair of env) fields.push(Buffer.from(pair));
  if (request.underscore !== undefined) fields.push(Buffer.from(request.underscore));
  let meta = `${request.id} ${request.argv.length} ${request.env === 'same' ? -1 : env.length} ${request.stdin ? 1 : 0} ${request.underscore === undefined ? 0 : 1}`;
  let size = 0;
  for (const field of fields) {
    meta += ` ${field.length}`;
    size += field.length;
  }
  meta += ';';
  const head = Buffer.from(meta);
  size += head.length;
  return Buffer.concat([Buffer.from(String(size).padStart(10, '0')), head, ...fields], 10 + size);
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>();
for (const [name, number] of Object.entries(constants.signals)) if (!SIGNAL_NAMES.has(number)) SIGNAL_NAMES.set(number, name as NodeJS.Signals);

/** A `jobs -l` line: `[1]+  4242 Exit 3                  ( __fanout_launch )`. */
const JOBS_LINE = /^\[\d+\][+-]?\s+(\d+)\s+(.*?)\s*\( __fanout_launch \)\s*$/;

/** The pid a `jobs -l` line is about and whether it says the job exited (rather than was ended by a signal). */
export function parseJobsLine(line: string): { pid: number; exited: boolean } | undefined {
  const match = JOBS_LINE.exec(line);
  if (match === null) return undefined;
  return { pid: Number(match[1]), exited: /^(Done|Exit)\b/.test(match[2]!) };
}

/**
 * How a job ended, from its `$?` and, above 128, what `jobs -l` said. Should that line be
 * missing all the same (it never was in testing, see {@link WORKER_SCRIPT}), a status of
 * 128 + a known signal number is taken for that signal: the likelier story, since few
 * programs pick such exit codes, though a shell whose last command was killed exits with
 * exactly those.
 */
export function endOf(status: number, exited: boolean | undefined): { exitCode: number | null; signal: NodeJS.Signals | null } {
  if (status <= 128 || exited === true) return { exitCode: status, signal: null };
  const signal = SIGNAL_NAMES.get(status - 128);
  if (signal === undefined) return { exitCode: status, signal: null };
  return { exitCode: null, signal };
}
