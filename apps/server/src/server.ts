/**
 * The server: configuration and adapters as every fanout command loads them, one scheduler
 * and one monitor shared by every run, the routes of the API on Hono, served by
 * `@hono/node-server`. Every request passes the Host, Origin and token checks first
 * (security.ts); errors answer `{ error: { code, message, issues? } }`.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type HttpBindings, type ServerType } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { createFanoutMcpRuntime, createFanoutMcpServer } from '@fanout/mcp';
import { createMonitor, MetricsRecorder } from '@fanout/monitor';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { adaptersFromConfig, loadConfig, monitorOptions, PLAN_STEPS, PROFILES, schedulerOptions, type Config } from '@fanout/profiles';
import { createScheduler, type Run } from '@fanout/scheduler';
import type { Distributed } from '@fanout/distributed';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ServerError } from './errors.js';
import type { ServerOptions } from './options.js';
import { RunManager } from './runs.js';
import { allowedHosts, checkHostAndOrigin, isLoopbackHost, Tokens } from './security.js';
import { isRunId, RunStore } from './store.js';
import { streamEvents } from './sse.js';
import { planFromBody } from './submit.js';
import { DASHBOARD_CSP, dashboardPage } from './dashboard.js';
import { renderRunView } from './view.js';

/** A started server. */
export interface FanoutServer {
  /** `http://host:port` it answers on. */
  url: string;
  port: number;
  runs: RunManager;
  /** Stops accepting, lets runs finish within the grace period, cancels the rest, releases everything. */
  close(graceMs?: number): Promise<void>;
}

type Env = { Bindings: HttpBindings; Variables: { principal: string } };

const KINDS = ['glob', 'read', 'write', 'grep', 'bash', 'fetch', 'search', 'analyze'] as const;

const ACCEPTED_HEAD = { 'content-type': 'application/json' };

function errorResponse(c: Context, error: ServerError): Response {
  if (error.retryAfter !== undefined) c.header('Retry-After', String(error.retryAfter));
  return c.json(error.body(), error.status as 400);
}

/**
 * A request's body from Node's stream, refused over `max` bytes: no web Request is built for
 * it (@hono/node-server makes one, with its headers, signal and stream, when a body is asked of
 * `c.req`), which is most of what reading a small body that way costs.
 */
function readBody(incoming: IncomingMessage, max: number): Promise<string> {
  const tooLarge = () => new ServerError('FANOUT_SERVER_BODY_TOO_LARGE', `expected a request body of at most ${max} bytes (--max-body), got more`);
  if (Number(incoming.headers['content-length']) > max) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        incoming.off('data', onData);
        incoming.resume(); // what is left is read and dropped
        reject(tooLarge());
      } else chunks.push(chunk);
    };
    incoming.on('data', onData);
    incoming.once('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
    incoming.once('error', reject);
  });
}

/** Reads a JSON body; what does not parse is FANOUT_INPUT_INVALID. */
async function jsonBody(c: Context<Env>, max: number): Promise<unknown> {
  const text = await readBody(c.env.incoming, max);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ServerError('FANOUT_INPUT_INVALID', `expected a JSON body, got text that does not parse: ${(error as Error).message}`, {
      issues: [{ path: '', code: 'FANOUT_INPUT_INVALID', message: (error as Error).message }],
    });
  }
}

/** Starts a server with these options; resolves once it listens. */
export async function startServer(options: ServerOptions): Promise<FanoutServer> {
  const cwd = options.cwd ?? process.cwd();
  if (!isLoopbackHost(options.host) && options.tokens.length === 0) {
    throw new ServerError('FANOUT_SERVER_TOKEN_REQUIRED', `expected --token-file when listening off loopback, got --host ${options.host} without one: anyone who reaches it could run plans`);
  }
  const loaded = await loadConfig({ cwd, ...(options.configFile === undefined ? {} : { configFile: options.configFile }) });
  // Roots come from the configuration only, never from a request (nor an MCP client's roots).
  // fetch and the search providers reach no loopback, private, link-local or metadata address
  // unless allowed (SSRF): --allow-addresses for both, else each kind's own configuration.
  const fetchAddresses = options.allowAddresses ?? loaded.config.fetch?.allowAddresses ?? [];
  const searchAddresses = options.allowAddresses ?? loaded.config.search?.allowAddresses ?? [];
  const config: Config = {
    ...loaded.config,
    roots: loaded.config.roots ?? [cwd],
    fetch: { ...loaded.config.fetch, allowAddresses: [...fetchAddresses] },
    search: { ...loaded.config.search, allowAddresses: [...searchAddresses] },
  };
  const kinds = KINDS.filter((kind) => (kind !== 'write' || options.allowWrite) && (kind !== 'bash' || options.allowShell));
  const adapters = await adaptersFromConfig(config, kinds);
  // Sampling from start to stop: a monitor that only samples while a run goes takes a whole
  // sample (reads of /proc, the event-loop probe started again) at the start of every run
  // when none was going, which for short runs one at a time was a sync cost on each of them.
  const monitor = createMonitor({ intervalMs: 500, ...monitorOptions(config) }).start();
  const metrics = new MetricsRecorder({ monitor });
  // No CPU meter: runs share this process, so one run's CPU cannot be told from another's (and
  // reading it at every attempt was the largest cost of a small run under load).
  const configured = schedulerOptions(config);
  // With --redis, the runs' operations go to the workers of that Redis (checked now: a server
  // that cannot reach it fails at start, not at its first run). This machine's pressure says
  // nothing about theirs, so it gates nothing; the kinds' limits apply across all workers.
  let distributed: Distributed | undefined;
  if (options.redis !== undefined) {
    const { distribute } = await import('@fanout/distributed');
    try {
      distributed = await distribute({
        redis: options.redis,
        prefix: options.redisPrefix,
        adapters: adapters.adapters,
        // The plan steps (ranking, agreement) are pure computations over results: they stay here.
        local: PLAN_STEPS.map((step) => step.kind),
        limits: configured.limits,
        onWarning: (message) => process.stderr.write(`fanout-server: ${message}\n`),
      });
    } catch (error) {
      await adapters.close();
      throw error;
    }
  }
  const scheduler = createScheduler({
    adapters: distributed?.adapters ?? adapters.adapters,
    ...configured,
    // With --redis, twice each remote kind's limit queued or running (the workers run the limit).
    ...(distributed === undefined ? {} : { limits: distributed.limits }),
    maxOperations: options.maxOperations,
    ...(distributed === undefined ? { pressure: monitor } : {}),
    cpu: false,
  });
  const store = new RunStore(options.dataDir);
  const follow = distributed === undefined ? undefined : (run: Run) => distributed.executor.follow(run);
  const runs = new RunManager(store, scheduler, config, monitor, metrics, { maxRunsPerPrincipal: options.maxRunsPerToken, maxQueuedPerPrincipal: options.maxQueuedPerToken }, follow);
  try {
    await runs.load();
  } catch (error) {
    await distributed?.executor.close();
    await adapters.close();
    throw error;
  }
  const tokens = new Tokens(options.tokens);
  let hosts = new Set<string>();
  const origins = new Set(options.allowOrigins.map((o) => o.toLowerCase()));
  let closing = false;
  const policy = { scheduler, roots: config.roots!, allowWrite: options.allowWrite, allowShell: options.allowShell, maxOperations: options.maxOperations };

  // The MCP tools over Streamable HTTP: one runtime (runs, handles, adapters) shared by the
  // per-request servers the handler makes; same roots, same allowed kinds, same monitor.
  // Each tool call's run is adopted by the run manager: listed in /v1/runs, logged, journaled,
  // streamed, counted against the token's runs going (refused, not queued, when it has none to
  // spare: the tool answers an error with FANOUT_SERVER_TOO_MANY_RUNS).
  // With --redis, the tools' operations go to the workers too (this machine's pressure gates none of them).
  const mcpRuntime = createFanoutMcpRuntime({
    config,
    allowWrite: options.allowWrite,
    allowShell: options.allowShell,
    ...(distributed === undefined ? { pressure: monitor } : { adapters: distributed.adapters }),
    cwd,
    maxOperations: options.maxOperations,
    launch: (launch) => {
      if (launch.principal === undefined) throw new ServerError('FANOUT_SERVER_UNAUTHORIZED', `expected the token's principal on the tool call ${launch.tool}, got none`);
      return runs.adopt({ title: launch.title, plan: launch.plan, principal: launch.principal, mcp: { tool: launch.tool, handle: launch.handle }, start: launch.start });
    },
  });
  const mcp = createMcpHandler(() => createFanoutMcpServer({ runtime: mcpRuntime }).server, {
    maxRequestBodySize: options.maxBodyBytes,
    onerror: (error) => process.stderr.write(`fanout-server: mcp: ${error.message}\n`),
  });

  const app = new Hono<Env>();
  app.onError((error, c) => {
    if (error instanceof ServerError) return errorResponse(c, error);
    process.stderr.write(`fanout-server: ${c.req.method} ${c.req.path}: ${(error as Error).stack ?? String(error)}\n`);
    return c.json({ error: { code: 'FANOUT_SERVER_INTERNAL', message: `the server failed on ${c.req.method} ${c.req.path}: ${(error as Error).message}` } }, 500);
  });
  app.notFound((c) => errorResponse(c, new ServerError('FANOUT_SERVER_NOT_FOUND', `expected a route of the API (see GET /v1/profiles, /v1/runs, /metrics), got ${c.req.method} ${c.req.path}`)));

  app.use(async (c, next) => {
    checkHostAndOrigin({ host: c.req.header('host'), origin: c.req.header('origin') }, hosts, origins);
    // Probes and the dashboard's page (which holds no data) need no token.
    const open = c.req.method === 'GET' && (c.req.path === '/healthz' || c.req.path === '/readyz' || c.req.path === '/');
    c.set('principal', open ? 'probe' : tokens.principal(c.req.header('authorization')));
    await next();
  });
  const limitBody = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: (c) => errorResponse(c, new ServerError('FANOUT_SERVER_BODY_TOO_LARGE', `expected a request body of at most ${options.maxBodyBytes} bytes (--max-body), got more`)),
  });
  // Only where a route reads a body: the check asks the request for its body, which makes
  // @hono/node-server build a whole web Request, and no GET, HEAD or DELETE here reads one.
  // POST /v1/runs reads its body itself (readBody), with the same limit.
  app.use((c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'DELETE' || (c.req.method === 'POST' && c.req.path === '/v1/runs') ? next() : limitBody(c, next)));

  app.get('/', (c) => c.html(dashboardPage(), 200, { 'content-security-policy': DASHBOARD_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' }));
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', (c) => (closing ? c.json({ ready: false, reason: 'shutting down' }, 503) : c.json({ ready: true, runs: runs.size, going: runs.active, queued: runs.queued })));
  app.get('/metrics', (c) => {
    const lines = [
      '# HELP fanout_server_runs Runs the server knows, by state.',
      '# TYPE fanout_server_runs gauge',
      `fanout_server_runs{state="going"} ${runs.active}`,
      `fanout_server_runs{state="queued"} ${runs.queued}`,
      `fanout_server_runs{state="all"} ${runs.size}`,
    ];
    return c.body(`${metrics.prometheus()}${lines.join('\n')}\n`, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });
  app.get('/v1/profiles', (c) =>
    c.json({
      profiles: Object.values(PROFILES).map((p) => ({ name: p.name, description: p.description, sizes: p.sizes.map((s) => ({ name: s.name, description: s.description, operations: s.operations })) })),
    }),
  );

  const links = (id: string): Record<string, string> => ({ self: `/v1/runs/${id}`, events: `/v1/runs/${id}/events`, dashboard: `/#run=${id}` });

  app.post('/v1/runs', async (c) => {
    if (closing) throw new ServerError('FANOUT_SERVER_SHUTTING_DOWN', 'expected a server that takes new runs, got one shutting down', { retryAfter: 5 });
    const principal = c.get('principal');
    runs.checkRoom(principal); // before the plan is built: a full queue costs nothing more
    const { plan, title, compiled } = await planFromBody(await jsonBody(c, options.maxBodyBytes), policy);
    // The 202 is written to Node's response as soon as the run is stored, before it starts
    // (its journal, scheduler and first events would otherwise come first): at one client,
    // its start-up then overlaps the client's request for the events.
    const outgoing = c.env.outgoing;
    await runs.submit(plan, principal, title, compiled, (meta) => {
      outgoing.writeHead(202, ACCEPTED_HEAD).end(JSON.stringify({ id: meta.id, state: meta.state, links: links(meta.id) }));
    });
    return RESPONSE_ALREADY_SENT;
  });
  app.get('/v1/runs', (c) => {
    const raw = c.req.query('limit') ?? '50';
    const limit = Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      throw new ServerError('FANOUT_INPUT_INVALID', `expected limit to be an integer from 1 to 500, got ${JSON.stringify(raw)}`, { issues: [{ path: 'limit', code: 'FANOUT_INPUT_INVALID', message: 'expected 1–500' }] });
    const cursor = c.req.query('cursor');
    const page = runs.list(limit, cursor);
    return c.json({ runs: page.runs.map((meta) => ({ ...meta, links: links(meta.id) })), ...(page.next === undefined ? {} : { next: `/v1/runs?limit=${limit}&cursor=${page.next}` }) });
  });
  const runOf = (id: string) => {
    const meta = isRunId(id) ? runs.get(id) : undefined;
    if (meta === undefined) throw new ServerError('FANOUT_SERVER_NOT_FOUND', `expected the id of a run of this server, got ${JSON.stringify(id)}`);
    return meta;
  };
  app.get('/v1/runs/:id', async (c) => {
    const meta = runOf(c.req.param('id'));
    const live = runs.snapshot(meta.id);
    const report = meta.state === 'succeeded' || meta.state === 'failed' || meta.state === 'cancelled' ? await runs.report(meta.id) : undefined;
    return c.json({ ...meta, links: links(meta.id), ...(live === undefined ? {} : { live }), ...(report === undefined ? {} : { summary: report.summary, report: report.report, markdown: report.markdown }) });
  });
  app.get('/v1/runs/:id/view', async (c) => {
    const meta = runOf(c.req.param('id'));
    const [events, plan, report] = await Promise.all([runs.events(meta.id), runs.plan(meta.id).catch(() => undefined), runs.report(meta.id)]);
    return c.html(renderRunView(meta, events, plan, report), 200, { 'content-security-policy': DASHBOARD_CSP });
  });
  app.delete('/v1/runs/:id', async (c) => {
    const meta = await runs.cancel(runOf(c.req.param('id')).id);
    return c.json({ id: meta.id, state: meta.state, links: links(meta.id) }, 202);
  });
  app.post('/v1/runs/:id/resume', async (c) => {
    if (closing) throw new ServerError('FANOUT_SERVER_SHUTTING_DOWN', 'expected a server that takes new runs, got one shutting down', { retryAfter: 5 });
    const meta = await runs.resume(runOf(c.req.param('id')).id);
    return c.json({ id: meta.id, state: meta.state, links: links(meta.id) }, 202);
  });
  app.get('/v1/runs/:id/events', async (c) => {
    const meta = runOf(c.req.param('id'));
    const header = c.req.header('last-event-id') ?? c.req.query('after');
    const after = header === undefined ? 0 : Number(header);
    if (!Number.isInteger(after) || after < 0) throw new ServerError('FANOUT_INPUT_INVALID', `expected Last-Event-ID to be an event id (a whole number), got ${JSON.stringify(header)}`);
    await streamEvents(c.env.outgoing, (subscriber) => runs.subscribe(meta.id, after, subscriber));
    return RESPONSE_ALREADY_SENT;
  });

  // The token's principal goes to the tools as authInfo (clientId), so their runs count against it.
  app.all('/mcp', (c) => mcp.fetch(c.req.raw, { authInfo: { token: '', clientId: c.get('principal'), scopes: [] } }));

  let server: ServerType;
  try {
    server = await new Promise((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
      s.once('error', reject);
    });
  } catch (error) {
    // Its connections would keep the process alive after the error is reported.
    await distributed?.executor.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(options.host, port, options.allowHosts);
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;

  return {
    url: `http://${shown}:${port}`,
    port,
    runs,
    close: async (graceMs = options.graceMs) => {
      if (closing) return;
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await runs.close(graceMs);
      // SSE streams of runs that ended have ended; idle keep-alive sockets go now.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await stopped;
      await Promise.allSettled([mcp.close(), mcpRuntime.close()]);
      monitor.stop();
      await distributed?.executor.close();
      await adapters.close();
    },
  };
}
