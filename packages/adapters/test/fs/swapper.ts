/*
 * A process that swaps a directory inside a root, over and over, for a symlink to a directory
 * outside it (the symlink swap race of the fs adapters' tests). It renames four times per
 * round, so the directory is in place, then missing, then the symlink out, then missing again;
 * it says "ready" once, then loops until it is stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, renameSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';

const SCRIPT = `
const { renameSync } = require('node:fs');
const { SUB: sub, PARKED: parked, SPARE: spare, STRAY: stray } = process.env;
let strays = 0;
function place(from, to) {
  for (;;) {
    try {
      return renameSync(from, to);
    } catch (error) {
      if (!['EISDIR', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR'].includes(error.code)) throw error;
      renameSync(to, stray + strays++);
    }
  }
}
process.stdout.write('ready\\n');
for (;;) {
  renameSync(sub, parked);
  place(spare, sub);
  renameSync(sub, spare);
  place(parked, sub);
}
`;

/** Swaps `root/<name>` (an existing directory) with a symlink to `outside`. */
export class Swapper {
  readonly sub: string;
  /** Where the real directory waits while the symlink is in its place (inside the root, hidden). */
  readonly #parked: string;
  /** Where the symlink waits while the directory is in place. */
  readonly #spare: string;
  readonly #stray: string;
  #child: ChildProcess | undefined;

  private constructor(root: string, name: string) {
    this.sub = join(root, name);
    this.#parked = join(root, `.parked-${name}`);
    this.#spare = join(root, `.spare-${name}`);
    this.#stray = join(root, `.stray-${name}-`);
  }

  /** Makes the spare symlink to `outside`; `root/<name>` must exist. */
  static async create(root: string, name: string, outside: string): Promise<Swapper> {
    const swapper = new Swapper(root, name);
    await symlink(outside, swapper.#spare);
    return swapper;
  }

  async start(): Promise<void> {
    const env = { ...process.env, SUB: this.sub, PARKED: this.#parked, SPARE: this.#spare, STRAY: this.#stray };
    this.#child = spawn(process.execPath, ['-e', SCRIPT], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    await once(this.#child.stdout!, 'data');
  }

  /** Stops the swapping process and puts the real directory back in its place. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    if (existsSync(this.sub) && lstatSync(this.sub).isSymbolicLink()) renameSync(this.sub, this.#spare);
    if (existsSync(this.#parked)) {
      if (existsSync(this.sub)) renameSync(this.sub, `${this.#stray}last`);
      renameSync(this.#parked, this.sub);
    }
    if (!existsSync(this.#spare)) throw new Error('the swapper lost its symlink');
  }
}
