// Checks the four report files written from hand-built runs: report.json round-trips, summary.md and
// junit.xml name the failing run and how to replay it, names are escaped, and index.html is offline,
// carries its chart data safely and comes out byte-identical every time.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { INVARIANT_IDS } from '../../../src/model/violation.js';
import type { RunReport } from '../../../src/sim/runReport.js';
import { buildChartData, CHARTED_POOLS_MAX, POINTS_PER_SERIES_MAX, type RunChartData } from '../../../src/sim/report/buildChartData.js';
import { downsamplePoints } from '../../../src/sim/report/downsamplePoints.js';
import { REPORT_DATA_ELEMENT_ID } from '../../../src/sim/report/chartScript.js';
import { CHART_THEME } from '../../../src/sim/report/chartTheme.js';
import { renderHtml } from '../../../src/sim/report/renderHtml.js';
import { renderJson } from '../../../src/sim/report/renderJson.js';
import { renderJunit } from '../../../src/sim/report/renderJunit.js';
import { renderMarkdown } from '../../../src/sim/report/renderMarkdown.js';
import { writeReports, type ReportPaths } from '../../../src/sim/report/writeReports.js';
import { createFailingRun, createPassingRun, createScaleRun, REPORT_META } from './reportFixtures.js';

const NASTY_NAME = `mail <to> & "from" 'quoted'`;

async function writeFixtureReports(reports: readonly RunReport[] = [createPassingRun(), createFailingRun()]): Promise<ReportPaths> {
  return writeReports(reports, join(await mkdtemp(join(tmpdir(), 'kmesim-report-')), 'nested', 'out'), REPORT_META);
}

function readEmbeddedData(html: string): { runs: RunChartData[] } {
  const match = new RegExp(`<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">([^]*?)</script>`).exec(html);
  if (!match?.[1]) throw new Error('index.html has no embedded chart data');
  return JSON.parse(match[1]) as { runs: RunChartData[] };
}

// Well-formed enough for CI tools: one root, balanced tags, quoted attributes, no bare < or &.
function checkWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml [^?]*\?>\n/, '');
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/g;
  const bareAmpersand = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  const stack: string[] = [];
  let roots = 0;
  let last = 0;
  for (const match of body.matchAll(tag)) {
    const text = body.slice(last, match.index);
    if (/[<>]/.test(text) || bareAmpersand.test(text)) throw new Error(`unescaped text: ${text}`);
    if (bareAmpersand.test(match[3] ?? '')) throw new Error(`unescaped attribute: ${match[0]}`);
    const [, closing, name = '', , selfClosing] = match;
    if (stack.length === 0) roots++;
    if (closing) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else if (!selfClosing) stack.push(name);
    last = match.index + match[0].length;
  }
  if (body.slice(last).trim() !== '' || stack.length > 0 || roots !== 1) throw new Error('not a single balanced root element');
}

it('writes the four files into a folder it creates and returns their paths', async () => {
  const paths = await writeFixtureReports();
  expect(Object.keys(paths).sort()).toEqual(['html', 'json', 'junit', 'markdown']);
  expect(paths.json.endsWith(join('nested', 'out', 'report.json'))).toBe(true);
  for (const path of Object.values(paths)) expect((await readFile(path, 'utf8')).length).toBeGreaterThan(0);
});

it('round-trips the runs and meta through report.json under schema version 1', async () => {
  const runs = [createPassingRun(), createFailingRun()];
  const paths = await writeFixtureReports(runs);
  expect(JSON.parse(await readFile(paths.json, 'utf8'))).toEqual({ schemaVersion: 1, meta: REPORT_META, runs });
});

it('keeps arrays of plain values on one line in report.json and reads back as JSON.stringify would', () => {
  const run: RunReport = { ...createFailingRun(), derived: { gone: undefined, nan: Number.NaN, list: [1, undefined, 'x'], at: new Date(0), empty: [], none: {} } };
  const text = renderJson([run], REPORT_META);
  expect(text).toContain('\n      "bugs": ["restart-loses-keys"],\n');
  expect(text).toMatch(/"points": \[\n {14}\[0, \d+\],\n/);
  expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify({ schemaVersion: 1, meta: REPORT_META, runs: [run] })));
});

it('writes byte-identical files when the same runs are written twice', async () => {
  const first = await writeFixtureReports();
  const second = await writeFixtureReports();
  for (const key of ['json', 'markdown', 'junit', 'html'] as const) {
    const [a, b] = await Promise.all([readFile(first[key]), readFile(second[key])]);
    expect(a.equals(b), `${key} differs between two writes`).toBe(true);
  }
});

it('puts one summary table row per run in summary.md with the verdict and fingerprint prefix', () => {
  const markdown = renderMarkdown([createPassingRun(), createFailingRun()], REPORT_META);
  expect(markdown).toContain('| scenario | seed | verdict | sent | decrypted | refusals | syncs ok / failed | fingerprint | wall ms | steps/s | sim:real |');
  expect(markdown).toContain('| mail-steady | 42 | ✅ pass | 1,080 | 1,080 | 0 | 9 / 0 | `3f6c1e0a9b7d` | 413 | 48,749 | 8,724:1 |');
  expect(markdown).toContain('| remote-outage | 7 | ❌ FAIL | 640 | 598 | 42 | 6 / 5 | `a1b2c3d4e5f6` | 988 | 3,114 | 1,748:1 |');
  expect(markdown).toContain('**❌ FAIL**: 1 of 2 runs of 2 scenarios failed.');
});

it('gives every run’s wall time, KME steps per second and simulated-to-real ratio in every format', () => {
  const runs = [createPassingRun(), createFailingRun()];
  const markdown = renderMarkdown(runs, REPORT_META);
  // The runs' times added up: 23,191 steps in 1,400.8 ms of runs.
  expect(markdown).toMatch(/^- Time: .* virtual in 1,401 ms of runs: 23,191 KME steps, 16,556 steps\/s, [\d,]+:1 simulated to real$/m);
  const junit = renderJunit(runs, REPORT_META);
  expect(junit).toContain('wall ms: 412.6\nKME steps: 20114\nsteps/s: 48749\nsim:real: 8724:1');
  const html = renderHtml(runs, REPORT_META);
  expect(html).toContain('<td class="num">413</td><td class="num">48,749</td><td class="num">8,724:1</td>');
  expect(html).toContain('<div class="value">3,114</div><div class="label">KME steps per second (3,077 steps)</div>');
  expect(html).toContain('<div class="value">1,748:1</div><div class="label">simulated : real</div>');
});

it('lists the failing run’s violations, failed expectations and repro line in a code block in summary.md', () => {
  const markdown = renderMarkdown([createPassingRun(), createFailingRun()], REPORT_META);
  expect(markdown).toContain('## ❌ remote-outage, seed 7');
  expect(markdown).toContain('- **I2 enc-dec-persistence** (safety): key 5d0c…e1 delivered');
  expect(markdown).toContain('`{"keyId":"5d0c7a52-8b1e-4f7a-9d1c-2e3f4a5b6ce1","master":"dave","slave":"erin","restartAtMs":93600000,"status":400}`');
  expect(markdown).toContain('- **I16 liveness** (liveness): pool erin stayed below');
  expect(markdown).toContain('- every sent message is decrypted within 1 h: 3 messages still pending');
  expect(markdown).toContain('```sh\nkmesim run scenarios/remote-outage.yaml --seed 7 --bug restart-loses-keys\n```');
  expect(markdown).not.toContain('## ❌ mail-steady');
});

it('escapes Markdown in scenario names so they cannot break the table', () => {
  const markdown = renderMarkdown([{ ...createPassingRun(), scenario: 'a|b <i>' }], REPORT_META);
  expect(markdown).toContain('| a\\|b \\<i\\> | 42 |');
});

it('writes one testcase per run in junit.xml and a failure only for the failing run', () => {
  const xml = renderJunit([createPassingRun(), createFailingRun(), { ...createPassingRun(), seed: 43 }], REPORT_META);
  checkWellFormedXml(xml);
  expect(xml.match(/<testcase /g)).toHaveLength(3);
  expect(xml.match(/<failure /g)).toHaveLength(1);
  expect(xml.match(/<testsuite /g)).toHaveLength(2);
  expect(xml).toContain('<testsuites name="kmesim nightly" tests="3" failures="1" errors="0"');
  expect(xml).toContain('<testcase name="seed 7" classname="kmesim.remote-outage" time="0.988">');
  expect(xml).toMatch(/<failure message="I2 enc-dec-persistence: key 5d0c…e1 [^"]*\(\+2 more\)" type="kmesim.run.failed">/);
  expect(xml).toContain('[liveness] I16 liveness: pool erin stayed below');
  expect(xml).toContain('every sent message is decrypted within 1 h: 3 messages still pending');
  expect(xml).toContain('Reproduce:\n  kmesim run scenarios/remote-outage.yaml --seed 7 --bug restart-loses-keys');
});

it('escapes < > & " \' in junit.xml names, messages and evidence and stays well-formed', () => {
  const failing = createFailingRun();
  const nasty: RunReport = {
    ...failing,
    scenario: NASTY_NAME,
    repro: `kmesim run '${NASTY_NAME}' --seed 7`,
    safety: { ...failing.safety, violations: [{ invariant: 'I5', message: 'read by <mallory> & "eve"', evidence: { caller: "o'brien", note: ']]></failure>' } }] },
  };
  const xml = renderJunit([nasty], REPORT_META);
  checkWellFormedXml(xml);
  expect(xml).toContain('<testsuite name="mail &lt;to&gt; &amp; &quot;from&quot; &#39;quoted&#39;"');
  expect(xml).toContain('classname="kmesim.mail &lt;to&gt; &amp; &quot;from&quot; &#39;quoted&#39;"');
  expect(xml).toContain('read by &lt;mallory&gt; &amp; &quot;eve&quot;');
  expect(xml).toContain('&quot;note&quot;:&quot;]]&gt;&lt;/failure&gt;&quot;');
  expect(xml).not.toContain(NASTY_NAME);
});

it('drops characters XML 1.0 cannot carry instead of writing an unreadable junit.xml', () => {
  const xml = renderJunit([{ ...createPassingRun(), scenario: 'bell\u0007 and nul\u0000' }], REPORT_META);
  checkWellFormedXml(xml);
  expect(xml).toContain('name="bell and nul"');
});

it('references no http or https script, stylesheet or image in index.html', async () => {
  const html = await readFile((await writeFixtureReports()).html, 'utf8');
  expect(html).not.toMatch(/<(?:script|link|img|iframe)\b[^>]*(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
  expect(html).not.toMatch(/@import|url\(\s*["']?(?:https?:)?\/\//i);
  expect(html).toContain('var uPlot=');
  expect(html).toContain('.uplot');
});

it('embeds each run’s chart data in a JSON script block', async () => {
  const data = readEmbeddedData(await readFile((await writeFixtureReports()).html, 'utf8'));
  expect(data.runs.map((run) => run.id)).toEqual(['run-0', 'run-1']);
  const failing = data.runs[1];
  expect(failing?.pools.series.map((pool) => pool.label)).toEqual(['dave', 'erin']);
  expect(failing?.markers.bands).toEqual([[20, 30, 'remote']]);
  expect(failing?.markers.marks.map((mark) => [mark.kind, mark.total])).toEqual([['sync.completed', 5], ['sync.failed', 5], ['kme.restart', 1], ['fault', 1]]);
  expect(failing?.pools.thresholds).toEqual([{ kind: 'capacity', value: 500 }, { kind: 'low', value: 50 }, { kind: 'emergency', value: 25 }]);
});

it('keeps a "</script>" in the data from closing the JSON script block', () => {
  const run = createPassingRun();
  const pool = run.series.pools[0];
  if (!pool) throw new Error('fixture has no pool');
  const html = renderHtml([{ ...run, series: { ...run.series, pools: [{ ...pool, label: '</script><script>alert(1)</script>' }] } }], REPORT_META);
  expect(html).not.toContain('<script>alert(1)');
  expect(readEmbeddedData(html).runs[0]?.pools.series[0]?.label).toBe('</script><script>alert(1)</script>');
});

it('escapes scenario names, messages and evidence in index.html', () => {
  const failing = createFailingRun();
  const html = renderHtml([{ ...failing, scenario: NASTY_NAME, safety: { ...failing.safety, violations: [{ invariant: 'I5', message: '<b>bold</b>', evidence: {} }] } }], REPORT_META);
  expect(html).toContain('mail &lt;to&gt; &amp; &quot;from&quot; &#39;quoted&#39;');
  expect(html).toContain('&lt;b&gt;bold&lt;/b&gt;');
  expect(html).not.toContain('<b>bold</b>');
});

it('shows a row for each of I1 to I16 in the invariant table and marks violated ones', () => {
  const html = renderHtml([createPassingRun(), createFailingRun()], REPORT_META);
  const table = /<table class="inv-table">[^]*?<\/table>/.exec(html)?.[0] ?? '';
  for (const id of INVARIANT_IDS) expect(table).toContain(`<td class="id">${id}</td>`);
  expect(table.match(/<td class="violated"[^>]*>✗ 1<\/td>/g)).toHaveLength(2);
  expect(html).toContain('<header class="banner fail">');
});

it('charts only the 8 pools with the lowest minimum level of a 1,000-user run and says so', () => {
  const run = createScaleRun(1_000);
  const chart = buildChartData(run, 'run-0');
  expect(chart.pools.total).toBe(1_001);
  expect(chart.pools.series).toHaveLength(CHARTED_POOLS_MAX);
  expect(chart.pools.series[0]?.label).toBe('dense');
  expect(chart.pools.series[0]?.minLevel).toBe(0);
  expect(renderHtml([run], REPORT_META)).toContain('Showing the 8 of 1,001 pools with the lowest minimum level');
});

it('thins a long pool series to at most 2,000 points and keeps its minimum, first and last samples', () => {
  const run = createScaleRun(10);
  const dense = run.series.pools.find((pool) => pool.label === 'dense');
  const chart = buildChartData(run, 'run-0');
  const charted = chart.pools.series.find((pool) => pool.label === 'dense');
  const x = charted?.x ?? chart.pools.x ?? [];
  expect(dense?.points.length).toBeGreaterThan(POINTS_PER_SERIES_MAX);
  expect(x.length).toBeLessThanOrEqual(POINTS_PER_SERIES_MAX);
  expect(charted?.y).toHaveLength(x.length);
  expect(Math.min(...(charted?.y ?? []))).toBe(0);
  expect(charted?.y[0]).toBe(dense?.points[0]?.[1]);
  expect(x[x.length - 1]).toBe(24);
});

it('sends the time axis once when every charted pool was sampled at the same instants', () => {
  const chart = buildChartData(createPassingRun(), 'run-0');
  expect(chart.pools.x).toHaveLength(72 * 6 + 1);
  expect(chart.pools.series.map((pool) => pool.x)).toEqual([null, null, null]);
});

it('keeps every bucket minimum when thinning, whatever the series shape', () => {
  const points = Array.from({ length: 10_000 }, (_, i) => [i, (i * 7_919) % 1_000] as const);
  const thinned = downsamplePoints(points, 100);
  expect(thinned.length).toBeLessThanOrEqual(100);
  expect(Math.min(...thinned.map(([, y]) => y))).toBe(0);
  expect(thinned.map(([x]) => x)).toEqual([...thinned.map(([x]) => x)].sort((a, b) => a - b));
});

it('pairs outage starts and ends by label into bands of their kind, closing one still open at the run’s end', () => {
  const run = createPassingRun();
  const at = (hour: number, kind: 'outage.start' | 'outage.end', label: string) => ({ atMs: hour * 3_600_000, kind, label });
  const remote = 'remote key manager';
  const events = [
    at(2, 'outage.start', remote), at(5, 'outage.start', 'KME_A~KME_B'), at(8, 'outage.end', remote),
    at(9, 'outage.end', 'KME_A~KME_B'), at(48, 'outage.end', remote), at(60, 'outage.start', remote), at(61, 'outage.start', 'KME_A~KME_A'),
  ];
  const chart = buildChartData({ ...run, series: { ...run.series, events } }, 'run-0');
  expect(chart.markers.bands).toEqual([[2, 8, 'remote'], [5, 9, 'link'], [60, 72, 'remote'], [61, 72, 'link']]);
  // The key names each kind in its own colour, with its count.
  const html = renderHtml([{ ...run, series: { ...run.series, events } }], REPORT_META);
  expect(html).toContain(`background:${CHART_THEME.bands.remote.colour}"></span>remote key manager offline ×2`);
  expect(html).toContain(`background:${CHART_THEME.bands.link.colour}"></span>link down ×2`);
  expect(CHART_THEME.bands.remote.colour).not.toBe(CHART_THEME.bands.link.colour);
});
