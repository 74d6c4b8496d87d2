// The mTLS certificates (ETSI 014 C1, C2) are made with the real openssl in temp folders, inspected with openssl,
// and then used by a real Node HTTPS server that requires client certificates, called by Node and by curl.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createForeignClientCertificate, ensureCertificates, type CertificatePaths } from '../../../src/http/certificates.js';

const AWKWARD = 'SAE/1+x=y,z';
const UNICODE = 'Sä \\ "q" #1';
const PLAIN = 'SAE_B2';
const NAMES = { kmeIds: ['KME_A', 'kme-b'], saeIds: [AWKWARD, UNICODE, PLAIN], hosts: ['kme.test', '10.1.2.3'] };

const root = mkdtempSync(join(tmpdir(), 'kmesim-certificates-'));
let certs: CertificatePaths;
let server: Server;
let port: number;
let handled = 0;

beforeAll(async () => {
  certs = ensureCertificates(join(root, 'certs'), NAMES);
  const kme = certs.kmes.KME_A as { cert: string; key: string };
  server = createServer(
    { key: readFileSync(kme.key), cert: readFileSync(kme.cert), ca: readFileSync(certs.ca), requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      handled += 1;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(String((req.socket as TLSSocket).getPeerCertificate().subject.CN));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The subject CN as openssl prints it without RFC 2253 escaping (`-nameopt utf8,sep_multiline`). */
function subjectCommonName(certPath: string): string | undefined {
  return /^ {4}CN=(.*)$/m.exec(openssl('x509', '-in', certPath, '-noout', '-subject', '-nameopt', 'utf8,sep_multiline'))?.[1];
}

function pair(record: CertificatePaths['saes'], id: string): { cert: string; key: string } {
  const found = record[id];
  if (found === undefined) throw new Error(`no certificate for ${id}`);
  return found;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** GET / over TLS with the mock CA; rejects when no HTTP response arrives. */
function get(client: { cert?: string; key?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ca: readFileSync(certs.ca),
        agent: false,
        ...(client.cert === undefined ? {} : { cert: readFileSync(client.cert) }),
        ...(client.key === undefined ? {} : { key: readFileSync(client.key) }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

it('creates a private directory with a CA, a server certificate per KME and a client certificate per SAE', () => {
  expect(mode(certs.dir)).toBe(0o700);
  expect(basename(certs.ca)).toBe('ca.pem');
  expect(basename(certs.caKey)).toBe('ca-key.pem');
  expect(basename(pair(certs.kmes, 'kme-b').cert)).toBe('kme-kme-b.pem');
  // An SAE ID that can be a file name is its files' name, so a client finds them without the ready line.
  expect(basename(pair(certs.saes, PLAIN).cert)).toBe('SAE_B2.pem');
  expect(basename(pair(certs.saes, PLAIN).key)).toBe('SAE_B2-key.pem');
  const all = [{ cert: certs.ca, key: certs.caKey }, ...Object.values(certs.kmes), ...Object.values(certs.saes)];
  expect(all).toHaveLength(1 + 2 + 3);
  for (const { cert, key } of all) {
    expect(mode(key)).toBe(0o600);
    expect(mode(cert)).toBe(0o644);
    expect(basename(cert)).toMatch(/^[A-Za-z0-9._@-]+$/);
    expect(openssl('pkey', '-in', key, '-noout', '-text')).toMatch(/NIST CURVE: P-256/);
  }
});

it('puts each SAE ID exactly into the subject CN of its client certificate (C2)', () => {
  for (const id of NAMES.saeIds) expect(subjectCommonName(pair(certs.saes, id).cert)).toBe(id);
});

it('lists every host in the server certificate as a DNS name or an IP address, always with the loopback names', () => {
  const text = openssl('x509', '-in', pair(certs.kmes, 'KME_A').cert, '-noout', '-ext', 'subjectAltName,extendedKeyUsage');
  for (const entry of ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', 'DNS:kme.test', 'IP Address:10.1.2.3']) expect(text).toContain(entry);
  expect(text).not.toContain('DNS:127.0.0.1');
  expect(text).toContain('TLS Web Server Authentication');
  expect(openssl('x509', '-in', pair(certs.saes, AWKWARD).cert, '-noout', '-ext', 'extendedKeyUsage')).toContain('TLS Web Client Authentication');
});

it('issues certificates that openssl verify accepts against the CA for their purpose', () => {
  for (const { cert } of Object.values(certs.kmes)) expect(openssl('verify', '-CAfile', certs.ca, '-purpose', 'sslserver', cert)).toBe(`${cert}: OK\n`);
  for (const { cert } of Object.values(certs.saes)) expect(openssl('verify', '-CAfile', certs.ca, '-purpose', 'sslclient', cert)).toBe(`${cert}: OK\n`);
});

it('hands the server the SAE ID from the client certificate over real mutual TLS (C2)', async () => {
  expect(await get(pair(certs.saes, AWKWARD))).toBe(AWKWARD);
  expect(await get(pair(certs.saes, UNICODE))).toBe(UNICODE);
});

it('refuses a caller without a client certificate at the handshake (C1)', async () => {
  const before = handled;
  // OpenSSL itself aborts the handshake with the TLS 1.3 alert "certificate required".
  await expect(get({})).rejects.toMatchObject({ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
  expect(handled).toBe(before);
});

it('refuses a client certificate from a foreign CA at the handshake even when its CN is a known SAE (C1)', async () => {
  const foreign = createForeignClientCertificate(join(root, 'foreign'), AWKWARD);
  expect(subjectCommonName(foreign.cert)).toBe(AWKWARD);
  expect(() => openssl('verify', '-CAfile', certs.ca, foreign.cert)).toThrow();
  const before = handled;
  // Node checks the chain itself once OpenSSL is done and drops the socket before any HTTP is read: no alert, a reset.
  await expect(get(foreign)).rejects.toMatchObject({ code: expect.stringMatching(/^(?:ECONNRESET|ERR_SSL_.*)$/) });
  expect(handled).toBe(before);
});

it('works with curl given the CA and an SAE certificate', async () => {
  const sae = pair(certs.saes, AWKWARD);
  const { stdout } = await promisify(execFile)('curl', ['--silent', '--show-error', '--cacert', certs.ca, '--cert', sae.cert, '--key', sae.key, `https://127.0.0.1:${port}/`]);
  expect(stdout).toBe(AWKWARD);
});

it('reuses the CA and existing certificates on a later start and adds only what is new', () => {
  const dir = join(root, 'reuse');
  const first = ensureCertificates(dir, { kmeIds: ['A'], saeIds: ['one'], hosts: [] });
  const before = { ca: readFileSync(first.ca, 'utf8'), caKey: readFileSync(first.caKey, 'utf8'), kme: readFileSync(pair(first.kmes, 'A').cert, 'utf8'), one: readFileSync(pair(first.saes, 'one').cert, 'utf8') };
  const second = ensureCertificates(dir, { kmeIds: ['A'], saeIds: ['one', 'Two/2'], hosts: [] });
  expect(readFileSync(second.ca, 'utf8')).toBe(before.ca);
  expect(readFileSync(second.caKey, 'utf8')).toBe(before.caKey);
  expect(readFileSync(pair(second.kmes, 'A').cert, 'utf8')).toBe(before.kme);
  expect(readFileSync(pair(second.saes, 'one').cert, 'utf8')).toBe(before.one);
  const two = pair(second.saes, 'Two/2');
  expect(subjectCommonName(two.cert)).toBe('Two/2');
  expect(openssl('verify', '-CAfile', second.ca, two.cert)).toBe(`${two.cert}: OK\n`);
  // A host the server certificate does not cover yet means a new server certificate from the same CA.
  const third = ensureCertificates(dir, { kmeIds: ['A'], saeIds: ['one', 'Two/2'], hosts: ['kme-a.test'] });
  expect(readFileSync(third.ca, 'utf8')).toBe(before.ca);
  expect(readFileSync(pair(third.kmes, 'A').cert, 'utf8')).not.toBe(before.kme);
  expect(openssl('x509', '-in', pair(third.kmes, 'A').cert, '-noout', '-ext', 'subjectAltName')).toContain('DNS:kme-a.test');
});

it('starts over with a new CA and new certificates when the CA is missing', () => {
  const dir = join(root, 'restart');
  const first = ensureCertificates(dir, { kmeIds: ['A'], saeIds: ['one'], hosts: [] });
  const oldCa = readFileSync(first.ca, 'utf8');
  const oldSae = readFileSync(pair(first.saes, 'one').cert, 'utf8');
  unlinkSync(first.ca);
  const second = ensureCertificates(dir, { kmeIds: ['A'], saeIds: ['one'], hosts: [] });
  expect(readFileSync(second.ca, 'utf8')).not.toBe(oldCa);
  expect(readFileSync(pair(second.saes, 'one').cert, 'utf8')).not.toBe(oldSae);
  for (const { cert } of [...Object.values(second.kmes), ...Object.values(second.saes)]) expect(openssl('verify', '-CAfile', second.ca, cert)).toBe(`${cert}: OK\n`);
});

it('gives IDs that differ only in unsafe characters or in case, or that look like other files, files of their own', () => {
  const ids = ['a/b', 'a+b', 'a_b', 'A-B', 'a-b', '../x', 'a_b_0123456789ab', 'ca', 'CA-key', 'kme-A', 'x', 'x-key', 'sae@x', 'SAE_1', 'sae_1', 'sae-paris'];
  const made = ensureCertificates(join(root, 'names'), { kmeIds: ['A'], saeIds: ids, hosts: [] });
  const files = ids.flatMap((id) => [pair(made.saes, id).cert, pair(made.saes, id).key]).map((file) => basename(file).toLowerCase());
  const others = [made.ca, made.caKey, pair(made.kmes, 'A').cert, pair(made.kmes, 'A').key].map((file) => basename(file).toLowerCase());
  expect(new Set([...files, ...others]).size).toBe(files.length + others.length);
  for (const file of files) expect(file).toMatch(/^[a-z0-9@][a-z0-9._@-]*\.pem$/);
  for (const id of ids) expect(subjectCommonName(pair(made.saes, id).cert)).toBe(id);
  // Plain IDs keep their names; the rest, and IDs two of which differ only in case, are hashed.
  expect(basename(pair(made.saes, 'x').cert)).toBe('x.pem');
  expect(basename(pair(made.saes, 'a_b').key)).toBe('a_b-key.pem');
  for (const id of ['ca', 'CA-key', 'kme-A', 'x-key', 'SAE_1', 'sae_1', 'a/b']) expect(basename(pair(made.saes, id).cert)).toMatch(/^sae@/);
  expect(basename(pair(made.saes, 'sae-paris').cert)).toBe('sae-paris.pem');
});

it('refuses an SAE ID that a certificate CN cannot hold, before writing anything', () => {
  const dir = join(root, 'long');
  expect(() => ensureCertificates(dir, { kmeIds: ['A'], saeIds: ['x'.repeat(65)], hosts: [] })).toThrow(/at most 64 characters/);
  expect(() => ensureCertificates(dir, { kmeIds: ['A'], saeIds: ['ok'], hosts: ['bad host'] })).toThrow(/not a DNS name or an IP address/);
  expect(() => statSync(dir)).toThrow();
});

it('takes over a lock left behind by a start that died', () => {
  const dir = join(root, 'stale');
  mkdirSync(join(dir, '.lock'), { recursive: true });
  const longAgo = new Date(Date.now() - 3_600_000);
  utimesSync(join(dir, '.lock'), longAgo, longAgo);
  const made = ensureCertificates(dir, { kmeIds: ['A'], saeIds: ['one'], hosts: [] });
  expect(subjectCommonName(pair(made.saes, 'one').cert)).toBe('one');
  expect(() => statSync(join(dir, '.lock'))).toThrow();
});

it('fails with a one-line error naming openssl when openssl is not on PATH', () => {
  const path = process.env.PATH;
  process.env.PATH = join(root, 'no-such-bin');
  try {
    let message = '';
    try {
      ensureCertificates(join(root, 'no-openssl'), { kmeIds: ['A'], saeIds: ['one'], hosts: [] });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/openssl was not found on PATH/);
    expect(message).not.toContain('\n');
  } finally {
    process.env.PATH = path;
  }
});
