import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary, SchedulerEvent } from '@fanout/scheduler';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fanout } from './helpers.js';

/**
 * The HTML report opened in a real headless browser: Debian's chromium driven by
 * playwright-core (which never downloads a browser of its own). The page is served from a
 * local HTTP server and every request it makes is routed through the test, so an external
 * asset (a font, a script, a stylesheet) fails the test instead of reaching the internet.
 */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let dir: string;
let tree: string;
let server: Server;
let origin: string;
let context: BrowserContext | undefined;
/** Paths the HTTP server was asked for, in order (the report pages and the flaky endpoint). */
const served: string[] = [];
let flakyHits = 0;

// Said while the file is collected: vitest runs no hook of a file whose tests are all skipped.
if (!hasChromium) {
  console.warn(`html-report.test.ts: SKIPPED — ${CHROMIUM} is missing, so the HTML report cannot be opened in a browser. Install it with "apt-get install -y chromium" (Debian; as root) to run these tests.`);
}

beforeAll(async () => {
  if (!hasChromium) return;
  dir = await mkdtemp(join(tmpdir(), 'fanout-html-report-'));
  tree = join(dir, 'project');
  await mkdir(join(tree, 'src'), { recursive: true });
  await mkdir(join(tree, 'test'), { recursive: true });
  await writeFile(join(tree, 'README.md'), '# project\n\nA small project for the report test.\n');
  await writeFile(join(tree, 'package.json'), JSON.stringify({ name: 'project', type: 'module', main: 'src/index.ts' }));
  await writeFile(join(tree, 'src', 'index.ts'), "import { add } from './math.js';\n\nexport function main(): number {\n  return add(1, 2);\n}\n");
  await writeFile(join(tree, 'src', 'math.ts'), '// TODO: overflow\nexport const add = (a: number, b: number): number => a + b;\n');
  await writeFile(join(tree, 'test', 'math.test.ts'), "import { add } from '../src/math.js';\n\n// FIXME: more cases\nconsole.assert(add(1, 2) === 3);\n");

  // /flaky answers 500 the first time (retryable for fetch), 200 after: one operation, two
  // attempts, so the timeline must draw a retried bar and a succeeded one for it.
  server = createServer((request, response) => {
    const path = request.url ?? '';
    served.push(path);
    if (path === '/flaky') {
      flakyHits++;
      response.writeHead(flakyHits === 1 ? 500 : 200, { 'content-type': 'text/plain' }).end(flakyHits === 1 ? 'not yet' : 'ok');
      return;
    }
    const name = /^\/report\/([\w-]+\.html)$/.exec(path)?.[1];
    if (name === undefined) {
      response.writeHead(404).end();
      return;
    }
    readFile(join(dir, name)).then(
      (html) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A fresh profile, so nothing cached or remembered from another run can serve the page.
  const userDataDir = join(dir, 'chromium-profile');
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** What `--ndjson` printed: the run's events, with the summary of its `run-finished`. */
function parseEvents(stdout: string): { events: SchedulerEvent[]; summary: RunSummary } {
  const events = stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as SchedulerEvent);
  const finished = events.find((event) => event.type === 'run-finished');
  if (finished?.type !== 'run-finished') throw new Error(`expected a run-finished event on stdout, got ${events.length} events of types ${[...new Set(events.map((e) => e.type))].join(', ')}`);
  return { events, summary: finished.summary };
}

/** The ids of the attempts the run started, one entry per attempt, sorted. */
function startedAttempts(events: SchedulerEvent[]): string[] {
  return events.flatMap((event) => (event.type === 'op-started' ? [event.id] : [])).sort();
}

/**
 * Opens `dir/name` in a new page, served from the local server. Every request the page makes
 * goes through a route: the page itself continues, anything else is recorded and aborted.
 */
async function openReport(name: string): Promise<{ page: Page; url: string; foreign: string[] }> {
  const page = await context!.newPage();
  const url = `${origin}/report/${name}`;
  const foreign: string[] = [];
  await page.route('**/*', (route) => {
    const asked = route.request().url();
    if (asked === url) return route.continue();
    foreign.push(asked);
    return route.abort('blockedbyclient');
  });
  const response = await page.goto(url, { waitUntil: 'load' });
  expect(response?.status(), `GET ${url}`).toBe(200);
  return { page, url, foreign };
}

/** Every bar of the timeline as drawn: its operation, outcome and box on the screen. */
async function drawnBars(page: Page): Promise<{ id: string; outcome: string; width: number; height: number; inside: boolean }[]> {
  const svg = await page.locator('svg.timeline').boundingBox();
  if (svg === null) throw new Error('expected svg.timeline to be rendered, got no box for it');
  const bars = [];
  for (const bar of await page.locator('svg.timeline rect.bar').all()) {
    const box = await bar.boundingBox();
    const id = (await bar.getAttribute('data-id')) ?? '';
    if (box === null) throw new Error(`expected the bar of ${id} to be rendered, got no box for it`);
    // Half a pixel of slack: boxes are fractional, and a bar may end exactly on the edge.
    const inside = box.x >= svg.x - 0.5 && box.x + box.width <= svg.x + svg.width + 0.5 && box.y >= svg.y - 0.5 && box.y + box.height <= svg.y + svg.height + 0.5;
    bars.push({ id, outcome: (await bar.getAttribute('data-outcome')) ?? '', width: box.width, height: box.height, inside });
  }
  return bars;
}

/** Takes a full-page screenshot under the temporary directory and checks it is a real PNG. */
async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  const png = await readFile(path);
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE), `${path} starts with the PNG signature`).toBe(true);
  // IHDR, the first chunk, holds the image's width and height (big-endian, bytes 16–23).
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  expect(png.readUInt32BE(16)).toBeGreaterThan(0);
  expect(png.readUInt32BE(20)).toBeGreaterThan(0);
  expect(png.length).toBeGreaterThan(1000);
}

/** Checks what every report shows, whatever the run: title, figures, one bar per attempt, charts, no asset. */
async function checkCommon(page: Page, foreign: string[], title: string, events: SchedulerEvent[], summary: RunSummary): Promise<void> {
  expect(await page.title()).toBe(title);
  expect(await page.locator('h1').textContent()).toBe(title);
  const facts = await page.locator('.facts > div').allTextContents();
  expect(facts).toContain(`${summary.total}operations`);
  expect(facts).toContain(`${summary.speedup.toFixed(1)}×speedup`);
  expect(facts).toContain(`${summary.peakInflight}peak in flight`);
  const states = await page.locator('span.state').allTextContents();
  const expectedStates = Object.entries(summary.byState)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`);
  expect(states).toEqual(expectedStates);

  // Exactly one bar per attempt: as many as the summary counts, for the attempts the events started.
  const bars = await drawnBars(page);
  expect(bars).toHaveLength(summary.attempts);
  expect(bars.map((bar) => bar.id).sort()).toEqual(startedAttempts(events));
  for (const bar of bars) {
    expect(bar.width, `bar of ${bar.id} is drawn`).toBeGreaterThan(0);
    expect(bar.height, `bar of ${bar.id} is drawn`).toBeGreaterThan(0);
    expect(bar.inside, `bar of ${bar.id} lies inside the timeline`).toBe(true);
  }

  // The time axis: every label fits inside the timeline.
  const timeline = (await page.locator('svg.timeline').boundingBox())!;
  for (const tick of await page.locator('svg.timeline text.tick').all()) {
    const box = (await tick.boundingBox())!;
    expect(box.x >= timeline.x - 0.5 && box.x + box.width <= timeline.x + timeline.width + 0.5, `label ${await tick.textContent()} fits`).toBe(true);
  }

  // In flight against the limit: one chart per kind that ran.
  const charted = await Promise.all((await page.locator('svg.concurrency').all()).map(async (chart) => (await chart.getAttribute('data-kind')) ?? ''));
  expect(charted.sort()).toEqual(Object.keys(summary.byKind).sort());
  expect(await page.locator('h2', { hasText: 'Resource pressure' }).count()).toBe(1);
  // The machine's CPU and memory over the run: at least the sample taken as it ended, drawn.
  for (const resource of ['cpu', 'memory']) {
    const dot = page.locator(`svg.resources g[data-resource="${resource}"] circle`).first();
    expect((await dot.boundingBox())?.width, `a ${resource} sample is drawn`).toBeGreaterThan(0);
  }
  expect(await page.locator('svg.resources').locator('xpath=..').locator('figcaption').textContent()).toMatch(/last sample: cpu \d+ % · memory \d+ %/);

  expect(await page.locator('script, link, img, iframe, object, embed').count()).toBe(0);
  expect(foreign, 'requests for anything but the page itself').toEqual([]);
}

describe('the HTML report in a real browser', () => {
  it.skipIf(!hasChromium)('shows a plan run: figures, one bar per attempt (retries included), failures and results, with no external asset', async () => {
    const planName = 'report of a small plan';
    const plan = {
      name: planName,
      operations: [
        { id: 'sources', kind: 'glob', input: { pattern: '**/*.ts', cwd: tree } },
        { id: 'readme', kind: 'read', input: { path: join(tree, 'README.md') } },
        { id: 'markers', kind: 'grep', input: { pattern: 'TODO|FIXME', paths: [tree] } },
        { id: 'flaky', kind: 'fetch', input: { url: `${origin}/flaky`, as: 'text' }, retry: { attempts: 3, baseDelayMs: 0 } },
        { id: 'missing', kind: 'read', input: { path: join(tree, 'does-not-exist.md') } },
        { id: 'after-missing', kind: 'read', input: { path: join(tree, 'README.md') }, after: ['missing'] },
      ],
    };
    await writeFile(join(dir, 'plan.json'), JSON.stringify(plan));
    const result = await fanout(['run', 'plan.json', '--report', 'run.html', '--ndjson'], { cwd: dir });
    expect(result.code, result.stderr).toBe(1);
    const { events, summary } = parseEvents(result.stdout);
    expect(summary.byState).toMatchObject({ succeeded: 4, failed: 1, skipped: 1 });
    // One attempt each, two for flaky, none for after-missing.
    expect(summary.attempts).toBe(6);

    const { page, url, foreign } = await openReport('run.html');
    try {
      await checkCommon(page, foreign, planName, events, summary);
      const bars = await drawnBars(page);
      const outcomesOf = (id: string): string[] => bars.filter((bar) => bar.id === id).map((bar) => bar.outcome);
      expect(outcomesOf('flaky')).toEqual(['retried', 'succeeded']);
      expect(outcomesOf('missing')).toEqual(['failed']);
      expect(outcomesOf('after-missing')).toEqual([]);
      expect(outcomesOf('sources')).toEqual(['succeeded']);

      const failed = await page.locator('h2:has-text("Did not succeed") + table tr').allTextContents();
      expect(failed.some((row) => row.startsWith('missing') && row.includes('failed'))).toBe(true);
      expect(failed.some((row) => row.startsWith('after-missing') && row.includes('skipped'))).toBe(true);
      expect(await page.locator('.results table').count()).toBeGreaterThan(0);
      await screenshot(page, 'run');
    } finally {
      await page.close();
    }
    expect(served.filter((path) => path === new URL(url).pathname)).toHaveLength(1);
    expect(flakyHits).toBe(2);
  });

  it.skipIf(!hasChromium)('shows an explore-codebase run: one bar per attempt, a chart per kind, the ranked files', async () => {
    const result = await fanout(['explore-codebase', tree, '--report', join(dir, 'explore.html'), '--ndjson'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const { events, summary } = parseEvents(result.stdout);
    expect(summary.attempts).toBeGreaterThan(5);

    const { page, foreign } = await openReport('explore.html');
    try {
      await checkCommon(page, foreign, summary.name ?? '', events, summary);
      expect(summary.name).toContain('explore-codebase');
      const results = await page.locator('.results').textContent();
      // The codebase map, paths relative to the explored root.
      expect(results).toContain('src/math.ts');
      expect(results).toContain('codebase map');
      await screenshot(page, 'explore');
    } finally {
      await page.close();
    }
  });
});
