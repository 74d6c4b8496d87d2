// Opens the generated index.html in headless Chromium (Debian's package, driven by playwright-core) and
// checks that it draws every chart offline, logs no errors and fetches nothing; leaves a screenshot.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeReports, type ReportPaths } from '../../../src/sim/report/writeReports.js';
import { createFailingRun, createPassingRun, createScaleRun, REPORT_META } from './reportFixtures.js';

const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT_PATH = fileURLToPath(new URL('../../../reports/report-screenshot.png', import.meta.url));
const TIMEOUT_MS = 60_000;

let browser: Browser | undefined;
let paths: ReportPaths;

beforeAll(async () => {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`reportBrowser.test: no Chromium at ${CHROMIUM_PATH}. Install Debian's chromium: apt-get update && apt-get install -y chromium`);
  }
  const outDir = await mkdtemp(join(tmpdir(), 'kmesim-report-browser-'));
  paths = await writeReports([createFailingRun(), createPassingRun(), createScaleRun(1_000)], outDir, REPORT_META);
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}, TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
});

// The project compiles without the DOM library; this is the little of it the page-side callback uses.
interface XmlParserWindow {
  readonly DOMParser: new () => {
    parseFromString(text: string, type: string): {
      querySelector(selector: string): { readonly textContent: string | null } | null;
      querySelectorAll(selector: string): { readonly length: number };
    };
  };
}

interface OpenedPage {
  readonly page: Page;
  readonly errors: string[];
  readonly requests: string[];
}

async function openReport(): Promise<OpenedPage> {
  if (!browser) throw new Error('reportBrowser.test: the browser did not start');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(paths.html).href, { waitUntil: 'load' });
  return { page, errors, requests };
}

it('draws a uPlot canvas for every chart once every run is expanded', { timeout: TIMEOUT_MS }, async () => {
  const { page } = await openReport();
  await page.click('#expand-all');
  const charts = await page.$$eval('[data-chart]', (targets) => targets.map((t) => ({
    chart: `${t.getAttribute('data-run')}/${t.getAttribute('data-chart')}`,
    canvases: t.querySelectorAll('.uplot canvas').length,
  })));
  // Pools and messages for each of the three runs, and the key stores of the one with a supply.
  expect(charts).toHaveLength(7);
  expect(charts.filter((chart) => chart.chart.endsWith('/stores'))).toHaveLength(1);
  for (const chart of charts) expect(chart.canvases, chart.chart).toBeGreaterThanOrEqual(1);
  await page.close();
});

it('draws the failing run at load, before anything is expanded', { timeout: TIMEOUT_MS }, async () => {
  const { page } = await openReport();
  expect(await page.$$eval('#run-0 .uplot canvas', (canvases) => canvases.length)).toBeGreaterThanOrEqual(2);
  expect(await page.$$eval('#run-1 .uplot', (plots) => plots.length)).toBe(0);
  await page.close();
});

it('logs no console errors, throws no page errors and requests nothing but the file itself', { timeout: TIMEOUT_MS }, async () => {
  const { page, errors, requests } = await openReport();
  await page.click('#expand-all');
  await page.setViewportSize({ width: 900, height: 900 });
  await page.waitForTimeout(100);
  expect(errors).toEqual([]);
  expect(requests).toEqual([pathToFileURL(paths.html).href]);
  await page.close();
});

it('fits every chart to the page width when the window narrows', { timeout: TIMEOUT_MS }, async () => {
  const { page } = await openReport();
  await page.click('#expand-all');
  await page.setViewportSize({ width: 800, height: 900 });
  await page.waitForTimeout(200);
  const overflowing = await page.$$eval('[data-chart]', (targets) => targets
    .filter((t) => (t.querySelector('.uplot')?.getBoundingClientRect().width ?? 0) > t.getBoundingClientRect().width + 1)
    .map((t) => `${t.getAttribute('data-run')}/${t.getAttribute('data-chart')}`));
  expect(overflowing).toEqual([]);
  await page.close();
});

it('writes a non-empty screenshot to reports/report-screenshot.png', { timeout: TIMEOUT_MS }, async () => {
  const { page } = await openReport();
  await mkdir(join(SCREENSHOT_PATH, '..'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
  expect((await stat(SCREENSHOT_PATH)).size).toBeGreaterThan(0);
  await page.close();
});

it('writes a junit.xml that the browser XML parser accepts', { timeout: TIMEOUT_MS }, async () => {
  const { page } = await openReport();
  const xml = await readFile(paths.junit, 'utf8');
  const result = await page.evaluate((text) => {
    const { DOMParser } = globalThis as unknown as XmlParserWindow;
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    return { error: doc.querySelector('parsererror')?.textContent ?? null, testcases: doc.querySelectorAll('testcase').length };
  }, xml);
  expect(result).toEqual({ error: null, testcases: 3 });
  await page.close();
});
