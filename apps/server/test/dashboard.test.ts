/**
 * The dashboard in a real headless browser (Debian's chromium driven by playwright-core, as
 * the HTML report's test does): a plan of 1,000 operations submitted from the page, watched
 * live until it is done, drawn by the HTML report's code; every request the page makes must
 * go to the server itself. The screenshot is kept in test-results/dashboard.png.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
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
  served = await startServer(['--token-file', 'tokens'], temp.dir);
  context = await chromium.launchPersistentContext(join(temp.dir, 'chromium-profile'), { executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await served?.stop();
  await temp?.remove();
});

describe.skipIf(!hasChromium)('the dashboard', () => {
  it('submits a plan of 1,000 operations, shows it live and done, with no request leaving the server', async () => {
    const page = await context!.newPage();
    const elsewhere: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(`${served.url}/`)) return route.continue();
      elsewhere.push(url);
      return route.abort('blockedbyclient');
    });
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

  it('answers the page with a policy that forbids any other source', async () => {
    const response = await fetch(`${served.url}/`);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await response.text()).not.toMatch(/(src|href)="https?:/);
  });
});
