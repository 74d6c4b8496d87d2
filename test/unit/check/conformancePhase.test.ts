// The conformance phase judged against KMEs whose behaviour is known: the real mock KME started in-process
// (port 0, manual clock, so no refill ever arrives) in its strict and lenient profiles and with catalogued
// bugs switched on, and tiny hand-written servers that misbehave. A correct KME must draw no fail (a false
// alarm is as bad as a missed bug), each bug must fail the item it breaks, and nothing may throw.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { ConformanceResult } from '../../../src/check/checkReport.js';
import { createCheckContext } from '../../../src/check/checkContext.js';
import { createCheckSession, type CheckSession } from '../../../src/check/checkSession.js';
import { runConformancePhase, runDrainItems } from '../../../src/check/conformancePhase.js';
import { closeAgents } from '../../../src/check/etsiClient.js';
import { targetSchema, type Target } from '../../../src/check/targetSchema.js';
import { startServer, type RunningServer, type ServerOptions } from '../../../src/http/startServer.js';
import { createScenarioSetup } from '../../../src/sim/scenarioSetup.js';
import { describeTarget } from '../../../src/http/targetFile.js';

const CHECKLIST = ['C1', 'C3', 'C4', 'C9', 'C10', 'C11', 'C12', 'C14', 'C15', 'C16', 'C17', 'C18', 'C19', 'C20', 'C21', 'C22', 'C23', 'C24', 'C25', 'C26', 'C27', 'C28', 'C29', 'C30', 'C31', 'C33', 'C34', 'C35', 'C36', 'C37', 'C38', 'C39', 'C41', 'C42', 'C43', 'C44'];

const running: RunningServer[] = [];
const servers: Server[] = [];
let dir = '';
let smallPool = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmesim-conformance-'));
  smallPool = join(dir, 'small-pool.yaml');
  // Two KMEs, two SAEs on each, multicast allowed, and a pool small enough to drain in a few requests.
  await writeFile(smallPool, ['name: check-small-pool', 'seeds: [1]', 'duration: 1h', 'world:', '  kmes: 2', '  users: { count: 4 }', '  maxSaeIdCount: 2', '  pool: { capacity: 20 }', ''].join('\n'));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
  for (const server of servers.splice(0)) server.closeAllConnections();
  closeAgents();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function mock(options: ServerOptions, admin = true): Promise<Target> {
  const server = await startServer({ port: 0, seed: 7, clock: 'manual', ...options });
  running.push(server);
  const target: Target = { ...targetSchema.parse(describeTarget(server)), admin: server.admin };
  // Without the admin API the checker cannot know it faces kmesim (C26 then probes for the extension).
  if (!admin) delete target.admin;
  return target;
}

/** The conformance phase, then the drain as a check runs it (last, in a session of its own). */
async function check(target: Target): Promise<{ results: ConformanceResult[]; session: CheckSession }> {
  const context = createCheckContext({ budgetMs: 60_000 });
  const session = createCheckSession(target, context);
  const { results } = await runConformancePhase(session, { destructive: true });
  const drainSession = createCheckSession(target, context);
  const drained = await runDrainItems(drainSession);
  session.violations.push(...drainSession.violations);
  session.findings.push(...drainSession.findings);
  return { results: results.map((result) => drained.find((other) => other.item === result.item) ?? result), session };
}

function listing(results: readonly ConformanceResult[]): string {
  return results
    .filter((result) => result.verdict !== 'pass')
    .map((result) => `${result.item} ${result.verdict}: ${result.detail}`)
    .join('\n');
}

function itemsWith(results: readonly ConformanceResult[], verdict: ConformanceResult['verdict']): string[] {
  return results.filter((result) => result.verdict === verdict).map((result) => result.item);
}

function verdictOf(results: readonly ConformanceResult[], item: string): ConformanceResult {
  const found = results.find((result) => result.item === item);
  if (found === undefined) throw new Error(`no result for ${item}`);
  return found;
}

it('answers every checklist item once, in checklist order, each detail on one line', async () => {
  const { results } = await check(await mock({ kmes: 2 }));
  expect(results.map((result) => result.item)).toEqual(CHECKLIST);
  for (const result of results) {
    expect(result.detail, result.item).not.toMatch(/\n/);
    if (result.verdict !== 'skip') expect(result.transcript.length, `${result.item} shows its exchanges`).toBeGreaterThan(0);
  }
});

it('finds nothing wrong with the strict mock KME on two KMEs (skips only multicast, which it does not offer)', async () => {
  const { results, session } = await check(await mock({ kmes: 2 }));
  expect(itemsWith(results, 'fail'), listing(results)).toEqual([]);
  expect(itemsWith(results, 'skip'), listing(results)).toEqual(['C29']);
  // Without multicast, C28 is judged by the one rule that needs none: no SAE is its own slave.
  expect(verdictOf(results, 'C28').detail).toMatch(/naming itself as slave: 400/);
  expect(verdictOf(results, 'C29').detail).toMatch(/max_SAE_ID_count is 0/);
  expect(session.violations, JSON.stringify(session.violations)).toEqual([]);
  expect(session.findings).toEqual([]);
});

it('finds nothing wrong with the strict mock KME on one KME (no third SAE: C35 is skipped)', async () => {
  const { results, session } = await check(await mock({ kmes: 1 }));
  expect(itemsWith(results, 'fail'), listing(results)).toEqual([]);
  expect(itemsWith(results, 'skip'), listing(results)).toEqual(['C29', 'C35']);
  expect(verdictOf(results, 'C35').detail).toMatch(/no third SAE/);
  // With one KME listed the slave's KME cannot be known: C11 judges the source only.
  expect(verdictOf(results, 'C11').detail).toMatch(/not judged: target_KME_ID/);
  expect(session.violations).toEqual([]);
});

it('finds nothing wrong with the strict mock KME under mutual TLS', async () => {
  const { results, session } = await check(await mock({ kmes: 2, auth: 'mtls', certDir: join(dir, 'certs') }, false));
  expect(itemsWith(results, 'fail'), listing(results)).toEqual([]);
  expect(itemsWith(results, 'skip'), listing(results)).toEqual(['C1', 'C29']);
  expect(session.findings).toEqual([]);
});

it('C14 C31 C28 C29 pass against a small strict pool with multicast, drained to empty', async () => {
  // No admin API in the target file: C26 finds kmesim's extension by probing it with a value it can meet.
  const { results, session } = await check(await mock({ setup: createScenarioSetup(smallPool), kmes: 2 }, false));
  expect(itemsWith(results, 'fail'), listing(results)).toEqual([]);
  expect(itemsWith(results, 'skip'), listing(results)).toEqual([]);
  expect(verdictOf(results, 'C31').detail).toMatch(/answered 503/);
  expect(session.transcript.some((entry) => entry.request.body === '{"extension_mandatory":[{"kmesim_min_ttl_ms":0}]}')).toBe(true);
  expect(session.violations).toEqual([]);
});

it('C14 fails when status also counts delivered keys (bug count-drift)', async () => {
  const { results } = await check(await mock({ setup: createScenarioSetup(smallPool), kmes: 2, bugs: ['count-drift'] }));
  const c14 = verdictOf(results, 'C14');
  expect(c14.verdict, listing(results)).toBe('fail');
  expect(c14.detail).toMatch(/status showed \d+ keys, then enc_keys for \d+ answered 503/);
  expect(c14.transcript.map((line) => line.status)).toEqual([200, 503]);
});

it('C21 fails when sizes that are not a multiple of 8 are rounded up (bug size-rounding)', async () => {
  const { results, session } = await check(await mock({ kmes: 2, bugs: ['size-rounding'] }));
  expect(verdictOf(results, 'C21').verdict, listing(results)).toBe('fail');
  expect(verdictOf(results, 'C18').verdict).toBe('fail');
  expect(session.violations.map((found) => found.invariant)).toContain('I9');
});

it('C35 and C38 fail when a third SAE can read a key (bug third-party-read) and when a refused dec_keys consumes (bug partial-consume)', async () => {
  const third = await check(await mock({ kmes: 2, bugs: ['third-party-read'] }));
  expect(verdictOf(third.results, 'C35').verdict, listing(third.results)).toBe('fail');
  const partial = await check(await mock({ kmes: 2, bugs: ['partial-consume'] }));
  expect(verdictOf(partial.results, 'C38').verdict, listing(partial.results)).toBe('fail');
});

it('C37 fails when keys are not consumed (bug no-consume) or when the other KME delivers them again (bug double-delivery)', async () => {
  const kept = await check(await mock({ kmes: 2, bugs: ['no-consume'] }));
  expect(verdictOf(kept.results, 'C37').verdict, listing(kept.results)).toBe('fail');
  expect(verdictOf(kept.results, 'C36').detail).toMatch(/already-consumed key ID: answered 200/);
  const twice = await check(await mock({ kmes: 2, bugs: ['double-delivery'] }));
  expect(verdictOf(twice.results, 'C37').verdict, listing(twice.results)).toBe('fail');
  expect(verdictOf(twice.results, 'C37').detail).toMatch(/retrieved again through KME_A/);
});

it('raises no alarm against a pool that refills in the background while it is drained', async () => {
  const refilling = join(dir, 'refilling.yaml');
  await writeFile(refilling, ['name: check-refilling', 'seeds: [1]', 'duration: 1h', 'world:', '  kmes: 2', '  users: { count: 4 }', '  pool: { capacity: 20, lowThresholdPct: 50, emergencyThresholdPct: 40 }', ''].join('\n'));
  const { results, session } = await check(await mock({ setup: createScenarioSetup(refilling), kmes: 2, clock: 'real', syncLatencyMs: 1 }));
  expect(itemsWith(results, 'fail'), listing(results)).toEqual([]);
  expect(session.violations).toEqual([]);
});

it('finds nothing wrong with the per-user-pool mock KME when the target claims it (qk_ key IDs, fixed 8192-bit keys)', async () => {
  const { results } = await check(await mock({ kmes: 2, profile: 'per-user-pool' }));
  expect(itemsWith(results, 'fail'), listing(results)).toEqual([]);
  expect(itemsWith(results, 'skip'), listing(results)).toEqual(['C29']);
  expect(verdictOf(results, 'C19').detail).toMatch(/uniqueness only/);
});

it('finds nothing wrong with the lenient mock KME when the target claims lenient (404 Key not found, keys kept)', async () => {
  const target = await mock({ kmes: 2, profile: 'lenient' }, false);
  expect(target.profile).toBe('lenient');
  const { results, session } = await check(target);
  expect(itemsWith(results, 'fail'), listing(results)).toEqual([]);
  expect(itemsWith(results, 'skip'), listing(results)).toEqual(['C29', 'C37']);
  expect(verdictOf(results, 'C36').detail).toMatch(/404 "Key not found"/);
  expect(verdictOf(results, 'C36').detail).toMatch(/not judged: consumed key/);
  expect(session.violations).toEqual([]);
});

it('finds nothing wrong with the next-door mock KME (400 Insufficient keys available when drained) when the target claims it', async () => {
  const { results, session } = await check(await mock({ kmes: 2, profile: 'next-door' }));
  expect(itemsWith(results, 'fail'), listing(results)).toEqual([]);
  expect(itemsWith(results, 'skip'), listing(results)).toEqual(['C29']);
  expect(session.violations).toEqual([]);
});

it('finds nothing wrong with a mock KME that answers repeated dec_keys idempotently, whose target file says so', async () => {
  const target = await mock({ kmes: 2, retry: 'idempotent', retryGraceMs: 60_000 });
  expect(target.limits.repeatGraceMs).toBe(60_000);
  const { results, session } = await check(target);
  expect(itemsWith(results, 'fail'), listing(results)).toEqual([]);
  expect(verdictOf(results, 'C37').detail).toMatch(/re-read within the declared repeat grace \(60000 ms\)/);
  expect(verdictOf(results, 'C36').detail).toMatch(/consumed key: within the declared repeat grace/);
  expect(session.violations).toEqual([]);
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return url;
}

function handTarget(url: string): Target {
  const sae = (id: string) => ({ id, kme: 'KME_X', header: 'X-SAE-ID', value: id });
  return targetSchema.parse({ kmes: [{ id: 'KME_X', url }], saes: [sae('SAE_1'), sae('SAE_2'), sae('SAE_3')] });
}

it('completes against a server of HTML error pages and 500s, with fails and skips only', async () => {
  const url = await serve((req, res) => {
    const path = req.url ?? '';
    const [status, body] = path.includes('/status') ? [200, '<html><body>KME up</body></html>'] : req.method === 'POST' && path.includes('enc_keys') ? [500, '<h1>500 Internal Server Error</h1>'] : [404, '<h1>404 Not Found</h1>'];
    res.writeHead(status, { 'content-type': 'text/html' });
    res.end(body);
  });
  const { results } = await check(handTarget(url));
  expect(results.map((result) => result.item)).toEqual(CHECKLIST);
  expect(itemsWith(results, 'pass'), listing(results)).toEqual([]);
  for (const item of ['C3', 'C9', 'C15', 'C16', 'C41', 'C42']) expect(verdictOf(results, item).verdict, item).toBe('fail');
});

it('completes against a server whose JSON is well-formed but wrong, judging from its own status', async () => {
  const status = { source_KME_ID: 'KME_X', target_KME_ID: 'KME_X', master_SAE_ID: 'SAE_1', slave_SAE_ID: 'SAE_2', key_size: 256, stored_key_count: 5, max_key_count: 10, max_key_per_request: 4, max_key_size: 1024, min_key_size: 64, max_SAE_ID_count: 0, status_extension: null };
  const url = await serve((req, res) => {
    const path = req.url ?? '';
    const [code, body] = path.includes('/status') ? [200, status] : path.includes('enc_keys') ? [200, { keys: 'none today' }] : [500, { detail: 'boom' }];
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  const { results, session } = await check(handTarget(url));
  expect(results.map((result) => result.item)).toEqual(CHECKLIST);
  expect(verdictOf(results, 'C9').verdict, listing(results)).toBe('pass');
  for (const item of ['C16', 'C17', 'C41', 'C42', 'C44']) expect(verdictOf(results, item).verdict, `${item}\n${listing(results)}`).toBe('fail');
  expect(session.violations.map((found) => found.invariant)).toContain('I13');
});

it('gives transport failures a skip, not a throw, when nothing listens', async () => {
  const url = await serve(() => undefined);
  const stopped = servers.pop() as Server;
  await new Promise((resolve) => stopped.close(resolve));
  const { results, session } = await check(handTarget(url));
  expect(itemsWith(results, 'pass')).toEqual([]);
  expect(itemsWith(results, 'fail'), listing(results)).toEqual([]);
  expect(session.findings.every((finding) => finding.kind === 'transport')).toBe(true);
});
