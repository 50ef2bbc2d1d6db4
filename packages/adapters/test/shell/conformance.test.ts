import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe } from 'vitest';
import { bashAdapter, type BashAdapter, type BashInput, type BashOutput } from '../../src/shell/index.js';
import { describeConformance } from '../helpers/conformance.js';
import { killMarked, markedProcesses, newMarker, onLinux, SPAWNERS } from './procs.js';

// Registration is synchronous, so the root is made synchronously too.
const root = realpathSync(mkdtempSync(join(tmpdir(), 'fanout-bash-conformance-')));
afterEach(() => {
  killMarked();
});
const made: BashAdapter[] = [];
afterAll(async () => {
  await Promise.all(made.map((adapter) => adapter.close()));
  rmSync(root, { recursive: true, force: true });
});

const CAP = 1000;

describe.runIf(onLinux).each(SPAWNERS)('bash (%s spawner)', (spawner) => {
  const adapter = bashAdapter({ roots: [root], killGraceMs: 250, spawner });
  made.push(adapter);
  describeConformance<BashInput>({
    adapter,
    valid: async () => ({ input: { command: ['echo', 'hello'] } }),
    invalid: [
      { input: { command: [] }, field: 'command' },
      { input: { command: 'ls -la' }, field: 'command' },
      { input: { command: ['ls', 'a\0b'] }, field: 'command.1' },
      { input: { script: 'echo hi' }, field: 'shell' },
      { input: { command: ['ls'], script: 'ls', shell: true }, field: 'script' },
      { input: { command: ['ls'], okExitCodes: [-1] }, field: 'okExitCodes.0' },
      { input: { command: ['ls'], env: { 'A=B': 'x' } }, field: 'env' },
      { input: { command: ['ls'], maxOutputBytes: 0 }, field: 'maxOutputBytes' },
      { input: { command: ['ls'], stdin: { base64: 'not base64!' } }, field: 'stdin' },
      { input: { command: ['ls'], bogus: true }, field: 'bogus' },
      // Refused only against the real world: at run time, with a typed error naming the field.
      { input: { command: ['ls'], cwd: '/' }, field: 'cwd' },
      { input: { command: ['ls'], cwd: '../..' }, field: 'cwd' },
      { input: { command: ['fanout-no-such-program'] }, field: 'command.0' },
      { input: { script: 'true', shell: 'fanout-no-such-shell' }, field: 'shell' },
    ],
    // A group whose members all ignore SIGTERM: only the KILL after the grace period ends it.
    slow: async () => {
      const marker = newMarker();
      return {
        input: { script: 'trap "" TERM; sleep 300 & sleep 300 & wait', shell: 'bash', env: { FANOUT_TEST_MARK: marker } },
        stopped: async () => markedProcesses(marker).length === 0,
      };
    },
    big: async () => ({
      input: { command: ['seq', '1', '100000'], maxOutputBytes: CAP },
      within: (output) => Buffer.byteLength((output as BashOutput).stdout) <= CAP && Buffer.byteLength((output as BashOutput).stderr) <= CAP,
      saysCut: (output) => (output as BashOutput).truncated.stdout,
    }),
  });
});
