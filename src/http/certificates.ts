// Certificates for the mutual-TLS mode (ETSI 014 C1, C2): one private CA, a server certificate per KME and a client
// certificate per SAE whose subject CN is exactly the SAE ID, since that CN is how the KME knows its caller. They are
// made with the openssl CLI (no npm dependency), kept in one directory and reused across starts.
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

export interface CertificatePair {
  readonly cert: string;
  readonly key: string;
}

export interface CertificatePaths {
  readonly dir: string;
  readonly ca: string;
  readonly caKey: string;
  readonly kmes: Readonly<Record<string, CertificatePair>>;
  readonly saes: Readonly<Record<string, CertificatePair>>;
}

export interface CertificateNames {
  readonly kmeIds: readonly string[];
  readonly saeIds: readonly string[];
  readonly hosts: readonly string[];
}

const VALIDITY_DAYS = 3650;
// A certificate this close to its end is replaced rather than reused, so a long-running mock never expires mid-run.
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
// X.520 ub-common-name; openssl refuses a longer CN ("string too long").
const COMMON_NAME_LENGTH_MAX = 64;
const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'];
const LOCK_WAIT_MS = 60_000;
const LOCK_STALE_MS = 120_000;
// What ensureCertificates owns in its directory besides the plain-named SAE files of the IDs it is given; a
// fresh start removes these and those (not foreign-* files, nor another start's plain-named SAE files).
const MANAGED_FILE = /^(?:ca|ca-key|kme-.+|sae-.+|sae@.+)\.pem$|^\..+\.tmp-[0-9a-f]+$/;
// An SAE ID used as its files' name as it is: `SAE_A1.pem` and `SAE_A1-key.pem`.
const PLAIN_SAE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;

const CA_EXTENSIONS = ['basicConstraints = critical, CA:TRUE, pathlen:0', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash'];
const LEAF_EXTENSIONS = ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid'];

export function ensureCertificates(dir: string, names: CertificateNames): CertificatePaths {
  // Validate everything before touching the disk, so a bad name leaves an existing directory as it was.
  const kmeIds = [...new Set(names.kmeIds)];
  const saeIds = [...new Set(names.saeIds)];
  for (const id of kmeIds) checkId('KME', id);
  for (const id of saeIds) checkSaeId(id);
  const hosts = normalizeHosts(names.hosts);

  const root = resolve(dir);
  const paths: CertificatePaths = {
    dir: root,
    ca: join(root, 'ca.pem'),
    caKey: join(root, 'ca-key.pem'),
    kmes: Object.fromEntries(kmeIds.map((id) => [id, pairPaths(root, `kme-${fileStem(id)}`)])),
    saes: Object.fromEntries(saeIds.map((id) => [id, pairPaths(root, saeStem(id, saeIds))])),
  };
  createPrivateDir(root);
  return withLock(root, () =>
    withWorkspace((work) => {
      let ca = loadCa(paths.ca, paths.caKey);
      if (ca === null) {
        // Without a usable CA nothing else here can be trusted: start over rather than mix two CAs.
        const named = new Set(Object.values(paths.saes).flatMap((pair) => [basename(pair.cert), basename(pair.key)]));
        for (const name of readdirSync(root)) if (MANAGED_FILE.test(name) || named.has(name)) rmSync(join(root, name), { force: true });
        const made = createCa(work, `kmesim CA ${randomBytes(4).toString('hex')}`);
        publish(paths.caKey, made.keyPem, 0o600);
        publish(paths.ca, made.certPem, 0o644);
        ca = new X509Certificate(made.certPem);
      }
      const signer = { cert: paths.ca, key: paths.caKey };
      const subjectAltName = hosts.map((host) => (isIP(host) === 0 ? `DNS:${host}` : `IP:${host}`)).join(', ');
      for (const id of kmeIds) {
        const pair = paths.kmes[id] as CertificatePair;
        const existing = loadLeaf(pair, ca);
        if (existing !== null && hosts.every((host) => coversHost(existing, host))) continue;
        const extensions = [...LEAF_EXTENSIONS, 'extendedKeyUsage = serverAuth', `subjectAltName = ${subjectAltName}`];
        writePair(pair, issueLeaf(work, signer, Array.from(id).slice(0, COMMON_NAME_LENGTH_MAX).join(''), extensions));
      }
      for (const id of saeIds) {
        const pair = paths.saes[id] as CertificatePair;
        const existing = loadLeaf(pair, ca);
        if (existing !== null && existing.toLegacyObject().subject.CN === id) continue;
        writePair(pair, issueLeaf(work, signer, id, [...LEAF_EXTENSIONS, 'extendedKeyUsage = clientAuth']));
      }
      return paths;
    }),
  );
}

/** A client certificate for `saeId` signed by a throwaway CA the KMEs do not trust: for tests of refusal (C1). */
export function createForeignClientCertificate(dir: string, saeId: string): CertificatePair {
  checkSaeId(saeId);
  const root = resolve(dir);
  createPrivateDir(root);
  const pair = pairPaths(root, `foreign-sae-${fileStem(saeId)}`);
  withWorkspace((work) => {
    const ca = createCa(work, `kmesim foreign CA ${randomBytes(4).toString('hex')}`);
    const signer = { cert: join(work, 'foreign-ca.pem'), key: join(work, 'foreign-ca-key.pem') };
    writeFileSync(signer.key, ca.keyPem, { mode: 0o600 });
    writeFileSync(signer.cert, ca.certPem);
    writePair(pair, issueLeaf(work, signer, saeId, [...LEAF_EXTENSIONS, 'extendedKeyUsage = clientAuth']));
  });
  return pair;
}

/**
 * The file-name part for an ID. Plain lower-case names are used as they are; anything else is made safe and gets a
 * hash of the ID. Hashed stems always contain `_` and plain ones never do, and plain ones have no upper case, so two
 * IDs never share a file, not even on a case-insensitive file system.
 */
function fileStem(id: string): string {
  if (/^[a-z0-9][a-z0-9.-]{0,99}$/.test(id)) return id;
  const readable = id.replace(/[^A-Za-z0-9.-]/gu, '_').slice(0, 60);
  return `${readable}_${createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 12)}`;
}

/**
 * The file-name part of an SAE's certificate and key: the SAE ID itself wherever it can be (a client finds
 * `<SAE ID>.pem`, `<SAE ID>-key.pem` and `ca.pem` without reading the ready line), else `sae@` and a safe
 * stem with a hash of the ID. Plain names never contain `@`, so the two kinds never meet; an ID is not used
 * plainly where it would take a file of the CA, of a KME or of another SAE's key, or share a name with
 * another SAE of the set on a case-insensitive file system.
 */
function saeStem(id: string, all: readonly string[]): string {
  const lower = id.toLowerCase();
  const plain =
    PLAIN_SAE_ID.test(id) &&
    lower !== 'ca' &&
    lower !== 'ca-key' &&
    !lower.endsWith('-key') &&
    !/^(?:kme|foreign)-/.test(lower) &&
    all.every((other) => other === id || other.toLowerCase() !== lower);
  return plain ? id : `sae@${fileStem(id)}`;
}

function pairPaths(root: string, stem: string): CertificatePair {
  return { cert: join(root, `${stem}.pem`), key: join(root, `${stem}-key.pem`) };
}

function checkId(kind: 'KME' | 'SAE', id: string): void {
  if (id.length === 0) throw new Error(`cannot make a certificate for an empty ${kind} ID`);
  // Neither can be carried through an argument list and back out of a certificate unchanged.
  if (/\0|\p{Cs}/u.test(id)) throw new Error(`cannot make a certificate for ${kind} ID ${JSON.stringify(id)}: it contains NUL or an unpaired surrogate`);
}

function checkSaeId(id: string): void {
  checkId('SAE', id);
  if (Array.from(id).length > COMMON_NAME_LENGTH_MAX) {
    throw new Error(`cannot make a certificate for SAE ID ${JSON.stringify(id)}: a certificate CN holds at most ${COMMON_NAME_LENGTH_MAX} characters`);
  }
}

function normalizeHosts(hosts: readonly string[]): string[] {
  const normalized = new Set(DEFAULT_HOSTS);
  for (const raw of hosts) {
    const host = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
    // Only these characters reach the openssl config, so none of its syntax ($, #, quotes, commas) can appear.
    const ok = isIP(host) !== 0 ? /^[0-9A-Fa-f:.]+$/.test(host) : DNS_NAME.test(host);
    if (!ok) throw new Error(`cannot put host ${JSON.stringify(raw)} in a server certificate: it is not a DNS name or an IP address`);
    normalized.add(host.toLowerCase());
  }
  return [...normalized];
}

function coversHost(cert: X509Certificate, host: string): boolean {
  return isIP(host) === 0 ? cert.checkHost(host, { subject: 'never' }) !== undefined : cert.checkIP(host) !== undefined;
}

function loadCa(certPath: string, keyPath: string): X509Certificate | null {
  try {
    const cert = new X509Certificate(readFileSync(certPath));
    const usable = cert.ca && cert.checkPrivateKey(createPrivateKey(readFileSync(keyPath))) && !expiresSoon(cert);
    return usable ? cert : null;
  } catch {
    return null;
  }
}

function loadLeaf(pair: CertificatePair, ca: X509Certificate): X509Certificate | null {
  try {
    const cert = new X509Certificate(readFileSync(pair.cert));
    const usable = cert.checkIssued(ca) && cert.verify(ca.publicKey) && cert.checkPrivateKey(createPrivateKey(readFileSync(pair.key))) && !expiresSoon(cert);
    return usable ? cert : null;
  } catch {
    return null;
  }
}

function expiresSoon(cert: X509Certificate): boolean {
  return Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS;
}

interface Made {
  readonly certPem: string;
  readonly keyPem: string;
}

function createCa(work: string, commonName: string): Made {
  const keyPem = createKey(commonName);
  const keyPath = writeWorkFile(work, 'ca-key.pem', keyPem);
  const config = writeWorkFile(work, 'ca.cnf', configText(CA_EXTENSIONS));
  const certPem = runOpenssl(
    ['req', '-new', '-x509', '-config', config, '-extensions', 'ext', '-key', keyPath, '-utf8', '-subj', subject(commonName), '-sha256', '-days', String(VALIDITY_DAYS), '-set_serial', serial()],
    `create the CA certificate "${commonName}"`,
  );
  return { certPem, keyPem };
}

function issueLeaf(work: string, signer: CertificatePair, commonName: string, extensions: readonly string[]): Made {
  const what = `the certificate for ${JSON.stringify(commonName)}`;
  const keyPem = createKey(commonName);
  const keyPath = writeWorkFile(work, 'leaf-key.pem', keyPem);
  const config = writeWorkFile(work, 'leaf.cnf', configText(extensions));
  const csr = runOpenssl(['req', '-new', '-config', config, '-key', keyPath, '-utf8', '-subj', subject(commonName)], `request ${what}`);
  const csrPath = writeWorkFile(work, 'leaf.csr', csr);
  const certPem = runOpenssl(
    ['x509', '-req', '-in', csrPath, '-CA', signer.cert, '-CAkey', signer.key, '-set_serial', serial(), '-sha256', '-days', String(VALIDITY_DAYS), '-extfile', config, '-extensions', 'ext'],
    `sign ${what}`,
  );
  return { certPem, keyPem };
}

function createKey(commonName: string): string {
  // The key comes back on stdout and is written by us with mode 0600, so it is never on disk with looser rights.
  return runOpenssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:named_curve'], `create a key for ${JSON.stringify(commonName)}`);
}

/** Our own config, so the system openssl.cnf (missing, or with odd defaults) plays no part. */
function configText(extensions: readonly string[]): string {
  return ['[req]', 'distinguished_name = dn', 'string_mask = utf8only', '[dn]', '[ext]', ...extensions, ''].join('\n');
}

/** `-subj` syntax: `/` and `+` separate names and `=` types from values, `\` escapes; escape them all. */
function subject(commonName: string): string {
  return `/CN=${commonName.replace(/[\\/+=,]/g, '\\$&')}`;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  return `0x${bytes.toString('hex')}`;
}

function runOpenssl(args: readonly string[], purpose: string): string {
  try {
    return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string; status?: number | null };
    if (failure.code === 'ENOENT') throw new Error(`cannot ${purpose}: openssl was not found on PATH (mTLS mode needs it)`, { cause: error });
    const reason = (failure.stderr ?? '').split('\n').map((line) => line.trim()).find((line) => line.length > 0) ?? failure.message.split('\n')[0];
    throw new Error(`cannot ${purpose}: openssl ${args[0]} failed (exit ${failure.status ?? '?'}): ${reason}`, { cause: error });
  }
}

function createPrivateDir(root: string): void {
  const created = mkdirSync(root, { recursive: true, mode: 0o700 });
  // The umask may have loosened nothing, but be sure; a directory the user made already is left as it is.
  if (created !== undefined) chmodSync(root, 0o700);
}

function writePair(pair: CertificatePair, made: Made): void {
  // Key first: a crash in between leaves a certificate that does not match, which the next start replaces.
  publish(pair.key, made.keyPem, 0o600);
  publish(pair.cert, made.certPem, 0o644);
}

/** Write next to the target and rename, so a reader never sees half a file. */
function publish(path: string, content: string, mode: number): void {
  const temp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(temp, content, { mode, flag: 'wx' });
    chmodSync(temp, mode);
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

function writeWorkFile(work: string, name: string, content: string): string {
  const path = join(work, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

function withWorkspace<T>(body: (work: string) => T): T {
  const work = mkdtempSync(join(tmpdir(), 'kmesim-certs-'));
  try {
    return body(work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Two KMEs started at once on one directory must not each make a CA; a directory made with mkdir is the lock. */
function withLock<T>(root: string, body: () => T): T {
  const lock = join(root, '.lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (isStale(lock)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`cannot create certificates: ${lock} is held by another process (remove it if nothing is starting)`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
  try {
    return body();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function isStale(lock: string): boolean {
  try {
    return Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS;
  } catch {
    return false;
  }
}
