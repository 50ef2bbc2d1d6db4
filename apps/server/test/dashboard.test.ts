/**
 * The dashboard in a real headless browser (Debian's chromium driven by playwright-core, as
 * the HTML report's test does): a plan of 1,000 operations submitted from the page, watched
 * live until it is done, drawn by the HTML report's code; every request the page makes must
 * go to the server itself. The screenshot is kept in test-results/dashboard.png. Then each
 * panel of a run's view, live while a run is held going by a gate the test opens, and once
 * it is over.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, tempDir, type Served } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = fileURLToPath(new URL('../test-results/', import.meta.url));
const TOKEN = 'dashboard-token-0123456789';

if (!hasChromium) console.warn(`dashboard.test.ts: SKIPPED — ${CHROMIUM} is missing (apt-get install -y chromium).`);

let served: Served;
let temp: { dir: string; remove: () => Promise<void> };
let context: BrowserContext | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  temp = await tempDir();
  await writeFile(join(temp.dir, 'tokens'), TOKEN);
  await writeFile(join(temp.dir, 'note.txt'), 'a line to read\n');
  served = await startServer(['--token-file', 'tokens', '--allow-shell'], temp.dir);
  context = await chromium.launchPersistentContext(join(temp.dir, 'chromium-profile'), { executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  // The gate lets any command still waiting end.
  if (temp !== undefined) await writeFile(join(temp.dir, 'gate'), '');
  await context?.close();
  await served?.stop();
  await temp?.remove();
});

/** A page that may load from the server only: every other request is refused and listed in `elsewhere`. */
async function serverOnlyPage(): Promise<{ page: Page; elsewhere: string[] }> {
  const page = await context!.newPage();
  const elsewhere: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${served.url}/`)) return route.continue();
    elsewhere.push(url);
    return route.abort('blockedbyclient');
  });
  return { page, elsewhere };
}

describe.skipIf(!hasChromium)('the dashboard', () => {
  it('submits a plan of 1,000 operations, shows it live and done, with no request leaving the server', async () => {
    const { page, elsewhere } = await serverOnlyPage();
    await page.goto(`${served.url}/#token=${TOKEN}`);
    const operations = Array.from({ length: 1000 }, (_, i) => ({ id: `read-${i}`, kind: 'read', input: { path: 'note.txt' } }));
    await page.fill('#plan', JSON.stringify({ name: 'a thousand reads', operations }));
    await page.click('#submit');
    await page.waitForSelector('#view .run[data-state="succeeded"]', { timeout: 60_000 });
    expect(await page.textContent('#view tr[data-kind="read"] .done')).toBe('1000 / 1000');
    // The HTML report's timeline: one bar per attempt.
    expect(await page.locator('#view svg.timeline rect.bar').count()).toBe(1000);
    expect(await page.textContent('#view')).toContain('speedup');
    // The list is reloaded after the run's view (on the stream's end): wait for it, not the view.
    await page.waitForSelector('#runs li[data-state="succeeded"]', { timeout: 60_000 });
    expect(await page.textContent('#runs')).toContain('a thousand reads — succeeded');
    expect(elsewhere).toEqual([]);
    await mkdir(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path, fullPage: true });
    expect((await readFile(path)).subarray(1, 4).toString('latin1')).toBe('PNG');
    await page.close();
  });

  it('draws each panel of a run live while it goes — in flight against the limit, resource pressure, failures with why — then its report', async () => {
    const { page, elsewhere } = await serverOnlyPage();
    await page.goto(`${served.url}/#token=${TOKEN}`);
    // Three commands held until the test writes the gate, a read that fails at once, one that succeeds.
    const held = [1, 2, 3].map((i) => ({ id: `held-${i}`, kind: 'bash', input: { command: ['sh', '-c', 'while [ ! -f gate ]; do sleep 0.02; done'], cwd: temp.dir }, timeoutMs: 60_000 }));
    const operations = [...held, { id: 'missing', kind: 'read', input: { path: 'missing.txt' }, retry: { attempts: 1 } }, { id: 'note', kind: 'read', input: { path: 'note.txt' } }];
    await page.fill('#plan', JSON.stringify({ name: 'held panels', operations }));
    await page.click('#submit');
    const view = page.locator('#view');

    // Live, while the gate is shut: the run is going, so whatever the view shows came while it went.
    await page.waitForSelector('#view .run[data-state="running"]', { timeout: 45_000 });
    // In flight against the limit: the three held commands, in the table and in the chart.
    await page.waitForSelector('#view tr[data-kind="bash"] td:nth-child(4):text-matches("^3 / [0-9]+$")', { timeout: 45_000 });
    expect(await view.locator('tr[data-kind="bash"] .done').textContent()).toBe('0 / 3');
    const bashChart = view.locator('svg.concurrency[data-kind="bash"]');
    expect(await bashChart.locator('polyline.inflight').getAttribute('points')).not.toBe('');
    expect(await bashChart.locator('polyline.limit').getAttribute('points')).not.toBe('');
    // The chart's top is the highest the limit (or in flight) went: the limit may adapt as the run goes.
    const caption = await view.locator('figure:has(svg.concurrency[data-kind="bash"]) figcaption').textContent();
    expect(caption).toMatch(/^bash: in flight \(solid\) against the limit \(dashed\), peak 3 of \d+$/);
    // The failure, with why, before the run is over.
    await page.waitForSelector('#view h2:text-is("Did not succeed (so far)")', { timeout: 45_000 });
    const soFar = view.locator('h2', { hasText: 'Did not succeed (so far)' }).locator('xpath=following-sibling::table[1]');
    const failureRow = soFar.locator('tr', { hasText: 'missing' });
    expect(await failureRow.locator('td').allTextContents()).toEqual(['missing', 'read', 'failed', expect.stringContaining('missing.txt')]);
    // Resource pressure: the server's samples of the machine reach the view as the run goes
    // (one every 500 ms; the run is held until they have).
    await page.waitForSelector('#view svg.resources g.resource', { timeout: 45_000 });
    expect(await view.locator('h2', { hasText: 'Resource pressure' }).count()).toBe(1);
    expect(await view.textContent()).toContain('CPU, memory and disk use of the machine');
    expect(await view.textContent()).not.toContain('The machine was not sampled during this run.');
    // No report while it goes.
    expect(await view.locator('pre.report').count()).toBe(0);
    expect(await view.locator('.run[data-state="running"]').count()).toBe(1);

    // Opened: the same page follows the run to its end, without a reload.
    await writeFile(join(temp.dir, 'gate'), '');
    await page.waitForSelector('#view .run[data-state="failed"]', { timeout: 45_000 });
    expect(await view.locator('tr[data-kind="bash"] .done').textContent()).toBe('3 / 3');
    // Over: nothing in flight (the limit stays).
    expect(await view.locator('tr[data-kind="bash"] td:nth-child(4)').textContent()).toMatch(/^0 \/ \d+$/);
    expect(await view.textContent()).toContain('4 succeeded');
    expect(await view.textContent()).toContain('1 failed');
    // The failures from the run's summary now, with why.
    expect(await view.textContent()).not.toContain('Did not succeed (so far)');
    const final = view.locator('h2', { hasText: /^Did not succeed$/ }).locator('xpath=following-sibling::table[1]');
    expect(await final.locator('tr', { hasText: 'missing' }).locator('td').allTextContents()).toEqual(['missing', 'read', 'failed', expect.stringContaining('missing.txt')]);
    // The report: the run's Markdown, as GET /v1/runs/:id gives it.
    const id = await view.locator('.run').getAttribute('data-id');
    const run = (await (await fetch(new URL(`/v1/runs/${id}`, served.url), { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { markdown: string };
    expect(await view.locator('h2', { hasText: /^Report$/ }).count()).toBe(1);
    expect(await view.locator('pre.report').textContent()).toBe(run.markdown);
    expect(run.markdown).toContain('held panels');
    expect(elsewhere).toEqual([]);
    await page.close();
  });

  it('answers the page with a policy that forbids any other source', async () => {
    const response = await fetch(`${served.url}/`);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await response.text()).not.toMatch(/(src|href)="https?:/);
  });
});
