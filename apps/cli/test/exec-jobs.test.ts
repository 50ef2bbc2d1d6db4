import { describe, expect, it } from 'vitest';
import { buildJobs, joblogLine, parseHalt, parseJoblog, shellQuote, splitTemplate } from '../src/commands/exec-jobs.js';

describe('exec jobs, as GNU parallel builds them', () => {
  it('splits the command from the ::: groups and the :::: files, each file a group', () => {
    expect(splitTemplate(['gzip', '-9', ':::', 'a', 'b', ':::', '1'])).toEqual({
      template: ['gzip', '-9'],
      sources: [
        { kind: 'values', values: ['a', 'b'] },
        { kind: 'values', values: ['1'] },
      ],
    });
    expect(splitTemplate(['echo', 'hi'])).toEqual({ template: ['echo', 'hi'], sources: [] });
    expect(splitTemplate(['echo', '::::', 'f', 'g', ':::', 'x', '::::', '-'])).toEqual({
      template: ['echo'],
      sources: [
        { kind: 'file', path: 'f' },
        { kind: 'file', path: 'g' },
        { kind: 'values', values: ['x'] },
        { kind: 'file', path: '-' },
      ],
    });
    expect(() => splitTemplate(['echo', '::::'])).toThrow(/expected an argument file after ::::, got none/);
    expect(() => splitTemplate(['echo', '::::', ':::', 'a'])).toThrow(/expected an argument file after ::::/);
    expect(() => splitTemplate(['echo', ':::', 'a', ':::+', 'b'])).toThrow(/linked groups/);
  });

  it('runs a command whose first word is a shell builtin or keyword in bash, a program of the same name directly', () => {
    expect(buildJobs(['exit {}'], [['3']])[0]).toEqual({ seq: 1, script: 'exit 3', display: 'exit 3' });
    expect(buildJobs(['cd'], [['/tmp']])[0]).toEqual({ seq: 1, script: 'cd /tmp', display: 'cd /tmp' });
    expect(buildJobs([], [['source ./env.sh', 'type ls', 'if true; then echo; fi']]).map((job) => job.script)).toEqual(['source ./env.sh', 'type ls', 'if true; then echo; fi']);
    expect(buildJobs(['echo'], [['x']])[0]).toEqual({ seq: 1, argv: ['echo', 'x'], display: 'echo x' });
    expect(buildJobs(['true'], [['x']])[0]!.argv).toEqual(['true', 'x']);
  });

  it('runs a command without shell syntax directly, appending the argument when there is no {}, shown quoted', () => {
    expect(buildJobs(['gzip', '-9'], [['a b.txt', 'c']])).toEqual([
      { seq: 1, argv: ['gzip', '-9', 'a b.txt'], display: "gzip -9 'a b.txt'" },
      { seq: 2, argv: ['gzip', '-9', 'c'], display: 'gzip -9 c' },
    ]);
  });

  it('replaces {} {.} {/} {//} {/.} {#} and positional {1} {2.}', () => {
    const [job] = buildJobs(['echo', '{}', '{.}', '{/}', '{//}', '{/.}', '{#}'], [['dir/sub/file.tar.gz']]);
    expect(job!.argv).toEqual(['echo', 'dir/sub/file.tar.gz', 'dir/sub/file.tar', 'file.tar.gz', 'dir/sub', 'file.tar', '1']);
    const jobs = buildJobs(['convert', '{1}', '{2.}.png'], [['a.jpg'], ['x.gif', 'y.gif']]);
    expect(jobs.map((j) => j.argv)).toEqual([
      ['convert', 'a.jpg', 'x.png'],
      ['convert', 'a.jpg', 'y.png'],
    ]);
  });

  it('makes every combination of the groups, in order, numbered from 1', () => {
    const jobs = buildJobs(
      ['echo', '{1}-{2}'],
      [
        ['a', 'b'],
        ['1', '2'],
      ],
    );
    expect(jobs.map((j) => [j.seq, j.display])).toEqual([
      [1, 'echo a-1'],
      [2, 'echo a-2'],
      [3, 'echo b-1'],
      [4, 'echo b-2'],
    ]);
  });

  it('takes one command-line template written as one argument, like GNU parallel', () => {
    expect(buildJobs(['echo {} done'], [['x']])[0]).toEqual({ seq: 1, argv: ['echo', 'x', 'done'], display: 'echo x done' });
  });

  it('runs a template with shell syntax in bash, every argument quoted so nothing in it is interpreted', () => {
    const [job] = buildJobs(['echo {} | wc -c'], [["it's $(rm -rf ~)"]]);
    expect(job!.argv).toBeUndefined();
    expect(job!.script).toBe(`echo 'it'"'"'s $(rm -rf ~)' | wc -c`);
    const [appended] = buildJobs(['cat', '>', 'out'], [['a b']]);
    expect(appended!.script).toBe("cat > out 'a b'");
  });

  it('makes each input line a command when there is no template', () => {
    expect(buildJobs([], [['ls -la', 'echo a | tr a b', 'FOO=1 env']])).toEqual([
      { seq: 1, argv: ['ls', '-la'], display: 'ls -la' },
      { seq: 2, script: 'echo a | tr a b', display: 'echo a | tr a b' },
      { seq: 3, script: 'FOO=1 env', display: 'FOO=1 env' },
    ]);
    expect(buildJobs(['echo'], [])).toEqual([]);
  });

  it('quotes for a POSIX shell only what needs it', () => {
    expect(shellQuote('plain-file_1.txt')).toBe('plain-file_1.txt');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("'")).toBe(`''"'"''`);
  });

  it('writes and reads the job log in GNU parallel’s columns, keeping the last entry per job', () => {
    const line = joblogLine({ seq: 3, startTime: 1700000000.5, runtime: 0.25, exitValue: 2, signal: 0, command: 'grep\tx file' }, 12);
    expect(line).toBe('3\t:\t1700000000.500\t0.250\t0\t12\t2\t0\tgrep\tx file');
    const log = parseJoblog(`Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n${line}\n3\t:\t1.000\t0.100\t0\t0\t0\t0\tretried\nnot a line\n`);
    expect([...log.values()]).toEqual([{ seq: 3, startTime: 1, runtime: 0.1, exitValue: 0, signal: 0, command: 'retried' }]);
  });

  it('reads --halt as the scheduler’s failure policy and refuses anything else', () => {
    expect(parseHalt(undefined)).toBe('isolate');
    expect(parseHalt('never')).toBe('isolate');
    expect(parseHalt('now,fail=1')).toEqual({ halt: 'now', failures: 1 });
    expect(parseHalt('soon,fail=3')).toEqual({ halt: 'soon', failures: 3 });
    expect(parseHalt('now')).toEqual({ halt: 'now', failures: 1 });
    expect(() => parseHalt('sometimes')).toThrow('expected --halt now|soon[,fail=N] or never, got "sometimes"');
  });
});
