import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request as the test server saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: Socket;
}

/** A real HTTP server on 127.0.0.1 (port 0) that records what it sees. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  requests: SeenRequest[];
  /** Every connection accepted, open or closed. */
  sockets: Socket[];
  /** True once `socket` has closed. */
  closed(socket: Socket): boolean;
  close(): Promise<void>;
}

export type Handler = (request: SeenRequest, response: ServerResponse) => void | Promise<void>;

/**
 * Starts a server whose handler sees each request with its body already read. Closing it
 * destroys whatever connections are left, so a test never leaves a socket behind.
 */
export async function startServer(handler: Handler): Promise<TestServer> {
  const sockets: Socket[] = [];
  const closedSockets = new WeakSet<Socket>();
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), socket: req.socket };
      requests.push(seen);
      Promise.resolve(handler(seen, res)).catch((error: unknown) => {
        res.destroy(error as Error);
      });
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    sockets.push(socket);
    socket.on('close', () => closedSockets.add(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    sockets,
    closed: (socket) => closedSockets.has(socket),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export { attemptContext, eventually } from '../../src/testing/index.js';
