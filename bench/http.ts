/**
 * `http`: the mock KME under load against a bare Node server measured in the same run, on the same
 * machine, with the same client. The bare server answers every request with a canned body of exactly the
 * bytes the mock KME answered, after reading the request body, as any server has to.
 *
 * - enc_keys (POST, one 256-bit key, header identity) with autocannon at 64 connections;
 * - enc+dec pairs across two KMEs (enc_keys on KME_A, dec_keys by the slave on KME_B) from 64 workers,
 *   each on its own two keep-alive connections (a raw-socket client: one autocannon instance serves one host);
 * - enc_keys over mutual TLS, against a bare `node:https` server with the same certificates.
 *
 * Pools hold two million keys (a scenario file), so none runs dry during a run: every answer must be a 200.
 * Each comparison warms both servers up, then alternates between them in rounds; beside requests per second
 * and latency it reports each server process's CPU time per answer (from /proc), the steadier figure on a
 * shared machine.
 */
import autocannon from 'autocannon';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCertificates } from '../src/http/certificates.js';
import type { BenchFigures, BenchSection } from './main.js';
import { quantile, round, startServe, startUntilLine, type StartedProcess } from './processes.js';

const CONNECTIONS = 64;
/** Seconds of load on each server per comparison, in alternating rounds, so a burst of load on the machine hits both alike. */
const SECONDS = Number(process.env['KMESIM_BENCH_HTTP_SECONDS'] ?? 10);
const ROUNDS = 4;
const WARMUP_SECONDS = 2;
const POOL_CAPACITY = 2_000_000;
const ENC_BODY = JSON.stringify({ number: 1, size: 256 });

interface Load {
  readonly perSec: number;
  /** The server process's CPU time (user + system) per answer, in µs; null where /proc is not there to read. */
  readonly cpuUsPerAnswer: number | null;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

/** One stretch of load: how many requests (or pairs) were answered in how long, and each one's latency. */
interface Sample {
  readonly answered: number;
  readonly seconds: number;
  readonly latencies: readonly number[];
  readonly non2xx: number;
  readonly errors: number;
  /** CPU time the server process used meanwhile, in ms (null: unknown). */
  readonly cpuMs: number | null;
}

const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) a process has used so far, in ms, from /proc; null elsewhere. */
function cpuTimeMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1_000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** A load generator against one server process, with that process's CPU time measured around each run. */
function against(pid: number | undefined, run: (seconds: number) => Promise<Omit<Sample, 'cpuMs'>>): (seconds: number) => Promise<Sample> {
  return async (seconds) => {
    const before = cpuTimeMs(pid);
    const sample = await run(seconds);
    const after = cpuTimeMs(pid);
    return { ...sample, cpuMs: before === null || after === null ? null : after - before };
  };
}

function loadOf(samples: readonly Sample[]): Load {
  const sorted = Float64Array.from(samples.flatMap((sample) => sample.latencies)).sort();
  const sum = (pick: (sample: Sample) => number): number => samples.reduce((total, sample) => total + pick(sample), 0);
  const answered = sum((sample) => sample.answered);
  const cpuKnown = samples.every((sample) => sample.cpuMs !== null);
  return {
    perSec: answered / sum((sample) => sample.seconds),
    cpuUsPerAnswer: cpuKnown && answered > 0 ? (sum((sample) => sample.cpuMs ?? 0) * 1_000) / answered : null,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    non2xx: sum((sample) => sample.non2xx),
    errors: sum((sample) => sample.errors),
  };
}

/** The mock KME and its baseline, each warmed up, then in alternating rounds. */
async function compare(kme: (seconds: number) => Promise<Sample>, bare: (seconds: number) => Promise<Sample>): Promise<{ kme: Load; bare: Load }> {
  await kme(WARMUP_SECONDS);
  await bare(WARMUP_SECONDS);
  const kmeSamples: Sample[] = [];
  const bareSamples: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    kmeSamples.push(await kme(SECONDS / ROUNDS));
    bareSamples.push(await bare(SECONDS / ROUNDS));
  }
  return { kme: loadOf(kmeSamples), bare: loadOf(bareSamples) };
}

/** Two SAEs on each KME, and pools far bigger than any run can drain. */
function writeScenario(dir: string, kmes: 1 | 2): string {
  const file = join(dir, `bench-http-${kmes}.yaml`);
  const users = kmes === 1 ? ['a1:SAE_A1:0', 'a2:SAE_A2:0'] : ['a1:SAE_A1:0', 'a2:SAE_A2:0', 'b1:SAE_B1:1', 'b2:SAE_B2:1'];
  const lines = [`name: bench-http-${kmes}`, 'seeds: [1]', 'duration: 1h', 'world:', `  kmes: ${kmes}`, '  users:'];
  for (const user of users) {
    const [name, sae, kme] = user.split(':') as [string, string, string];
    lines.push(`    - { name: ${name}, sae: ${sae}, kme: ${kme} }`);
  }
  lines.push(`  pool: { capacity: ${POOL_CAPACITY} }`, '');
  writeFileSync(file, lines.join('\n'));
  return file;
}

// The baseline: node:http (or node:https with the KMEs' certificates) answering a canned body, on as many ports as asked.
const BARE_SERVER = `
const cfg = JSON.parse(process.env.KMESIM_BENCH_BARE);
const fs = require('node:fs');
const bodies = cfg.bodies.map((text) => Buffer.from(text));
const headers = (body) => ({ 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
const handler = (req, res) => {
  const body = req.url.includes('/dec_keys') ? bodies[1] : bodies[0];
  req.resume();
  req.on('end', () => { res.writeHead(200, headers(body)); res.end(body); });
};
const make = () => cfg.tls
  ? require('node:https').createServer({ key: fs.readFileSync(cfg.tls.key), cert: fs.readFileSync(cfg.tls.cert), ca: fs.readFileSync(cfg.tls.ca), requestCert: true, rejectUnauthorized: true }, handler)
  : require('node:http').createServer(handler);
const urls = [];
let pending = cfg.ports;
for (let i = 0; i < cfg.ports; i++) {
  const server = make();
  server.keepAliveTimeout = 5000;
  server.listen(0, '127.0.0.1', () => {
    urls[i] = (cfg.tls ? 'https' : 'http') + '://127.0.0.1:' + server.address().port;
    if (--pending === 0) process.stdout.write(JSON.stringify({ urls }) + '\\n');
  });
}
process.on('SIGTERM', () => process.exit(0));
`;

async function startBare(options: { ports: number; bodies: readonly string[]; tls?: { key: string; cert: string; ca: string } }): Promise<StartedProcess & { urls: string[] }> {
  const started = await startUntilLine(process.execPath, ['-e', BARE_SERVER], { env: { ...process.env, KMESIM_BENCH_BARE: JSON.stringify(options) } });
  return { ...started, urls: (JSON.parse(started.line) as { urls: string[] }).urls };
}

interface Fetched {
  readonly status: number;
  readonly text: string;
}

interface ClientTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

function fetchOnce(url: string, options: { method: string; headers: Record<string, string>; body?: string; tls?: ClientTls }): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const send = options.tls === undefined ? httpRequest : httpsRequest;
    const req = send(url, { method: options.method, headers: options.headers, ...options.tls }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function encHeaders(sae: string | null): Record<string, string> {
  return { 'content-type': 'application/json', ...(sae === null ? {} : { 'x-sae-id': sae }) };
}

/** One autocannon run; latencies are taken from every response (2xx or not) at full precision. */
function cannon(options: autocannon.Options, seconds: number): Promise<Omit<Sample, 'cpuMs'>> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const instance = autocannon({ ...options, connections: CONNECTIONS, duration: seconds }, (error, result) => {
      if (error !== null && error !== undefined) return reject(error instanceof Error ? error : new Error(String(error)));
      resolve({ answered: latencies.length, seconds: result.duration > 0 ? result.duration : seconds, latencies, non2xx: result.non2xx, errors: result.errors + result.timeouts });
    });
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
    });
  });
}

/**
 * A keep-alive HTTP/1.1 connection with one request in flight at a time, on a raw socket: a client lean
 * enough (as autocannon is) that the servers, not the client, set the pace. Answers must carry a
 * Content-Length, as both the mock KME's and the baseline's do.
 */
class RawConnection {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (answer: Fetched) => void; reject: (error: Error) => void } | null = null;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = connect({ host: hostname, port: Number(port), noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.deliver();
    });
    const fail = (error: Error): void => {
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.reject(error);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  request(head: string, body = ''): Promise<Fetched> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(body.length === 0 ? `${head}\r\n` : `${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  }

  private deliver(): void {
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0 || this.waiting === null) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffered.length < end + 4 + length) return;
    const text = this.buffered.toString('utf8', end + 4, end + 4 + length);
    this.buffered = this.buffered.subarray(end + 4 + length);
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve({ status: Number(head.slice(9, 12)), text });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** 64 workers, each with its own connections: an enc_keys on the master's KME, then a dec_keys by the slave on its own KME. */
async function pairs(encUrl: string, decUrl: string, seconds: number): Promise<Omit<Sample, 'cpuMs'>> {
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const encHead = `POST /api/v1/keys/SAE_B1/enc_keys HTTP/1.1\r\nhost: ${new URL(encUrl).host}\r\nx-sae-id: SAE_A1\r\ncontent-type: application/json\r\n`;
  const decHead = (keyId: string): string => `GET /api/v1/keys/SAE_A1/dec_keys?key_ID=${encodeURIComponent(keyId)} HTTP/1.1\r\nhost: ${new URL(decUrl).host}\r\nx-sae-id: SAE_B1\r\n`;
  const until = performance.now() + seconds * 1_000;
  const worker = async (): Promise<void> => {
    let enc = new RawConnection(encUrl);
    let dec = new RawConnection(decUrl);
    while (performance.now() < until) {
      const started = performance.now();
      try {
        const encAnswer = await enc.request(encHead, ENC_BODY);
        if (encAnswer.status !== 200) {
          non2xx += 1;
          continue;
        }
        const keyId = (JSON.parse(encAnswer.text) as { keys: Array<{ key_ID: string }> }).keys[0]?.key_ID ?? '';
        const decAnswer = await dec.request(decHead(keyId));
        if (decAnswer.status !== 200) {
          non2xx += 1;
          continue;
        }
        latencies.push(performance.now() - started);
      } catch {
        errors += 1;
        enc.close();
        dec.close();
        enc = new RawConnection(encUrl);
        dec = new RawConnection(decUrl);
      }
    }
    enc.close();
    dec.close();
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const elapsed = (performance.now() - started) / 1_000;
  return { answered: latencies.length, seconds: elapsed, latencies, non2xx, errors };
}

/**
 * Server CPU per answer, beside throughput: on a shared machine the share of CPU each server gets varies
 * from one second to the next, what one answer costs much less.
 */
function cpuFigures(kme: Load, bare: Load): Record<string, number> {
  if (kme.cpuUsPerAnswer === null || bare.cpuUsPerAnswer === null) return {};
  return { cpuUsPerAnswer: round(kme.cpuUsPerAnswer, 1), bareCpuUsPerAnswer: round(bare.cpuUsPerAnswer, 1), cpuRatioToBare: round(bare.cpuUsPerAnswer / kme.cpuUsPerAnswer, 3) };
}

/** The 2xx rule: every figure below comes from answered requests only, so a run with refusals is reported loudly. */
function warnIfRefused(what: string, load: Load): void {
  if (load.non2xx > 0 || load.errors > 0) process.stderr.write(`bench: http ${what}: ${load.non2xx} non-2xx answers and ${load.errors} errors (expected none)\n`);
}

async function headerMode(dir: string): Promise<BenchFigures> {
  const serve = await startServe(['--seed', '1', '--scenario', writeScenario(dir, 1)]);
  let bare: (StartedProcess & { urls: string[] }) | null = null;
  try {
    const url = (serve.ready.kmes[0] as { url: string }).url;
    const path = '/api/v1/keys/SAE_A2/enc_keys';
    const sample = await fetchOnce(`${url}${path}`, { method: 'POST', headers: encHeaders('SAE_A1'), body: ENC_BODY });
    if (sample.status !== 200) throw new Error(`bench http: enc_keys answered ${sample.status}: ${sample.text}`);
    bare = await startBare({ ports: 1, bodies: [sample.text, sample.text] });
    const request = { method: 'POST' as const, body: ENC_BODY };
    const bareUrl = `${bare.urls[0] as string}${path}`;
    const { kme: enc, bare: base } = await compare(
      against(serve.child.pid, (seconds) => cannon({ url: `${url}${path}`, ...request, headers: encHeaders('SAE_A1') }, seconds)),
      against(bare.child.pid, (seconds) => cannon({ url: bareUrl, ...request, headers: encHeaders('SAE_A1') }, seconds)),
    );
    warnIfRefused('enc_keys', enc);
    warnIfRefused('bare', base);
    return {
      encReqPerSec: Math.round(enc.perSec),
      bareReqPerSec: Math.round(base.perSec),
      ratioToBareNode: round(enc.perSec / base.perSec, 3),
      p50Ms: round(enc.p50Ms),
      p99Ms: round(enc.p99Ms),
      bareP50Ms: round(base.p50Ms),
      bareP99Ms: round(base.p99Ms),
      ...cpuFigures(enc, base),
      non2xx: enc.non2xx + base.non2xx,
      errors: enc.errors + base.errors,
      responseBytes: Buffer.byteLength(sample.text),
    };
  } finally {
    await Promise.all([serve.stop(), bare?.stop()]);
  }
}

async function pairMode(dir: string): Promise<Record<string, number>> {
  const serve = await startServe(['--seed', '1', '--kmes', '2', '--scenario', writeScenario(dir, 2)]);
  let bare: (StartedProcess & { urls: string[] }) | null = null;
  try {
    const [a, b] = serve.ready.kmes.map((kme) => kme.url) as [string, string];
    const enc = await fetchOnce(`${a}/api/v1/keys/SAE_B1/enc_keys`, { method: 'POST', headers: encHeaders('SAE_A1'), body: ENC_BODY });
    const keyId = (JSON.parse(enc.text) as { keys: Array<{ key_ID: string }> }).keys[0]?.key_ID ?? '';
    const dec = await fetchOnce(`${b}/api/v1/keys/SAE_A1/dec_keys?key_ID=${keyId}`, { method: 'GET', headers: { 'x-sae-id': 'SAE_B1' } });
    if (enc.status !== 200 || dec.status !== 200) throw new Error(`bench http: the sample pair answered ${enc.status} and ${dec.status}`);
    bare = await startBare({ ports: 2, bodies: [enc.text, dec.text] });
    const [bareA, bareB] = bare.urls as [string, string];
    const { kme, bare: base } = await compare(
      against(serve.child.pid, (seconds) => pairs(a, b, seconds)),
      against(bare.child.pid, (seconds) => pairs(bareA, bareB, seconds)),
    );
    warnIfRefused('pairs', kme);
    warnIfRefused('bare pairs', base);
    return {
      pairsPerSec: Math.round(kme.perSec),
      barePairsPerSec: Math.round(base.perSec),
      ratioToBare: round(kme.perSec / base.perSec, 3),
      p50Ms: round(kme.p50Ms),
      p99Ms: round(kme.p99Ms),
      bareP50Ms: round(base.p50Ms),
      bareP99Ms: round(base.p99Ms),
      ...cpuFigures(kme, base),
      non2xx: kme.non2xx + base.non2xx,
      errors: kme.errors + base.errors,
    };
  } finally {
    await Promise.all([serve.stop(), bare?.stop()]);
  }
}

async function mtlsMode(dir: string): Promise<Record<string, number>> {
  const certDir = join(dir, 'certs');
  // Made here first so the bare server can use the KME's own certificate; serve finds and reuses them.
  const certs = ensureCertificates(certDir, { kmeIds: ['KME_A'], saeIds: ['SAE_A1', 'SAE_A2'], hosts: ['127.0.0.1'] });
  const serve = await startServe(['--seed', '1', '--auth', 'mtls', '--cert-dir', certDir, '--scenario', writeScenario(dir, 1)]);
  let bare: (StartedProcess & { urls: string[] }) | null = null;
  try {
    const client = certs.saes['SAE_A1'] as { cert: string; key: string };
    const tlsOptions = { cert: readFileSync(client.cert), key: readFileSync(client.key), ca: readFileSync(certs.ca) };
    const url = (serve.ready.kmes[0] as { url: string }).url;
    const path = '/api/v1/keys/SAE_A2/enc_keys';
    const sample = await fetchOnce(`${url}${path}`, { method: 'POST', headers: encHeaders(null), body: ENC_BODY, tls: tlsOptions });
    if (sample.status !== 200) throw new Error(`bench http: enc_keys over mTLS answered ${sample.status}: ${sample.text}`);
    const kme = certs.kmes['KME_A'] as { cert: string; key: string };
    bare = await startBare({ ports: 1, bodies: [sample.text, sample.text], tls: { key: kme.key, cert: kme.cert, ca: certs.ca } });
    const request = { method: 'POST' as const, body: ENC_BODY, headers: encHeaders(null), tlsOptions };
    const bareUrl = `${bare.urls[0] as string}${path}`;
    const { kme: enc, bare: base } = await compare(
      against(serve.child.pid, (seconds) => cannon({ url: `${url}${path}`, ...request }, seconds)),
      against(bare.child.pid, (seconds) => cannon({ url: bareUrl, ...request }, seconds)),
    );
    warnIfRefused('mtls enc_keys', enc);
    warnIfRefused('mtls bare', base);
    return {
      reqPerSec: Math.round(enc.perSec),
      bareReqPerSec: Math.round(base.perSec),
      ratioToBare: round(enc.perSec / base.perSec, 3),
      p50Ms: round(enc.p50Ms),
      p99Ms: round(enc.p99Ms),
      bareP50Ms: round(base.p50Ms),
      bareP99Ms: round(base.p99Ms),
      ...cpuFigures(enc, base),
      non2xx: enc.non2xx + base.non2xx,
      errors: enc.errors + base.errors,
    };
  } finally {
    await Promise.all([serve.stop(), bare?.stop()]);
  }
}

export const httpSection: BenchSection = {
  name: 'http',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'kmesim-bench-http-'));
    try {
      const header = await headerMode(dir);
      const pairFigures = await pairMode(dir);
      const mtls = await mtlsMode(dir);
      return { connections: CONNECTIONS, seconds: SECONDS, ...header, pairs: pairFigures, mtls };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
