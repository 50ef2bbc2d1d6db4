import { readFile } from 'node:fs/promises';
import { UsageError } from './args.js';

/** Reads a plan (or any JSON) from a file, or standard input for `-`; bad JSON is a usage error. */
export async function readJsonInput(source: string, what: string): Promise<unknown> {
  let text: string;
  if (source === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = await readFile(source, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read the ${what} ${source}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`expected the ${what} ${source === '-' ? 'on standard input' : source} to be JSON: ${(error as Error).message}`);
  }
}

/** Writes to stdout and resolves once it is flushed (large outputs piped to a slow reader). */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}
