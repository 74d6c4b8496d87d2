// Opens a plan.html in headless Chromium (Debian's package, driven by playwright-core): it draws its one
// chart offline (a line per line of the grid, the objective), logs no errors and fetches nothing.
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';
import { gridPoints } from '../../../src/sim/plan/planGrid.js';
import { summarizePlan } from '../../../src/sim/plan/planResult.js';
import { planSchema } from '../../../src/sim/plan/planSchema.js';
import { renderPlanHtml } from '../../../src/sim/plan/renderPlanHtml.js';

const CHROMIUM_PATH = '/usr/bin/chromium';

it('draws the plan chart offline, with every line of the grid and the objective, and no errors', async () => {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`planBrowser.test: no Chromium at ${CHROMIUM_PATH}. Install Debian's chromium: apt-get install -y chromium`);
  const plan = planSchema.parse({ name: 'p', scenario: 's.yaml', seeds: 1, vary: { distanceKm: [25, 50], poolCapacity: [10, 20, 40] }, objective: { keyWaitOver: '1m', atMost: 0.01 } });
  const points = gridPoints(plan.vary);
  const runs = points.map((_, point) => ({ point, seed: 1, passed: true, fingerprint: 'f', messages: 10_000, waited: [900, 120, 10, 2_000, 800, 300][point] as number, exhausted: false, deferred: false }));
  const file = join(await mkdtemp(join(tmpdir(), 'kmesim-plan-html-')), 'plan.html');
  await writeFile(file, renderPlanHtml(summarizePlan(plan, points, runs)));
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    expect(errors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(await page.locator('#plan-chart canvas').count()).toBe(1);
    const legend = await page.locator('#plan-chart .u-legend').innerText();
    for (const label of ['distanceKm=25', 'distanceKm=50', 'objective']) expect(legend).toContain(label);
    expect(await page.locator('header.banner').innerText()).toContain('1 of 2 line(s) of the grid have a pool size that meets the objective');
  } finally {
    await browser.close();
  }
}, 60_000);
