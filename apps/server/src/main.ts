#!/usr/bin/env node
/**
 * The `fanout-server` command (and what `fanout serve` starts): flags, the server, and a
 * graceful stop on SIGTERM or Ctrl-C — no new runs, those going finish within the grace
 * period, the rest are cancelled with complete journals. A second signal exits at once.
 * Started with an IPC channel (as `fanout serve` starts it), it stops the same way when the
 * channel closes: its parent is gone, even killed with SIGKILL, and no one else would stop it.
 */
import { readFileSync } from 'node:fs';
import { FanoutError } from '@fanout/scheduler';
import { HELP, parseFlags, USAGE, UsageError } from './flags.js';
import { startServer } from './server.js';

function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = await parseFlags(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`fanout-server: ${error.message}\nUsage: ${USAGE}\nRun "fanout-server --help" for its flags.\n`);
    return 2;
  }
  if ('help' in parsed) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if ('version' in parsed) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const { options } = parsed;
  let server;
  try {
    server = await startServer(options);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    process.stderr.write(`fanout-server: ${(error as Error).message}${typeof code === 'string' ? ` (${code})` : ''}\n`);
    return error instanceof FanoutError || code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' ? 2 : 1;
  }
  process.stdout.write(`fanout-server: listening on ${server.url} (data in ${options.dataDir}${options.tokens.length > 0 ? ', token required' : ''})\n`);
  if (options.redis !== undefined) process.stdout.write(`fanout-server: operations run on the workers of ${options.redis} (prefix ${options.redisPrefix ?? 'fanout'})\n`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        process.stderr.write(`fanout-server: ${signal} again, exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      process.stderr.write(`fanout-server: ${signal}, stopping (runs have ${options.graceMs} ms to finish)\n`);
      server.close().then(
        () => resolve(0),
        (error: unknown) => {
          process.stderr.write(`fanout-server: stopping failed: ${(error as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    if (process.channel !== undefined) {
      // Watched, not held: the channel alone must not keep the process alive once the server has closed.
      process.channel.unref();
      process.once('disconnect', () => stop('parent process gone'));
    }
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`fanout-server: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
