// Checks the files writeCheckReports makes from two hand-built check reports (schema 2), one clean and one
// with violation groups, a failed checklist item, a concurrent burst, transport and hang findings, items
// not run and fingerprints, whose texts carry < > & ' ": check.json round-trips, check.md and
// check-junit.xml name what broke, how often and how to repeat it, and check.html is escaped, offline and
// byte-stable. Headless Chromium then opens the page and parses the JUnit file.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import type { CheckReport, TranscriptLine } from '../../../src/check/checkReport.js';
import { writeCheckReports, type CheckReportPaths } from '../../../src/check/report/writeCheckReports.js';
import { escapeXmlText } from '../../../src/report/escapeXml.js';

const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];
const BROWSER_TIMEOUT_MS = 60_000;

const AWKWARD = `a <b> & 'c' "d"`;
const KME_A = 'http://127.0.0.1:8441';
const KME_B = 'http://127.0.0.1:8442';
const NOTE = 'Same seed, same requests; what a live target answers may differ from run to run.';
const REDACT = `printf '%s\\n' "$R1" | sed -E 's/("key" *: *")[^"]*"/\\1<redacted>"/g'`;

function createCleanReport(): CheckReport {
  return {
    schemaVersion: 2,
    target: { file: 'targets/local.yaml', kmes: [{ id: 'KME_A', url: KME_A }, { id: 'KME_B', url: KME_B }], saes: ['SAE_A', 'SAE_B'], profile: 'strict' },
    seed: 42,
    runs: 50,
    budgetMs: 60_000,
    wallMs: 4_321,
    detectedAfterMs: null,
    destructive: false,
    conformance: [
      { item: 'C16', title: '{}, no body and GET without query return 1 key', verdict: 'pass', detail: 'got 1 key of 256 bits', transcript: [] },
      { item: 'C17', title: 'number=n returns n keys', verdict: 'pass', detail: 'n = 1, 2, 4', transcript: [] },
      { item: 'C29', title: 'multicast slaves get identical bytes', verdict: 'skip', detail: 'the target names no additional slave SAE', transcript: [] },
    ],
    properties: { runs: 50, interrupted: false, failed: false, shrunkActions: null },
    violations: [],
    findings: [],
    skipped: [],
    fingerprints: null,
    passed: true,
    note: NOTE,
    repro: 'kmesim check --target targets/local.yaml --seed 42 --runs 50',
  };
}

const ENC_LINE: TranscriptLine = {
  id: 1,
  curl: `R1=$(curl -sS -w '\\n%{http_code}' -X POST -H 'X-SAE-ID: SAE_A' -H 'Content-Type: application/json' --data-raw '{"number":1}' '${KME_A}/api/v1/keys/SAE_B/enc_keys'); ${REDACT}`,
  status: 200,
  response: '{"keys":[{"key_ID":"7b0c4f9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f","key":"<redacted 64 bits #5e2a91c0>"}]}',
};
const RESTART_LINE: TranscriptLine = { id: 2, curl: `curl -sS -X POST '${KME_B}/admin/restart'`, status: 204, response: '' };
const DEC_LINE: TranscriptLine = {
  id: 3,
  curl: `curl -sS -X POST -H 'X-SAE-ID: SAE_B' -H 'Content-Type: application/json' --data-raw '{"key_IDs":[{"key_ID":"7b0c4f9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"}]}' '${KME_B}/api/v1/keys/SAE_A/dec_keys'`,
  status: 200,
  response: '{"keys":[]}',
};
const THIRD_PARTY_LINE: TranscriptLine = {
  id: 4,
  curl: `curl -sS -X POST -H 'X-SAE-ID: SAE_C <eve> & '\\''friends'\\'' "x"' -H 'Content-Type: application/json' --data-raw '{"key_IDs":[{"key_ID":"a<b>&'\\''c'\\''\\"d\\""}]}' '${KME_B}/api/v1/keys/SAE_A/dec_keys'`,
  status: 200,
  response: `{"keys":[{"key_ID":"a<b>&'c'\\"d\\"","key":"<redacted 64 bits #5e2a91c0>"}],"note":"${AWKWARD}"}`,
};
const MALFORMED_LINE: TranscriptLine = {
  id: 5,
  curl: `curl -sS -X POST -H 'X-SAE-ID: SAE_A' -H 'Content-Type: application/json' --data-raw '{"size":12}' '${KME_A}/api/v1/keys/SAE_B/enc_keys'`,
  status: 200,
  response: '{"keys":[{"key_ID":"0d1e2f30-4152-4637-8899-aabbccddeeff","key":"<redacted 16 bits #00c4e1f2>"}]}',
};
const TIMEOUT_LINE: TranscriptLine = {
  id: 6,
  curl: `curl -sS -H 'X-SAE-ID: SAE_A' '${KME_A}/api/v1/keys/SAE_B/status'`,
  status: 0,
  failure: 'timeout: no answer within 5000 ms',
  response: '',
};
const BURST_LINES: readonly TranscriptLine[] = [7, 8].map((id) => ({
  id,
  curl: `curl -sS -w '\\n%{http_code}' -X POST -H 'X-SAE-ID: SAE_A' -H 'Content-Type: application/json' --data-raw '{}' '${KME_A}/api/v1/keys/SAE_B/enc_keys' > "$T/${id}" &`,
  status: id === 7 ? 200 : 503,
  response: id === 7 ? '{"keys":[{"key_ID":"k7","key":"<redacted 256 bits #77aa>"}]}' : '{"message":"no keys"}',
  burst: 3,
}));

function createFailingReport(): CheckReport {
  return {
    schemaVersion: 2,
    target: { file: `targets/lab <1> & 'two'.yaml`, kmes: [{ id: 'KME_A', url: KME_A }, { id: 'KME_B', url: KME_B }], saes: ['SAE_A', 'SAE_B', 'SAE_C'], profile: 'strict' },
    seed: 1234,
    runs: 100,
    budgetMs: 120_000,
    wallMs: 9_876,
    detectedAfterMs: 1_234,
    destructive: false,
    conformance: [
      { item: 'C16', title: '{}, no body and GET without query return 1 key', verdict: 'pass', detail: 'got 1 key of 256 bits', transcript: [] },
      { item: 'C21', title: 'size not a multiple of 8 gets 400', verdict: 'fail', detail: `size 12 answered 200, expected 400 (${AWKWARD})`, transcript: [MALFORMED_LINE] },
      { item: 'C24', title: 'malformed JSON gets 400 with an Error body', verdict: 'pass', detail: '5 bodies tried', transcript: [] },
      { item: 'C29', title: 'multicast slaves get identical bytes', verdict: 'skip', detail: `no additional slave SAE: <none> & 'n/a'`, transcript: [] },
    ],
    properties: { runs: 37, interrupted: false, failed: true, shrunkActions: 3 },
    violations: [
      {
        invariant: 'I2',
        name: 'enc-dec-persistence',
        group: 'I2:lost-after-restart',
        severity: 2,
        occurrences: 12,
        phase: 'properties',
        reproduced: { tries: 5, reproduced: 4 },
        message: 'key 7b0c4f9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f was delivered to SAE_A but dec_keys by SAE_B answered 200 without it after a restart',
        evidence: { keyId: '7b0c4f9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f', master: 'SAE_A', slave: 'SAE_B', entries: [1, 2, 3] },
        transcript: [ENC_LINE, RESTART_LINE, DEC_LINE],
      },
      {
        invariant: 'I5',
        name: 'authorized-only',
        group: 'I5:third-party-dec',
        severity: 3,
        occurrences: 1,
        phase: 'conformance',
        reproduced: null,
        message: `SAE_C got key material it was not named for: ${AWKWARD}`,
        evidence: { caller: `SAE_C <eve> & 'friends' "x"`, status: 200 },
        transcript: [ENC_LINE, THIRD_PARTY_LINE, ...BURST_LINES],
      },
    ],
    findings: [
      { kind: 'transport', message: `GET /api/v1/keys/SAE_B/status: timeout (${AWKWARD})`, transcript: [TIMEOUT_LINE] },
      { kind: 'hang', message: 'POST /api/v1/keys/SAE_B/enc_keys never answered', transcript: [] },
    ],
    skipped: [
      { item: 'C40', why: `drains the pool: run with --destructive <to> & 'allow'` },
      { item: 'restart', why: 'the target has no admin API' },
    ],
    fingerprints: { file: null, keyId: '0a1b2c3d4e5f', keys: 40, compared: { file: 'reports/earlier/check-fingerprints.json', keys: 38, seenAgain: 2 } },
    passed: false,
    note: NOTE,
    repro: `kmesim check --target 'targets/lab <1> & '\\''two'\\''.yaml' --seed 1234 --runs 100`,
  };
}

function listViolationCurls(report: CheckReport): string[] {
  return report.violations.flatMap((v) => v.transcript.map((line) => line.curl));
}

async function writeToTemp(report: CheckReport): Promise<CheckReportPaths> {
  return writeCheckReports(report, join(await mkdtemp(join(tmpdir(), 'kmesim-check-report-')), 'nested', 'out'));
}

let browser: Browser | undefined;

async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`checkReport.test: no Chromium at ${CHROMIUM_PATH}; the HTML report cannot be checked in a browser. Install Debian's chromium: apt-get update && apt-get install -y chromium`);
  }
  browser ??= await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  return browser;
}

afterAll(async () => {
  await browser?.close();
});

// The project compiles without the DOM library; this is the little of it the page-side callback uses.
interface XmlParserWindow {
  readonly DOMParser: new () => {
    parseFromString(text: string, type: string): {
      querySelector(selector: string): { readonly textContent: string | null } | null;
      querySelectorAll(selector: string): ArrayLike<{ getAttribute(name: string): string | null; querySelectorAll(selector: string): { readonly length: number } }>;
    };
  };
}

it('writes check.json, check.md, check-junit.xml and check.html into a folder it creates', async () => {
  const paths = await writeToTemp(createFailingReport());
  expect(Object.keys(paths).sort()).toEqual(['html', 'json', 'junit', 'markdown']);
  expect(paths.json.endsWith(join('nested', 'out', 'check.json'))).toBe(true);
  expect(paths.markdown.endsWith('check.md')).toBe(true);
  expect(paths.junit.endsWith('check-junit.xml')).toBe(true);
  expect(paths.html.endsWith('check.html')).toBe(true);
  for (const path of Object.values(paths)) expect((await readFile(path, 'utf8')).length).toBeGreaterThan(0);
});

it('writes check.json that parses back to the same report, pretty-printed', async () => {
  for (const report of [createCleanReport(), createFailingReport()]) {
    const text = await readFile((await writeToTemp(report)).json, 'utf8');
    expect(JSON.parse(text)).toEqual(report);
    expect(text).toContain('\n  "schemaVersion": 2,\n');
  }
});

it('states a clean check as PASS in check.md, with the target, the conformance table and no violations section', async () => {
  const report = createCleanReport();
  const md = await readFile((await writeToTemp(report)).markdown, 'utf8');
  expect(md.split('\n')[2]).toMatch(/^\*\*✅ PASS\*\*: /);
  expect(md).toContain(`- KMEs: \`KME_A\` at \`${KME_A}\`, \`KME_B\` at \`${KME_B}\``);
  expect(md).toContain('- Profile: `strict`');
  expect(md).toContain('| C29 | multicast slaves get identical bytes | ⏭ skip | the target names no additional slave SAE |');
  expect(md).not.toContain('## Violations');
  expect(md).not.toContain('## Not run');
  expect(md).not.toContain('## Fingerprints');
  expect(md).toContain('- Destructive items: not run');
  expect(md).toContain(`\`\`\`sh\n${report.repro}\n\`\`\`\n\n${NOTE}\n`);
});

it('gives each violation in check.md its heading, message, evidence, numbered curl commands and repro line', async () => {
  const report = createFailingReport();
  const md = await readFile((await writeToTemp(report)).markdown, 'utf8');
  expect(md.split('\n')[2]).toMatch(/^\*\*❌ FAIL\*\*: /);
  expect(md).toContain('### I2 enc-dec-persistence\n');
  expect(md).toContain('### I5 authorized-only\n');
  expect(md).toContain('**seen 12× · phase properties · reproduced 4/5** · group `I2:lost-after-restart`');
  expect(md).toContain('**seen 1× · phase conformance · not replayed** · group `I5:third-party-dec`');
  expect(md.indexOf('### I2 ')).toBeLessThan(md.indexOf('### I5 '));
  expect(md).toContain('| I2 | enc-dec-persistence | ❌ VIOLATED | 1 | 12 |');
  expect(md).toContain('Evidence: `{"keyId":"7b0c4f9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f","master":"SAE_A","slave":"SAE_B","entries":[1,2,3]}`');
  expect(md).toContain(`1. \`\`\`sh\n   ${ENC_LINE.curl}\n   \`\`\`\n   → 200 \``);
  expect(md).toContain(`3. \`\`\`sh\n   ${DEC_LINE.curl}\n   \`\`\`\n   → 200 \`{"keys":[]}\``);
  for (const curl of listViolationCurls(report)) expect(md).toContain(curl);
  expect(md.split('\n').filter((line) => line === `repro: \`${report.repro}\``)).toHaveLength(report.violations.length);
});

it('escapes awkward text in check.md prose and lists the finding and the property phase', async () => {
  const md = await readFile((await writeToTemp(createFailingReport())).markdown, 'utf8');
  expect(md).toContain(`SAE\\_C got key material it was not named for: a \\<b\\> \\& 'c' "d"`);
  expect(md).not.toContain(`for: ${AWKWARD}`);
  expect(md).toContain('### Finding 1 (transport)');
  expect(md).toContain(TIMEOUT_LINE.curl);
  expect(md).toContain('→ no answer \\(timeout: no answer within 5000 ms\\)');
  expect(md).toContain('| C21 | size not a multiple of 8 gets 400 | ❌ FAIL |');
  expect(md).toContain('- Runs: 37\n');
  expect(md).toContain('- Shrunk counterexample: 3 actions');
  expect(md).toContain('### Finding 2 (hang)');
});

it('marks the requests of a burst as concurrent in check.md, above their commands', async () => {
  const md = await readFile((await writeToTemp(createFailingReport())).markdown, 'utf8');
  const [seven, eight] = BURST_LINES;
  expect(md).toContain(`3. ⇉ **concurrent \\(burst 3\\)**\n   \`\`\`sh\n   ${seven?.curl ?? ''}\n   \`\`\`\n   → 200 \``);
  expect(md).toContain(`4. ⇉ **concurrent \\(burst 3\\)**\n   \`\`\`sh\n   ${eight?.curl ?? ''}\n   \`\`\`\n   → 503 \``);
  expect(md.match(/⇉ \*\*concurrent/g)).toHaveLength(2);
});

it('lists what was not run, the fingerprints and the note in check.md', async () => {
  const md = await readFile((await writeToTemp(createFailingReport())).markdown, 'utf8');
  expect(md).toContain(`## Not run\n\n- \`C40\`: drains the pool: run with --destructive \\<to\\> \\& 'allow'\n- \`restart\`: the target has no admin API\n`);
  expect(md).toContain('- Fingerprint key: `0a1b2c3d4e5f`, 40 keys fingerprinted');
  expect(md).toContain('- Compared: compared with reports/earlier/check-fingerprints.json \\(38 keys\\): 2 keys seen again');
  expect(md).toContain('- File: not written');
  expect(md).toContain(`\n${NOTE}\n`);
  expect(md.split('\n')[2]).toContain('2 not run');
});

it('writes one JUnit test case per checklist item and per black-box invariant, all passing or skipped, for a clean check', async () => {
  const xml = await readFile((await writeToTemp(createCleanReport())).junit, 'utf8');
  expect(xml).toMatch(/<testsuite name="conformance" tests="3" failures="0" errors="0" skipped="1"/);
  expect(xml).toMatch(/<testsuite name="invariants" tests="9" failures="0" errors="0" skipped="0"/);
  expect(xml).toMatch(/<testsuite name="transport" tests="0" failures="0"/);
  expect(xml).toMatch(/<testsuite name="not-run" tests="0" failures="0"/);
  expect(xml).toMatch(/<testsuites name="[^"]*" tests="12" failures="0" errors="0" skipped="1" time="4.321">/);
  const invariantNames = [...xml.matchAll(/<testcase name="(I\d+) [^"]*" classname="kmesim\.check\.invariants"/g)].map((m) => m[1]);
  expect(invariantNames).toEqual(['I1', 'I2', 'I3', 'I4', 'I5', 'I7', 'I9', 'I10', 'I13']);
  expect(xml).toContain('<skipped message="the target names no additional slave SAE"/>');
  expect(xml).not.toContain('<failure');
});

it('fails the JUnit cases of the failed item, the violated invariants and the finding, with escaped text', async () => {
  const report = createFailingReport();
  const xml = await readFile((await writeToTemp(report)).junit, 'utf8');
  expect(xml).toMatch(/<testsuite name="conformance" tests="4" failures="1" errors="0" skipped="1"/);
  expect(xml).toMatch(/<testsuite name="invariants" tests="9" failures="2" errors="0" skipped="0"/);
  expect(xml).toMatch(/<testsuite name="transport" tests="2" failures="2" errors="0" skipped="0"/);
  expect(xml).toMatch(/<testsuite name="not-run" tests="2" failures="0" errors="0" skipped="2"/);
  expect(xml.match(/<failure /g)).toHaveLength(5);
  expect(xml).toContain('type="kmesim.check.hang"');
  expect(xml).toContain('<skipped message="the target has no admin API"/>');
  expect(xml).toContain('message="key 7b0c4f9e-1d2a-4c3b-9e8f-0a1b2c3d4e5f was delivered to SAE_A but dec_keys by SAE_B answered 200 without it after a restart (seen 12×, reproduced 4/5)"');
  expect(xml).toContain('seen 1× · phase conformance · not replayed');
  expect(xml).toContain(escapeXmlText(`3. [concurrent (burst 3)] ${BURST_LINES[0]?.curl ?? ''}`));
  expect(xml).toContain('type="kmesim.check.I2"');
  expect(xml).toContain('type="kmesim.check.I5"');
  expect(xml).toContain('type="kmesim.check.transport"');
  expect(xml).toContain('<skipped message="no additional slave SAE: &lt;none&gt; &amp; &#39;n/a&#39;"/>');
  expect(xml).toContain(`message="SAE_C got key material it was not named for: a &lt;b&gt; &amp; &#39;c&#39; &quot;d&quot; (seen 1×, not replayed)"`);
  for (const curl of listViolationCurls(report)) expect(xml).toContain(escapeXmlText(curl));
  expect(xml).toContain(escapeXmlText(`repro: ${report.repro}`));
  expect(xml).not.toContain(AWKWARD);
  // Outside tags, no raw < or > and no & that does not start an entity.
  const text = xml.replace(/^<\?xml [^?]*\?>/, '').replace(/<\/?[A-Za-z][\w.-]*(?:\s+[\w.-]+="[^"<>]*")*\s*\/?>/g, '');
  expect(text).not.toMatch(/[<>]|&(?!(?:amp|lt|gt|quot|#\d+);)/);
});

it('writes check.html with no script and no http(s) references in src or href', async () => {
  for (const report of [createCleanReport(), createFailingReport()]) {
    const html = await readFile((await writeToTemp(report)).html, 'utf8');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
  }
});

it('escapes awkward text in check.html and shows every curl command of the violations', async () => {
  const report = createFailingReport();
  const html = await readFile((await writeToTemp(report)).html, 'utf8');
  expect(html).not.toContain(AWKWARD);
  expect(html).toContain(escapeXmlText(report.violations[1]?.message ?? 'missing'));
  expect(html).toContain(`<title>FAIL · kmesim check · targets/lab &lt;1&gt; &amp; &#39;two&#39;.yaml</title>`);
  for (const curl of listViolationCurls(report)) expect(html).toContain(`<pre class="curl">${escapeXmlText(curl)}</pre>`);
  expect(html).toContain(`<pre class="curl">${escapeXmlText(TIMEOUT_LINE.curl)}</pre>`);
  expect(html).toContain(`<pre class="curl">${escapeXmlText(report.repro)}</pre>\n<p class="note">${escapeXmlText(NOTE)}</p>`);
});

it('shows counts, reproduction, concurrency, what was not run and the fingerprints in check.html', async () => {
  const html = await readFile((await writeToTemp(createFailingReport())).html, 'utf8');
  expect(html).toContain('<span class="seen">seen 12×</span> · phase properties · <span class="rate">reproduced 4/5</span>');
  expect(html).toContain('<span class="rate">not replayed</span>');
  expect(html.match(/<li class="concurrent"><span class="concurrent-tag">⇉ concurrent \(burst 3\)<\/span><pre class="curl">/g)).toHaveLength(2);
  expect(html).toContain('<h2>Not run</h2>');
  expect(html).toContain(`<li><span class="mono">C40</span>: ${escapeXmlText(`drains the pool: run with --destructive <to> & 'allow'`)}</li>`);
  expect(html).toContain('<dt>Compared</dt><dd>compared with reports/earlier/check-fingerprints.json (38 keys): 2 keys seen again</dd>');
  const clean = await readFile((await writeToTemp(createCleanReport())).html, 'utf8');
  for (const heading of ['Not run', 'Fingerprints']) expect(clean).not.toContain(`<h2>${heading}</h2>`);
});

it('writes check-fingerprints.json beside the reports when given, and names it in them', async () => {
  const fingerprints = '{"schema":"kmesim-fingerprints/1"}\n';
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-check-report-'));
  expect((await writeCheckReports(createFailingReport(), dir, { fingerprints })).fingerprints).toBe(join(dir, 'check-fingerprints.json'));
  expect(await readFile(join(dir, 'check-fingerprints.json'), 'utf8')).toBe(fingerprints);
  expect((JSON.parse(await readFile(join(dir, 'check.json'), 'utf8')) as CheckReport).fingerprints?.file).toBe('check-fingerprints.json');
  expect(await readFile(join(dir, 'check.md'), 'utf8')).toContain('- File: `check-fingerprints.json`');
  expect((await writeToTemp(createFailingReport())).fingerprints).toBeUndefined();
});

it('writes byte-identical files when the same report is written twice', async () => {
  for (const report of [createCleanReport(), createFailingReport()]) {
    const first = await writeToTemp(report);
    const second = await writeToTemp(report);
    for (const key of ['json', 'markdown', 'junit', 'html'] as const) {
      expect(await readFile(second[key], 'utf8'), key).toBe(await readFile(first[key], 'utf8'));
    }
  }
});

it('loads check.html in Chromium with no console or page errors, no requests beyond the file, and the curl commands as text', { timeout: BROWSER_TIMEOUT_MS }, async () => {
  const report = createFailingReport();
  const paths = await writeToTemp(report);
  const page = await (await launchBrowser()).newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(paths.html).href, { waitUntil: 'load' });
  expect(errors).toEqual([]);
  expect(requests).toEqual([pathToFileURL(paths.html).href]);
  expect(await page.textContent('header.banner .verdict')).toBe('FAIL');
  const commands = await page.$$eval('.violation ol.transcript pre.curl', (pres) => pres.map((pre) => pre.textContent));
  const expected = [...report.violations.flatMap((v) => v.transcript), ...(report.conformance[1]?.transcript ?? [])].map((line) => line.curl);
  expect([...commands].sort()).toEqual([...expected].sort());
  expect(await page.$$eval('.inv-table td.violated', (cells) => cells.length)).toBe(2);
  // Every table header in one font: the invariant table's "verdict" header is not the banner's verdict.
  const headerFonts = await page.$$eval('th', (cells) => {
    // In the page: the browser's getComputedStyle (this project's type-check has no DOM library).
    const styleOf = (globalThis as unknown as { getComputedStyle: (cell: unknown) => { fontSize: string; fontWeight: string } }).getComputedStyle;
    return cells.map((cell) => `${styleOf(cell).fontSize} ${styleOf(cell).fontWeight}`);
  });
  expect(headerFonts.length).toBeGreaterThan(4);
  expect(new Set(headerFonts).size).toBe(1);
  await page.close();
});

it('writes a check-junit.xml that Chromium parses, with the test cases per suite', { timeout: BROWSER_TIMEOUT_MS }, async () => {
  const xml = await readFile((await writeToTemp(createFailingReport())).junit, 'utf8');
  const page = await (await launchBrowser()).newPage();
  const result = await page.evaluate((text) => {
    const { DOMParser } = globalThis as unknown as XmlParserWindow;
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    const suites = Array.from(doc.querySelectorAll('testsuite')).map((suite) => ({
      name: suite.getAttribute('name'),
      testcases: suite.querySelectorAll('testcase').length,
      failures: suite.querySelectorAll('failure').length,
      skipped: suite.querySelectorAll('skipped').length,
    }));
    return { error: doc.querySelector('parsererror')?.textContent ?? null, suites };
  }, xml);
  expect(result).toEqual({
    error: null,
    suites: [
      { name: 'conformance', testcases: 4, failures: 1, skipped: 1 },
      { name: 'invariants', testcases: 9, failures: 2, skipped: 0 },
      { name: 'transport', testcases: 2, failures: 2, skipped: 0 },
      { name: 'not-run', testcases: 2, failures: 0, skipped: 2 },
    ],
  });
  await page.close();
});
