// Proves a target that misbehaves yields a report, never a stack trace. Tiny node:http servers on 127.0.0.1
// answer every request with a 500 HTML page, with `200 text/plain hello`, or never at all, and `runCheck`
// must return a report that says so; only a URL nobody listens at is refused, with TargetUnreachableError.
// Then the same through the command line as a CI job runs it: `node bin/kmesim.js check` (the compiled CLI in
// dist/, which `npm test` builds first) against `kmesim serve` children, and against target files that are
// missing, invalid or point at nobody, judged by exit code (0 clean, 1 broken, 2 usage), stdout and stderr.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCheck, TargetUnreachableError } from '../../src/check/runCheck.js';
import { targetSchema, type Target } from '../../src/check/targetSchema.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUDGET_MS = 10_000;
/** The silent KME's budget: it is taken to have stopped answering after two timeouts, well within it. */
const SILENT_BUDGET_MS = 15_000;
const REQUEST_TIMEOUT_MS = 300;
const CLI_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 20_000;

const servers: Server[] = [];
const children: ChildProcess[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  await Promise.all(children.splice(0).map(stop));
});

afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-check-hostile-'));
  tempDirs.push(dir);
  return dir;
}

/** A KME impostor on 127.0.0.1 that answers every request with `handler`; resolves with its URL. */
async function hostile(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port that was free a moment ago and has no listener now. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function targetDocument(url: string, limits?: { requestTimeoutMs: number }): Record<string, unknown> {
  return {
    kmes: [{ id: 'KME_A', url }],
    saes: [
      { id: 'SAE_A1', kme: 'KME_A', header: 'X-SAE-ID', value: 'SAE_A1' },
      { id: 'SAE_A2', kme: 'KME_A', header: 'X-SAE-ID', value: 'SAE_A2' },
    ],
    ...(limits === undefined ? {} : { limits }),
  };
}

function targetAt(url: string, limits?: { requestTimeoutMs: number }): Target {
  return targetSchema.parse(targetDocument(url, limits));
}

const check = async (target: Target, budgetMs = BUDGET_MS) => (await runCheck(target, { file: 'target.yaml', seed: 1, runs: 2, budgetMs })).report;

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function kmesim(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/kmesim.js', ...args], { cwd: ROOT, timeout: CLI_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error);
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

function checkCli(targetFile: string, out: string): Promise<CliResult> {
  return kmesim('check', '--target', targetFile, '--seed', '1', '--runs', '2', '--budget', '10s', '--out', out);
}

/** Starts `kmesim serve … --write-target FILE` and resolves once its ready line says the file is written. */
async function serveWithTarget(dir: string, ...args: string[]): Promise<string> {
  const targetFile = join(dir, 'target.yaml');
  const child = spawn(process.execPath, ['bin/kmesim.js', 'serve', '--seed', '1', ...args, '--write-target', targetFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${READY_TIMEOUT_MS} ms; stderr: ${stderr}`)), READY_TIMEOUT_MS);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!stdout.includes('\n')) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before its ready line; stderr: ${stderr}`));
    });
  });
  return targetFile;
}

function lastLineOf(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

it('reports a KME that answers every request with a 500 HTML page as I13 violations', async () => {
  const url = await hostile((request, response) => {
    request.resume();
    response.writeHead(500, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><html><body><h1>500 Internal Server Error</h1></body></html>');
  });
  const report = await check(targetAt(url));
  expect(report.passed).toBe(false);
  expect(report.violations.length).toBeGreaterThan(0);
  expect(report.violations.every((found) => found.invariant === 'I13'), report.violations.map((found) => found.invariant).join(', ')).toBe(true);
});

it('reports the 500 HTML pages of a KME as format findings', async () => {
  const url = await hostile((request, response) => {
    request.resume();
    response.writeHead(500, { 'content-type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><html><body><h1>500 Internal Server Error</h1></body></html>');
  });
  const report = await check(targetAt(url));
  expect(report.findings.filter((found) => found.kind === 'format').length, JSON.stringify(report.findings.slice(0, 3))).toBeGreaterThan(0);
});

it('reports a KME that answers 200 text/plain hello to everything with failed checklist items', async () => {
  const url = await hostile((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('hello');
  });
  const report = await check(targetAt(url));
  const fails = report.conformance.filter((result) => result.verdict === 'fail').map((result) => result.item);
  expect(report.passed).toBe(false);
  expect(fails.length + report.findings.length).toBeGreaterThan(0);
  expect(fails).toContain('C3');
});

it('reports a KME that accepts connections and never answers as one hang finding naming the request in flight, within the budget', async () => {
  const url = await hostile((request) => {
    request.resume();
  });
  const started = performance.now();
  const report = await check(targetAt(url, { requestTimeoutMs: REQUEST_TIMEOUT_MS }), SILENT_BUDGET_MS);
  // The workload in flight when the budget runs out is cut off, not awaited: allow a few request timeouts.
  expect(performance.now() - started).toBeLessThan(SILENT_BUDGET_MS + 2_000);
  expect(report.passed).toBe(false);
  const hangs = report.findings.filter((found) => found.kind === 'hang');
  expect(hangs, JSON.stringify(report.findings.slice(0, 3))).toHaveLength(1);
  expect(hangs[0]?.message).toMatch(/^KME_A did not answer GET \/api\/v1\/keys\/\S+\/status within 300 ms/);
}, 40_000);

it('rejects with TargetUnreachableError when nobody listens at the target URL', async () => {
  const port = await closedPort();
  await expect(check(targetAt(`http://127.0.0.1:${port}`))).rejects.toBeInstanceOf(TargetUnreachableError);
});

it('exits 0 from kmesim check against a strict kmesim serve', async () => {
  const dir = await freshDir();
  const targetFile = await serveWithTarget(dir);
  const { code, stdout, stderr } = await checkCli(targetFile, join(dir, 'reports'));
  expect(code, `${stdout}\n${stderr}`).toBe(0);
  expect(stdout).toMatch(/^verdict: clean$/m);
  expect(lastLineOf(stdout).startsWith(`repro: npx kmesim check --target ${targetFile} --seed 1 --runs 2`)).toBe(true);
}, CLI_TIMEOUT_MS);

it('exits 1 from kmesim check against kmesim serve --bug no-consume and ends with the repro line (I3)', async () => {
  const dir = await freshDir();
  const targetFile = await serveWithTarget(dir, '--bug', 'no-consume');
  const { code, stdout, stderr } = await checkCli(targetFile, join(dir, 'reports'));
  expect(code, `${stdout}\n${stderr}`).toBe(1);
  expect(stdout).toMatch(/^I3 consume-once: /m);
  const last = lastLineOf(stdout);
  expect(last.startsWith(`repro: npx kmesim check --target ${targetFile} --seed 1 --runs 2`), last).toBe(true);
}, CLI_TIMEOUT_MS);

it('exits 2 with one line on stderr when the target file does not exist', async () => {
  const dir = await freshDir();
  const missing = join(dir, 'missing.yaml');
  const { code, stderr } = await checkCli(missing, join(dir, 'reports'));
  expect(code).toBe(2);
  expect(stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^kmesim: .*missing\.yaml: no such file$/)]);
}, CLI_TIMEOUT_MS);

it('exits 2 with one line on stderr when the target file lists no SAEs', async () => {
  const dir = await freshDir();
  const invalid = join(dir, 'no-saes.yaml');
  await writeFile(invalid, stringify({ kmes: [{ id: 'KME_A', url: 'http://127.0.0.1:1' }] }));
  const { code, stderr } = await checkCli(invalid, join(dir, 'reports'));
  expect(code).toBe(2);
  expect(stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^kmesim: .*no-saes\.yaml: saes: /)]);
}, CLI_TIMEOUT_MS);

it('exits 2 with one line on stderr when nobody listens at the target URL', async () => {
  const dir = await freshDir();
  const unreachable = join(dir, 'unreachable.yaml');
  const port = await closedPort();
  await writeFile(unreachable, stringify(targetDocument(`http://127.0.0.1:${port}`)));
  const { code, stderr } = await checkCli(unreachable, join(dir, 'reports'));
  expect(code).toBe(2);
  expect(stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(new RegExp(`^kmesim: no KME of the target answered: http://127\\.0\\.0\\.1:${port} `))]);
}, CLI_TIMEOUT_MS);
