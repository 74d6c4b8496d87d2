// Who may reach what, on real servers: mTLS with certificates made by the project's own certificate code
// (openssl), header identity, the admin API on and beyond loopback, and every route the app has. Callers
// without a valid certificate are refused in the TLS handshake; a third SAE gets neither a key issued from A
// to B nor any trace of it, and consumes nothing; header identity beyond loopback needs --allow-header-auth;
// the admin API needs its token beyond loopback and cannot be reached through ETSI paths; and no route, called
// by anyone but a key's master and slaves, answers with the key's material.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, afterEach, expect, it } from 'vitest';
import { createForeignClientCertificate, type CertificatePair } from '../../src/http/certificates.js';
import { createApp } from '../../src/http/createApp.js';
import { createHostClock } from '../../src/http/hostClock.js';
import { createKmeHost } from '../../src/http/kmeHost.js';
import { createLogger } from '../../src/http/logging.js';
import { buildOpenApiDocument } from '../../src/http/routeTable.js';
import { startServer, type RunningServer } from '../../src/http/startServer.js';
import { resolveProfile } from '../../src/model/profiles.js';
import { createWorld } from '../../src/model/world.js';
import { requestOverTls, type KmeResponse, type TlsIdentity } from '../http/contract/kmeClient.js';
import { createMemoryLog } from '../support/memoryLog.js';
import { callRaw, createServeProcesses, stopServed, type CallInit, type Key, type RawReply } from '../support/serveProcess.js';
import { createKeySearch, type Finding } from './keySearch.js';
import { recordReliability, type ReliabilityRow } from './record.js';
import { fillPath, listRoutes, openApiRoutes, parametersOf, type RouteSpec } from './routeCatalogue.js';
import { createRequestJournal } from '../../src/http/requestJournal.js';

const rows: ReliabilityRow[] = [];
const dirs: string[] = [];
const servers: RunningServer[] = [];
const processes = createServeProcesses();

afterEach(async () => {
  await processes.stopAll();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  recordReliability('access', rows);
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kmesim-access-'));
  dirs.push(dir);
  return dir;
}

async function started(server: Promise<RunningServer>): Promise<RunningServer> {
  const running = await server;
  servers.push(running);
  return running;
}

/** A local address that is not loopback, or null when this machine has none. */
function nonLoopbackAddress(): string | null {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  }
  return null;
}

const identityOf = (pair: CertificatePair): TlsIdentity => ({ cert: readFileSync(pair.cert), key: readFileSync(pair.key) });

const describeFindings = (findings: readonly Finding[]): string => findings.slice(0, 3).map((f) => `${f.label} as ${f.form}: …${f.context}…`).join('\n');

interface HandshakeResult {
  readonly secureConnect: boolean;
  readonly bytesReceived: number;
  readonly error: string | null;
}

/** A raw TLS connection that sends one HTTP request if the handshake lets it; what came back. */
function tryHandshake(url: string, ca: Buffer, identity: TlsIdentity | null, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<HandshakeResult> {
  const target = new URL(url);
  return new Promise((resolve) => {
    let secureConnect = false;
    let bytesReceived = 0;
    let error: string | null = null;
    const socket = connect({ host: target.hostname, port: Number(target.port), ca, maxVersion, servername: 'localhost', ...(identity ?? {}) }, () => {
      secureConnect = true;
      socket.write(`GET /health HTTP/1.1\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => (bytesReceived += chunk.length));
    socket.on('error', (failure: NodeJS.ErrnoException) => (error = failure.code ?? failure.message));
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.on('close', () => resolve({ secureConnect, bytesReceived, error }));
  });
}

it('mTLS: no client certificate, or one from another CA naming a known SAE, is refused in the TLS handshake and reaches no route', async () => {
  const dir = tempDir();
  const log = createMemoryLog();
  const server = await started(startServer({ port: 0, kmes: 2, auth: 'mtls', clock: 'manual', seed: 41, certDir: join(dir, 'certs'), logger: createLogger('info', log.stream) }));
  const ca = readFileSync(server.certs?.ca ?? '');
  const own = identityOf(server.certs?.saes['SAE_A1'] as CertificatePair);
  const foreign = ['SAE_A1', 'SAE_B1'].map((sae) => ({ sae, pair: createForeignClientCertificate(join(dir, 'foreign'), sae) }));
  for (const { sae, pair } of foreign) {
    const cert = new X509Certificate(readFileSync(pair.cert));
    // Another CA, the same name: only the issuer tells them apart.
    expect(cert.subject).toBe(`CN=${sae}`);
    expect(cert.checkIssued(new X509Certificate(ca))).toBe(false);
  }
  const callers: Array<{ name: string; identity: TlsIdentity | null }> = [
    { name: 'no certificate', identity: null },
    ...foreign.map(({ sae, pair }) => ({ name: `foreign CA, CN=${sae}`, identity: identityOf(pair) })),
  ];
  const stateBefore = await requestOverTls(`${server.admin}/state`, { ca, identity: own }, 'GET');
  expect(stateBefore.status).toBe(200);
  const requestLinesBefore = log.lines().filter((line) => line['msg'] === 'request').length;

  let handshakes = 0;
  let requests = 0;
  for (const kme of server.kmes) {
    for (const caller of callers) {
      // TLS 1.2 verifies the client inside the handshake: it never completes. TLS 1.3 verifies it after
      // the client's Finished: the server then aborts, and not one byte of HTTP comes back.
      for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
        const result = await tryHandshake(kme.url, ca, caller.identity, version);
        handshakes += 1;
        expect(result.bytesReceived, `${caller.name} ${version}`).toBe(0);
        if (version === 'TLSv1.2') expect(result.secureConnect, `${caller.name} ${version}`).toBe(false);
        if (caller.identity === null) expect(result.error).toMatch(/ALERT_(HANDSHAKE_FAILURE|CERTIFICATE_REQUIRED)/);
      }
      const routes: ReadonlyArray<readonly [string, string, unknown]> = [
        ['GET', '/api/v1/keys/SAE_B1/status', undefined],
        ['POST', '/api/v1/keys/SAE_B1/enc_keys', { number: 1 }],
        ['GET', '/api/v1/keys/SAE_B1/enc_keys', undefined],
        ['GET', '/api/v1/keys/SAE_A1/dec_keys?key_ID=00000000-0000-4000-8000-000000000000', undefined],
        ['GET', '/health', undefined],
        ['GET', '/_kmesim/state', undefined],
      ];
      for (const [method, path, body] of routes) {
        const response = await requestOverTls(`${kme.url}${path}`, { ca, identity: caller.identity }, method, body);
        requests += 1;
        expect(response.status, `${caller.name}: ${method} ${path}`).toBe(0);
        expect(response.transportError).toBeDefined();
      }
    }
  }
  // Nothing reached Express: no request line, and the world is as it was.
  expect(log.lines().filter((line) => line['msg'] === 'request').length).toBe(requestLinesBefore);
  const stateAfter = await requestOverTls(`${server.admin}/state`, { ca, identity: own }, 'GET');
  expect(stateAfter.body).toEqual(stateBefore.body);
  // The control: the project's own certificate gets through.
  expect((await requestOverTls(`${server.kmes[0]?.url}/api/v1/keys/SAE_B1/status`, { ca, identity: own }, 'GET')).status).toBe(200);
  rows.push({
    area: 'access',
    tried: `mTLS without a client certificate and with certificates from another CA (CN SAE_A1, SAE_B1): raw TLS 1.2 and 1.3 handshakes and HTTPS requests on ${server.kmes.length} KMEs`,
    count: handshakes + requests,
    result: `all refused before HTTP (TLS 1.2: handshake never completes; 0 bytes back); 0 request lines logged; state unchanged`,
  });
});

interface Issued {
  readonly key: Key;
  readonly master: string;
  readonly slave: string;
}

/** A KME client for one server, whatever its identity mode. */
interface Client {
  readonly urls: Readonly<Record<string, string>>;
  send(kme: string, as: string | null, method: string, path: string, body?: unknown): Promise<KmeResponse | RawReply>;
  state(): Promise<unknown>;
}

function headerClient(server: RunningServer): Client {
  const urls = Object.fromEntries(server.kmes.map((kme) => [kme.id, kme.url]));
  return {
    urls,
    send: (kme, as, method, path, body) => callRaw(`${urls[kme]}${path}`, { method, ...(as === null ? {} : { sae: as }), ...(body === undefined ? {} : { body }) }),
    state: async () => (await callRaw(`${server.admin}/state`)).body,
  };
}

function mtlsClient(server: RunningServer): Client {
  const urls = Object.fromEntries(server.kmes.map((kme) => [kme.id, kme.url]));
  const ca = readFileSync(server.certs?.ca ?? '');
  const identities = new Map(Object.entries(server.certs?.saes ?? {}).map(([sae, pair]) => [sae, identityOf(pair)]));
  return {
    urls,
    send: (kme, as, method, path, body) => requestOverTls(`${urls[kme]}${path}`, { ca, identity: as === null ? null : (identities.get(as) ?? null) }, method, body),
    state: async () => (await requestOverTls(`${server.admin}/state`, { ca, identity: identities.get('SAE_A1') ?? null }, 'GET')).body,
  };
}

const KME_OF: Readonly<Record<string, string>> = { SAE_A1: 'KME_A', SAE_A2: 'KME_A', SAE_B1: 'KME_B', SAE_B2: 'KME_B' };

async function issue(client: Client, master: string, slave: string, number: number): Promise<Issued[]> {
  const reply = await client.send(KME_OF[master] as string, master, 'POST', `/api/v1/keys/${slave}/enc_keys`, { number });
  expect(reply.status, reply.text).toBe(200);
  return (reply.body as { keys: Key[] }).keys.map((key) => ({ key, master, slave }));
}

for (const mode of ['header', 'mtls'] as const) {
  it(`${mode}: SAE C cannot retrieve a key issued from A to B (401 on both KMEs, by GET and POST), consumes nothing, and B still can`, async () => {
    const server = await started(startServer({ port: 0, kmes: 2, auth: mode, clock: 'manual', seed: 42, ...(mode === 'mtls' ? { certDir: join(tempDir(), 'certs') } : {}) }));
    const client = mode === 'header' ? headerClient(server) : mtlsClient(server);
    // A→B across the link, and one key C may legitimately have (A1→A2 when C is A2; B1→B2 when C is B2).
    const foreign = [...(await issue(client, 'SAE_A1', 'SAE_B1', 3)), ...(await issue(client, 'SAE_B1', 'SAE_A1', 2))];
    const before = await client.state();
    let attempts = 0;
    for (const c of ['SAE_A2', 'SAE_B2']) {
      const [own] = await issue(client, KME_OF[c] === 'KME_A' ? 'SAE_A1' : 'SAE_B1', c, 1);
      const stateWithOwn = await client.state();
      for (const { key, master } of foreign) {
        for (const kme of ['KME_A', 'KME_B']) {
          const refusals = [
            await client.send(kme, c, 'GET', `/api/v1/keys/${master}/dec_keys?key_ID=${key.key_ID}`),
            await client.send(kme, c, 'POST', `/api/v1/keys/${master}/dec_keys`, { key_IDs: [{ key_ID: key.key_ID }] }),
          ];
          for (const reply of refusals) {
            attempts += 1;
            expect(reply.status, `${c} on ${kme}: ${reply.text}`).toBe(401);
            expect(reply.text).not.toContain(key.key);
          }
        }
      }
      // C's own key in the same request as a foreign one: refused as a whole, C's key not consumed either (I7).
      const sameMaster = foreign.filter((f) => f.master === own?.master).map((f) => ({ key_ID: f.key.key_ID }));
      const mixed = await client.send(KME_OF[c] as string, c, 'POST', `/api/v1/keys/${own?.master}/dec_keys`, { key_IDs: [{ key_ID: own?.key.key_ID }, ...sameMaster] });
      attempts += 1;
      expect(mixed.status).toBe(401);
      expect(await client.state()).toEqual(stateWithOwn);
      const mine = await client.send(KME_OF[c] as string, c, 'POST', `/api/v1/keys/${own?.master}/dec_keys`, { key_IDs: [{ key_ID: own?.key.key_ID }] });
      expect(mine.status).toBe(200);
      expect((mine.body as { keys: Key[] }).keys).toEqual([own?.key]);
    }
    // Only C's own keys moved: every pool of A1 and B1 is as it was.
    const poolsOf = (state: unknown) => (state as { pools: Array<{ slave: string }> }).pools.filter((pool) => pool.slave === 'SAE_A1' || pool.slave === 'SAE_B1');
    expect(poolsOf(await client.state())).toEqual(poolsOf(before));
    for (const { key, master, slave } of foreign) {
      const retrieved = await client.send(KME_OF[slave] as string, slave, 'GET', `/api/v1/keys/${master}/dec_keys?key_ID=${key.key_ID}`);
      expect(retrieved.status, retrieved.text).toBe(200);
      expect((retrieved.body as { keys: Key[] }).keys).toEqual([key]);
    }
    rows.push({
      area: 'access',
      tried: `${mode} identity: SAE C (SAE_A2, SAE_B2) asks for keys issued between SAE_A1 and SAE_B1 (${foreign.length} keys, both directions) on both KMEs by GET and POST, and mixed with its own key`,
      count: attempts,
      result: 'every one 401; A1 and B1 pools unchanged; B retrieved every key afterwards with the same bytes; C retrieved its own key',
    });
  });
}

it('the same checks catch a server that lets a third SAE read (--bug third-party-read): C gets the key, the search finds it', async () => {
  const server = await started(startServer({ port: 0, kmes: 2, clock: 'manual', seed: 42, bugs: ['third-party-read'] }));
  const client = headerClient(server);
  const [issued] = await issue(client, 'SAE_A1', 'SAE_B1', 1);
  const key = (issued as Issued).key;
  const stolen = await client.send('KME_B', 'SAE_B2', 'GET', `/api/v1/keys/SAE_A1/dec_keys?key_ID=${key.key_ID}`);
  expect(stolen.status).toBe(200);
  const found = createKeySearch([{ label: key.key_ID, bytes: Buffer.from(key.key, 'base64') }]).find(stolen.text);
  expect(found.length).toBeGreaterThan(0);
  rows.push({ area: 'access', tried: 'control: SAE C reads a key from A to B on a server with --bug third-party-read', count: 1, result: 'C got the key (200) and the key search found it: the checks above can fail' });
});

/** One HTTP request with the path exactly as given (no client-side normalisation of dots or escapes). */
function rawRequest(base: string, path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<RawReply> {
  const target = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, path, method: init.method ?? 'GET', headers: init.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text) as unknown;
          } catch {
            // not JSON: kept as text
          }
          resolve({ status: res.statusCode ?? 0, body, text });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

it('header identity beyond loopback is refused unless --allow-header-auth; mTLS there needs no flag', async () => {
  const address = nonLoopbackAddress();
  const host = address ?? '0.0.0.0';
  const refused = await processes.serveToExit('--host', host);
  expect(refused.code).toBe(2);
  expect(refused.stdout).toBe('');
  expect(refused.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^kmesim: header authentication lets any caller claim any SAE ID: .*--allow-header-auth$/)]);
  const forced = await processes.serve('--host', host, '--allow-header-auth', '--log-level', 'warn');
  const url = `http://${address ?? '127.0.0.1'}:${new URL(forced.ready.kmes[0]?.url ?? '').port}`;
  expect((await callRaw(`${url}/api/v1/keys/SAE_A2/status`, { sae: 'SAE_A1' })).status).toBe(200);
  expect((await stopServed(forced)).code).toBe(0);
  const mtls = await processes.serve('--host', host, '--auth', 'mtls', '--cert-dir', join(tempDir(), 'certs'), '--log-level', 'warn');
  expect(mtls.ready.auth).toBe('mtls');
  // Its server certificate names the bound address, so a client verifies it there.
  const mtlsUrl = `https://${address ?? '127.0.0.1'}:${new URL(mtls.ready.kmes[0]?.url ?? '').port}`;
  const certs = mtls.ready.certs as NonNullable<typeof mtls.ready.certs>;
  const status = await requestOverTls(`${mtlsUrl}/api/v1/keys/SAE_A2/status`, { ca: readFileSync(certs.ca), identity: identityOf(certs.saes['SAE_A1'] as CertificatePair) }, 'GET');
  expect(status.status, status.transportError ?? status.text).toBe(200);
  const mtlsExit = await stopServed(mtls);
  expect(mtlsExit.code, `${JSON.stringify(mtlsExit)} ${mtls.stderr()}`).toBe(0);
  rows.push({
    area: 'access',
    tried: `serve --host ${host}${address === null ? ' (no non-loopback address on this machine: 0.0.0.0)' : ' (a non-loopback address of this machine)'} with header identity, with --allow-header-auth, and with --auth mtls`,
    count: 3,
    result: 'header refused (exit 2, one line); forced header served; mTLS served there without the flag, its certificate valid for the address',
  });
});

const ADMIN_FIELDS = /"(nowMs|waitingKeys|holds|invariants|applied)"|"k":"/;

it('the admin API needs its token beyond loopback, whatever else the caller claims, and no ETSI path leads to it', async () => {
  const address = nonLoopbackAddress();
  const served = await processes.serve('--host', '0.0.0.0', '--allow-header-auth', '--kmes', '2', '--clock', 'manual', '--log-level', 'warn');
  const token = served.ready.adminToken as string;
  expect(token).toMatch(/^[0-9a-f]{32}$/);
  const port = new URL(served.ready.kmes[0]?.url ?? '').port;
  const loopback = `http://127.0.0.1:${port}`;
  const beyond = address === null ? null : `http://${address}:${port}`;
  const stateOf = async (): Promise<unknown> => (await callRaw(`${loopback}/_kmesim/state`)).body;
  const before = await stateOf();
  const traceBefore = (await callRaw(`${loopback}/_kmesim/trace`)).text;

  const adminRoutes: ReadonlyArray<readonly [string, string, unknown]> = [
    ['GET', '/_kmesim/state', undefined],
    ['GET', '/_kmesim/trace', undefined],
    ['GET', '/_kmesim/invariants', undefined],
    ['POST', '/_kmesim/clock/advance', { ms: 86_400_000 }],
    ['POST', '/_kmesim/faults', { remote: 'offline', latencyMs: 5_000 }],
    ['POST', '/_kmesim/reset', { seed: 1 }],
  ];
  const pretenders: ReadonlyArray<readonly [string, Record<string, string>]> = [
    ['nothing', {}],
    ['an SAE ID', { 'X-SAE-ID': 'SAE_A1' }],
    ['a wrong token', { Authorization: `Bearer ${token.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}` }],
    ['the token without Bearer', { Authorization: token }],
    ['the token as Basic', { Authorization: `Basic ${token}` }],
    ['a forwarded loopback address', { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1', Forwarded: 'for=127.0.0.1' }],
  ];
  let refusals = 0;
  if (beyond !== null) {
    for (const [method, path, body] of adminRoutes) {
      for (const [name, headers] of pretenders) {
        const init: CallInit = { method, headers, ...(body === undefined ? {} : { body }) };
        const reply = await callRaw(`${beyond}${path}`, init);
        refusals += 1;
        expect(reply.status, `${method} ${path} with ${name}`).toBe(401);
        expect(reply.body).toEqual({ message: 'the admin API needs its token' });
        expect(reply.text).not.toMatch(ADMIN_FIELDS);
      }
      const inQuery = await callRaw(`${beyond}${path}?token=${token}`, { method, ...(body === undefined ? {} : { body }) });
      refusals += 1;
      expect(inQuery.status).toBe(401);
    }
    // Nothing was applied: no clock move, no fault, no reset.
    expect(await stateOf()).toEqual(before);
    expect((await callRaw(`${loopback}/_kmesim/trace`)).text).toBe(traceBefore);
    // With its token, from beyond loopback, it answers.
    const authorised = await callRaw(`${beyond}/_kmesim/state`, { headers: { Authorization: `Bearer ${token}` } });
    expect(authorised.status).toBe(200);
    expect(authorised.body).toEqual(before);
  }
  // On loopback it needs no token (the guard judges the caller's address, not the bound one).
  expect((await callRaw(`${loopback}/_kmesim/state`)).status).toBe(200);

  // ETSI paths, with encoded and dotted variants: none of them is the admin API, from anywhere.
  const etsiTricks = [
    '/api/v1/keys/_kmesim/state',
    '/api/v1/keys/_kmesim/trace',
    '/api/v1/keys/_kmesim/status',
    '/api/v1/keys/%5Fkmesim/state',
    '/api/v1/keys/%5fkmesim%2Fstate',
    '/api/v1/keys/..%2F..%2F..%2F_kmesim%2Fstate',
    '/api/v1/keys/../../../_kmesim/state',
    '/api/v1/keys/%2e%2e/%2e%2e/%2e%2e/_kmesim/state',
    '/api/v1/keys/_kmesim/enc_keys',
    '/api/v1/keys/_kmesim/dec_keys?key_ID=state',
    '/api/v1/_kmesim/state',
  ];
  // Spellings of the admin path itself: beyond loopback, each is either no route or behind the token.
  const adminSpellings = [
    '//_kmesim/state',
    '/%5Fkmesim/state',
    '/_kmesim%2Fstate',
    '/_kmesim/state/',
    '/_kmesim/./state',
    '/_KMESIM/state',
    '/_kmesim/STATE',
  ];
  let tricked = 0;
  const attempts = [
    // From loopback the admin routes are open, so an ETSI path that landed on one would show admin content.
    ...etsiTricks.map((path) => ({ base: loopback, path })),
    ...(beyond === null ? [] : [...etsiTricks, ...adminSpellings].map((path) => ({ base: beyond, path }))),
  ];
  for (const { base, path } of attempts) {
    const reply = await rawRequest(base, path, { headers: { 'X-SAE-ID': 'SAE_A1' } });
    tricked += 1;
    expect(reply.text, `${base}${path}`).not.toMatch(ADMIN_FIELDS);
    expect(typeof (reply.body as { message?: unknown }).message, `${base}${path}: ${reply.text}`).toBe('string');
    expect(path.startsWith('/api/') ? [400, 401, 404, 405] : [401, 404], `${base}${path}: ${reply.status}`).toContain(reply.status);
  }
  expect(await stateOf()).toEqual(before);
  expect((await stopServed(served)).code).toBe(0);
  rows.push({
    area: 'access',
    tried:
      beyond === null
        ? 'admin API: no non-loopback address on this machine, so only the loopback side and the ETSI-path tricks were tried'
        : `admin API called at ${address} (beyond loopback) on ${adminRoutes.length} routes with ${pretenders.length} pretences and the token in the query; ${etsiTricks.length} ETSI paths (encoded, dotted) from loopback and beyond and ${adminSpellings.length} spellings of the admin path beyond`,
    count: refusals + tricked,
    result: `every admin call without the token 401 and nothing applied; with the token 200; no path trick reached the admin API`,
  });
});

/** Every route of a per-user-pool app (the superset: ETSI, pool routes, admin, health, OpenAPI). */
function catalogue(): RouteSpec[] {
  const kmeIds = ['KME_A'];
  const host = createKmeHost({ world: createWorld({ seed: 'routes', profile: resolveProfile('per-user-pool'), kmeIds }), clock: createHostClock('manual') });
  const app = createApp({ host, kmeId: 'KME_A', auth: { kind: 'header', header: 'X-SAE-ID' }, admin: { host, token: 't', kmeIds, reset: () => 0, requests: createRequestJournal() } });
  host.close();
  return listRoutes(app);
}

function bodyFor(route: RouteSpec, foreignIds: readonly string[], n: number): unknown {
  if (route.method === 'GET' || route.method === 'HEAD' || route.method === 'OPTIONS' || route.method === 'DELETE') return undefined;
  if (route.path.endsWith('/enc_keys')) return { number: 2 };
  if (route.path.endsWith('/dec_keys')) return { key_IDs: foreignIds.map((key_ID) => ({ key_ID })) };
  if (route.path === '/api/v1/keys/register') return { sae_id: `SAE_NEW_${n}` };
  if (route.path === '/_kmesim/clock/advance') return { ms: 1 };
  if (route.path === '/_kmesim/faults') return { latencyMs: 0 };
  if (route.path === '/_kmesim/reset') return { seed: 42 };
  return {};
}

for (const profile of ['strict', 'per-user-pool', 'lenient'] as const) {
  it(`${profile}: no route answers anyone but a key's master and slave with its material`, async () => {
    const routes = catalogue();
    // The OpenAPI document describes a subset of what the router serves.
    const served = new Set(routes.map((route) => `${route.method} ${route.path}`));
    const documented = openApiRoutes(buildOpenApiDocument() as Parameters<typeof openApiRoutes>[0]);
    expect(documented.length).toBeGreaterThanOrEqual(5);
    for (const route of documented) expect(served, `${route.method} ${route.path}`).toContain(`${route.method} ${route.path}`);
    expect(routes.length).toBeGreaterThanOrEqual(25);

    const server = await started(startServer({ port: 0, kmes: 2, profile, clock: 'manual', seed: 43, syncLatencyMs: 10 }));
    const client = headerClient(server);
    const foreign = [...(await issue(client, 'SAE_A1', 'SAE_B1', 4)), ...(await issue(client, 'SAE_B1', 'SAE_A1', 4))];
    // Under lenient the slave keeps its keys after reading them: some are read before anyone else asks.
    if (profile === 'lenient') {
      for (const { key, master, slave } of foreign.slice(0, 2)) {
        expect((await client.send(KME_OF[slave] as string, slave, 'GET', `/api/v1/keys/${master}/dec_keys?key_ID=${key.key_ID}`)).status).toBe(200);
      }
    }
    const foreignIds = foreign.map((f) => f.key.key_ID);
    const search = createKeySearch(foreign.map((f) => ({ label: f.key.key_ID, bytes: Buffer.from(f.key.key, 'base64') })));
    const paramValues = ['SAE_A1', 'SAE_B1', 'SAE_A2', 'SAE_B2'];
    // Anyone but A1 and B1: the other SAEs, an SAE nobody registered, and no identity at all.
    const strangers: ReadonlyArray<string | null> = ['SAE_A2', 'SAE_B2', 'SAE_EVE', null];
    const ordered = [...routes.filter((r) => r.method !== 'DELETE' && r.path !== '/_kmesim/reset'), ...routes.filter((r) => r.method === 'DELETE'), ...routes.filter((r) => r.path === '/_kmesim/reset')];
    let calls = 0;
    let refusedReads = 0;
    const statuses = new Map<number, number>();
    const check = (what: string, reply: KmeResponse | RawReply): void => {
      calls += 1;
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      const found = search.find(reply.text);
      expect(found, `${what} → ${reply.status}\n${describeFindings(found)}`).toEqual([]);
    };
    let registered = 0;
    for (const route of ordered) {
      // Reset ends the world the keys live in: the slaves collect their keys first (below) and it runs last.
      if (route.path === '/_kmesim/reset') continue;
      const values = parametersOf(route.path).length === 0 ? [''] : paramValues;
      for (const value of values) {
        for (const kme of ['KME_A', 'KME_B']) {
          for (const as of strangers) {
            const path = fillPath(route.path, value);
            const body = bodyFor(route, foreignIds, (registered += 1));
            check(`${as ?? 'nobody'} ${route.method} ${kme}${path}`, await client.send(kme, as, route.method, path, body));
            if (route.method === 'GET' && route.path.endsWith('/dec_keys')) {
              for (const id of foreignIds) {
                const reply = await client.send(kme, as, 'GET', `${path}?key_ID=${id}`);
                check(`${as ?? 'nobody'} GET ${kme}${path}?key_ID=${id}`, reply);
                const owner = foreign.find((f) => f.key.key_ID === id);
                if (owner?.master === value) {
                  expect(reply.status, `${as} reading ${id} from ${value}`).toBe(401);
                  refusedReads += 1;
                }
              }
            }
          }
        }
      }
    }
    // Nothing was consumed by anyone: each slave still gets its keys, byte for byte.
    for (const { key, master, slave } of foreign) {
      const retrieved = await client.send(KME_OF[slave] as string, slave, 'GET', `/api/v1/keys/${master}/dec_keys?key_ID=${key.key_ID}`);
      expect(retrieved.status, retrieved.text).toBe(200);
      expect((retrieved.body as { keys: Key[] }).keys).toEqual([key]);
    }
    for (const as of strangers) check(`${as ?? 'nobody'} POST /_kmesim/reset`, await client.send('KME_A', as, 'POST', '/_kmesim/reset', { seed: 42 }));
    // Each key read by each stranger on each KME, naming its real master.
    expect(refusedReads).toBe(foreignIds.length * strangers.length * 2);
    rows.push({
      area: 'access',
      tried: `${profile}: every route (${routes.length} method × path pairs from the router, the OpenAPI paths among them) called on both KMEs by SAE_A2, SAE_B2, an unknown SAE and no identity, with every SAE ID as path parameter, after ${foreign.length} keys were issued between SAE_A1 and SAE_B1`,
      count: calls,
      result: `no response held key material (statuses ${[...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(', ')}); ${refusedReads} direct reads 401; slaves still got every key`,
    });
  });
}
