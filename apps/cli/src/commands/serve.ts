/**
 * `fanout serve`: starts `fanout-server` (@fanout/server) as a child process with the same
 * flags, standard streams and exit code. A child rather than an import: the server's HTTP
 * stack stays out of the commands bundle every other command compiles at start-up, and the
 * server runs as the ES module it is built as. SIGTERM is passed on; Ctrl-C reaches the
 * server from the terminal itself (it is in the same process group), so it is not passed on
 * again: a second SIGINT would make the server exit at once instead of stopping gracefully.
 * An IPC channel joins the two: when this process dies, even by SIGKILL, the server sees it
 * close and stops as on SIGTERM, rather than run on holding its port with no one to stop it.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

function serverBin(): string {
  const manifest = createRequire(import.meta.url).resolve('@fanout/server/package.json');
  const { bin } = createRequire(import.meta.url)('@fanout/server/package.json') as { bin: Record<string, string> };
  return join(dirname(manifest), bin['fanout-server']!);
}

export async function run(argv: string[]): Promise<number> {
  const child = spawn(process.execPath, [serverBin(), ...argv], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  const onInt = (): void => undefined; // the server got it too, and stops gracefully
  const onTerm = (): void => {
    child.kill('SIGTERM');
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(code ?? (signal === 'SIGINT' ? 130 : 1));
    });
  });
}
