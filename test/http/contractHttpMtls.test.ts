// The ETSI 014 contract (test/http/contract/etsiContract.ts) against startServer with mutual TLS, called with
// https.request and each SAE's client certificate; then the identity items only mTLS has (C1, and C2 against a
// header): one more server refuses, with real TLS handshakes and with curl, callers without a valid certificate.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createForeignClientCertificate, ensureCertificates, type CertificatePair } from '../../src/http/certificates.js';
import { startServer, type RunningServer } from '../../src/http/startServer.js';
import { errorSchema, statusSchema } from '../../src/model/wireSchema.js';
import { runEtsiContract } from './contract/etsiContract.js';
import { CONTRACT_SEED, createHttpMtlsClientFactory, requestOverTls, type KmeResponse, type TlsIdentity } from './contract/kmeClient.js';

const certDir = mkdtempSync(join(tmpdir(), 'kmesim-contract-certs-'));
afterAll(() => rmSync(certDir, { recursive: true, force: true }));

runEtsiContract(createHttpMtlsClientFactory(certDir));

let server: RunningServer;
let ca: Buffer;
let kmeA: string;
let kmeB: string;

const identity = (pair: CertificatePair | undefined): TlsIdentity => {
  if (pair === undefined) throw new Error('missing certificate pair');
  return { cert: readFileSync(pair.cert), key: readFileSync(pair.key) };
};
const saeCert = (id: string): CertificatePair => {
  const pair = server.certs?.saes[id];
  if (pair === undefined) throw new Error(`no certificate for ${id}`);
  return pair;
};
const call = (url: string, who: TlsIdentity | null, method = 'GET', body?: unknown, headers?: Record<string, string>): Promise<KmeResponse> =>
  requestOverTls(url, { ca, identity: who }, method, body, headers);

beforeAll(async () => {
  server = await startServer({ port: 0, kmes: 2, auth: 'mtls', clock: 'manual', seed: CONTRACT_SEED, certDir: join(certDir, 'c1') });
  ca = readFileSync(server.certs?.ca ?? '');
  [kmeA, kmeB] = server.kmes.map((kme) => kme.url) as [string, string];
});
afterAll(() => server.close());

async function storedFor(who: TlsIdentity): Promise<number> {
  const response = await call(`${kmeA}/api/v1/keys/SAE_B1/status`, who);
  expect(response.status, response.text).toBe(200);
  return statusSchema.parse(response.body).stored_key_count;
}

it('C1 a client that offers no certificate is refused in the TLS handshake, with no HTTP answer', async () => {
  for (const [url, method] of [
    [`${kmeA}/api/v1/keys/SAE_B1/status`, 'GET'],
    [`${kmeA}/api/v1/keys/SAE_B1/enc_keys`, 'POST'],
    [`${kmeB}/api/v1/keys/SAE_A1/dec_keys?key_ID=00000000-0000-4000-8000-000000000000`, 'GET'],
    [`${kmeA}/openapi.json`, 'GET'],
  ] as const) {
    const response = await call(url, null, method, method === 'POST' ? {} : undefined);
    expect(response.status, `${method} ${url}`).toBe(0);
    expect(response.transportError).toBeDefined();
  }
});

it('C1 a certificate from another CA is refused in the TLS handshake, even with a known SAE ID as CN', async () => {
  const foreign = identity(createForeignClientCertificate(certDir, 'SAE_A1'));
  const before = await storedFor(identity(saeCert('SAE_A1')));
  for (const [url, method] of [[`${kmeA}/api/v1/keys/SAE_B1/status`, 'GET'], [`${kmeA}/api/v1/keys/SAE_B1/enc_keys`, 'POST']] as const) {
    const response = await call(url, foreign, method, method === 'POST' ? { number: 2 } : undefined);
    expect(response.status).toBe(0);
    expect(response.transportError).toBeDefined();
  }
  expect(await storedFor(identity(saeCert('SAE_A1')))).toBe(before);
});

it('C1 a valid certificate whose CN names no SAE gets 401 with an Error body and changes nothing', async () => {
  const ghost = identity(ensureCertificates(join(certDir, 'c1'), { kmeIds: [], saeIds: ['SAE_GHOST'], hosts: [] }).saes['SAE_GHOST']);
  const before = await storedFor(identity(saeCert('SAE_A1')));
  for (const [url, method, body] of [
    [`${kmeA}/api/v1/keys/SAE_B1/status`, 'GET', undefined],
    [`${kmeA}/api/v1/keys/SAE_B1/enc_keys`, 'POST', { number: 2 }],
    [`${kmeA}/api/v1/keys/SAE_B1/enc_keys?number=1`, 'GET', undefined],
    [`${kmeB}/api/v1/keys/SAE_A1/dec_keys`, 'POST', { key_IDs: [{ key_ID: '00000000-0000-4000-8000-000000000000' }] }],
  ] as const) {
    const response = await call(url, ghost, method, body);
    expect(response.status, `${method} ${url}: ${response.text}`).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/json; ?charset=utf-8$/i);
    expect(errorSchema.safeParse(response.body).success).toBe(true);
  }
  expect(await storedFor(identity(saeCert('SAE_A1')))).toBe(before);
});

it('C2 the certificate names the caller, whatever an X-SAE-ID header claims', async () => {
  const claimed = await call(`${kmeA}/api/v1/keys/SAE_B1/status`, identity(saeCert('SAE_A1')), 'GET', undefined, { 'X-SAE-ID': 'SAE_A2' });
  expect(claimed.status, claimed.text).toBe(200);
  expect(statusSchema.parse(claimed.body).master_SAE_ID).toBe('SAE_A1');
  const ghost = identity(ensureCertificates(join(certDir, 'c1'), { kmeIds: [], saeIds: ['SAE_GHOST'], hosts: [] }).saes['SAE_GHOST']);
  const impersonating = await call(`${kmeA}/api/v1/keys/SAE_B1/status`, ghost, 'GET', undefined, { 'X-SAE-ID': 'SAE_A1' });
  expect(impersonating.status, impersonating.text).toBe(401);
});

it('C1 curl with an SAE certificate gets 200 from status, and without one gets no HTTP answer', async () => {
  const pair = saeCert('SAE_A2');
  const url = `${kmeA}/api/v1/keys/SAE_B1/status`;
  const caPath = server.certs?.ca ?? '';
  const curl = promisify(execFile);
  const withCert = await curl('curl', ['--silent', '--show-error', '--cacert', caPath, '--cert', pair.cert, '--key', pair.key, '--write-out', '\n%{http_code}', url], { encoding: 'utf8' });
  const [body, code] = withCert.stdout.split('\n');
  expect(code).toBe('200');
  expect(statusSchema.parse(JSON.parse(body ?? '')).master_SAE_ID).toBe('SAE_A2');
  const without = await curl('curl', ['--silent', '--cacert', caPath, '--write-out', '%{http_code}', url], { encoding: 'utf8' }).then(
    (done) => ({ code: 0, stdout: done.stdout }),
    (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? '' }),
  );
  expect(without.code).not.toBe(0);
  expect(without.stdout).toBe('000');
});
