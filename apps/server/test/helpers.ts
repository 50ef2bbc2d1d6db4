/**
 * Starts the built `fanout-server` as a child process on 127.0.0.1 (port 0), as a user would,
 * and talks to it over real HTTP. Each server gets a temporary working directory (its root)
 * and data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

/** The built server binary. */
export const BIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

export interface Served {
  url: string;
  port: number;
  child: ChildProcess;
  /** What it printed on stderr so far. */
  stderr: () => string;
  /** Resolves with the exit code and signal once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the server with `args` in `cwd` (and `env`, by default the test's); resolves once it says where it listens. */
export function startServer(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--port', '0', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const match = /listening on (http:\/\/[^\s]+)/.exec(stdout);
      if (match !== null) {
        const url = match[1]!;
        resolve({
          url,
          port: Number(new URL(url).port),
          child,
          stderr: () => stderr,
          exited,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`fanout-server exited (${code ?? signal}) before listening\nstdout: ${stdout}\nstderr: ${stderr}`)));
  });
}

/** Runs the server binary to its end (for flag errors). */
export function runServerBin(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir(prefix = 'fanout-server-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** JSON over HTTP to the server: status, headers, parsed body. */
// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies by path; their shapes are what they assert
export async function api(base: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const response = await fetch(new URL(path, base), { ...init, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics, the dashboard)
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** One Server-Sent Event. */
export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * Reads a run's event stream until `until` says stop (or the server ends it); `lastEventId`
 * resumes after that id.
 */
export async function readEvents(base: string, runId: string, options: { lastEventId?: string; headers?: Record<string, string>; until?: (event: SseEvent) => boolean } = {}): Promise<SseEvent[]> {
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const controller = new AbortController();
  const response = await fetch(new URL(`/v1/runs/${runId}/events`, base), { headers, signal: controller.signal });
  if (response.status !== 200) throw new Error(`expected 200 from the event stream, got ${response.status}: ${await response.text()}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event: SseEvent = { id: undefined, event: 'message', data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) event.id = line.slice(4);
          else if (line.startsWith('event: ')) event.event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0 && event.id === undefined) continue;
        event.data = data.join('\n');
        events.push(event);
        if (options.until?.(event) === true) return events;
      }
    }
  } finally {
    controller.abort();
  }
  return events;
}

/** Polls a run until it is in one of `states` (each poll a real request; bounded by `tries`). */
// biome-ignore lint/suspicious/noExplicitAny: as api()
export async function waitForState(base: string, id: string, states: string[], headers: Record<string, string> = {}, tries = 600): Promise<any> {
  for (let i = 0; i < tries; i++) {
    const { body } = await api(base, `/v1/runs/${id}`, { headers });
    if (states.includes(body.state)) return body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`run ${id} did not reach ${states.join(' or ')}`);
}

/** The tree the MCP tests serve: `src/a.ts` (a line with `answer`) and a token file with `tokens`, one a line. */
export async function mcpTree(dir: string, tokens: readonly string[]): Promise<void> {
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src', 'a.ts'), 'export const answer = 42;\n');
  await writeFile(join(dir, 'tokens'), `${tokens.join('\n')}\n`);
}

/** A `fanout_read` batch over {@link mcpTree}: a read and a grep that both succeed. */
export const READ_AND_GREP = [
  { id: 'r', kind: 'read', input: { path: 'src/a.ts' } },
  { id: 'g', kind: 'grep', input: { pattern: 'answer', paths: ['src'] } },
];

/** The official MCP client, connected over Streamable HTTP to `/mcp` of the server at `base` with a bearer token. */
export async function connectMcp(base: string, token: string, name: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', base), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return client;
}
