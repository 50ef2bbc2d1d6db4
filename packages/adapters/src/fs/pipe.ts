import { close } from 'node:fs';
import { Socket } from 'node:net';

/*
 * FIFOs go through libuv's pipe handle (epoll) rather than the thread pool: a read of a FIFO
 * that never gets data, or a write to one nobody drains, would otherwise hold one of the
 * pool's four threads in a blocking system call nothing can interrupt. The descriptor must
 * be opened with O_NONBLOCK. The socket owns it: destroying the socket closes it, which is
 * how an abort really stops the work.
 */

/**
 * Streams a FIFO's data to `onChunk` until it ends (resolves true), `onChunk` returns false
 * (resolves false) or `signal` aborts (rejects with its reason). Takes ownership of `fd`.
 */
export function readPipe(fd: number, signal: AbortSignal, onChunk: (chunk: Buffer) => boolean): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = adopt(fd, false, reject);
    if (socket === undefined) return;
    let settled = false;
    const finish = (error: unknown, eof: boolean): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error === undefined) resolve(eof);
      else reject(error);
    };
    const onAbort = (): void => finish(signal.reason, false);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('data', (chunk: Buffer) => {
      if (!onChunk(chunk)) finish(undefined, false);
    });
    socket.once('end', () => finish(undefined, true));
    socket.once('error', (error) => finish(error, false));
  });
}

/**
 * Writes `data` into a FIFO and resolves once the reader has taken all of it (or rejects on
 * abort, with the descriptor closed). Takes ownership of `fd`.
 */
export function writePipe(fd: number, data: Buffer, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = adopt(fd, true, reject);
    if (socket === undefined) return;
    let settled = false;
    const finish = (error: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => finish(signal.reason);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (error) => finish(error));
    // `end`'s callback runs once everything was handed to the kernel ('finish').
    socket.end(data, () => finish(undefined));
  });
}

/** Wraps `fd` in a socket; if that fails, the descriptor is closed here, since nothing else owns it. */
function adopt(fd: number, writable: boolean, reject: (error: unknown) => void): Socket | undefined {
  try {
    return new Socket({ fd, readable: !writable, writable });
  } catch (error) {
    close(fd, () => reject(error));
    return undefined;
  }
}
