// One crash campaign: `kmesim serve --db FILE --kmes 2` (the real CLI on a real SQLite file) under load from
// the load client (a separate process), SIGKILLed `kills` times at seeded moments and started again on the
// same file and ports; every fourth kill also kills the next start while it loads or replays. The server's live
// verdict and pool counts are read before each kill and after each start. After the last start the load
// stops, every key still waiting for its slave is asked for (the final pass), and the whole history is
// audited. It reports what it found; the caller decides what must hold. Every process it starts is
// SIGKILLed before it returns, whatever happens.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import { auditCrashHistory, compareAcrossRestart, keysToRetrieve, type CrashAudit, type CrashFinding, type PoolCounts } from './crashAudit.js';
import { appendCrashRecord, decRequest, parseCrashRecords, sendCrashRequest, type CrashEndpoints, type CrashRecord } from './crashHistory.js';
import type { CrashLoadConfig } from './crashLoadClient.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CLIENT = fileURLToPath(new URL('./crashLoadClient.ts', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 15_000;
/** Answers the load client must have had from a start before it is killed. */
export const MIN_ANSWERS_PER_START = 20;

export interface CrashCampaignOptions {
  readonly kills: number;
  readonly seed: number;
  readonly loadWorkers: number;
  readonly bugs?: readonly string[];
}

export interface LiveVerdict {
  readonly when: string;
  readonly holds: boolean;
  readonly violations: readonly unknown[];
}

export interface CrashCampaign {
  /** Conservation after every start, counts across every restart, and the audit of the whole history. */
  readonly findings: readonly CrashFinding[];
  /** The server's own verdict before every kill, after every start and after the final pass. */
  readonly verdicts: readonly LiveVerdict[];
  readonly audit: CrashAudit;
  readonly records: readonly CrashRecord[];
  readonly client: { readonly requests: number; readonly answered: number; readonly unanswered: number; readonly refused: number };
  readonly pools: readonly PoolCounts[];
  readonly startTimesMs: readonly number[];
  readonly startupKills: readonly string[];
  readonly loadMs: number;
  readonly wallMs: number;
}

interface ReadyLine {
  readonly kmes: ReadonlyArray<{ readonly id: string; readonly url: string }>;
  readonly saes: ReadonlyArray<{ readonly id: string; readonly kme: string }>;
  readonly seed: number;
  readonly admin: string;
}

interface Served {
  readonly child: ChildProcess;
  readonly ready: ReadyLine;
  readonly startMs: number;
}

const running = new Set<ChildProcess>();

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** SIGKILLs every process a campaign started that is still running (for afterAll, should a campaign throw oddly). */
export async function stopCrashProcesses(): Promise<void> {
  await Promise.all([...running].map(stop));
}

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Two consecutive free ports (serve --port P takes P and P+1), none of them used before. */
async function freePortPair(used: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    if (port < 65_535 && !used.has(port) && !used.has(port + 1) && (await portIsFree(port)) && (await portIsFree(port + 1))) return port;
  }
  throw new Error('no two consecutive free ports');
}

/** Starts serve; `ready` resolves with its ready line, or with why it exited first (e.g. a port taken meanwhile). */
function spawnServe(args: readonly string[]): { child: ChildProcess; ready: Promise<Served | { failed: string }> } {
  const startMs = performance.now();
  const child = track(spawn(process.execPath, ['bin/kmesim.js', 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const ready = new Promise<Served | { failed: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${READY_TIMEOUT_MS} ms; stderr: ${stderr}`)), READY_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ failed: `serve exited (code ${code}, signal ${signal}) before its ready line; stderr: ${stderr}` });
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      resolve({ child, ready: JSON.parse(stdout.slice(0, newline)) as ReadyLine, startMs: performance.now() - startMs });
    });
  });
  return { child, ready };
}

async function adminGet<T>(ready: ReadyLine, path: string): Promise<T> {
  const response = await fetch(`${ready.admin}${path}`);
  if (response.status !== 200) throw new Error(`GET ${ready.admin}${path} answered ${response.status}`);
  return (await response.json()) as T;
}

async function poolCounts(ready: ReadyLine): Promise<PoolCounts[]> {
  const state = await adminGet<{ pools: PoolCounts[] }>(ready, '/state');
  return state.pools.map(({ id, stored, reserved, consumed, expired, discarded, generated }) => ({ id, stored, reserved, consumed, expired, discarded, generated }));
}

/** Conservation in one state read: generated = stored + reserved + consumed + expired + discarded (I8). */
function conservationFindings(pools: readonly PoolCounts[], when: string): CrashFinding[] {
  return pools
    .filter((pool) => pool.generated !== pool.stored + pool.reserved + pool.consumed + pool.expired + pool.discarded)
    .map((pool) => ({ invariant: 'I8' as const, message: `${when}: pool ${pool.id} does not add up (${JSON.stringify(pool)})` }));
}

/** Reads the history file as it grows, counting answered requests per start. */
function followHistory(file: string): { answeredIn(gen: number): Promise<number> } {
  const answered = new Map<number, number>();
  let offset = 0;
  let partial = '';
  return {
    async answeredIn(gen) {
      const handle = await open(file, 'r').catch(() => null);
      if (handle !== null) {
        try {
          for (;;) {
            const buffer = Buffer.alloc(1 << 20);
            const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
            if (bytesRead === 0) break;
            offset += bytesRead;
            const lines = (partial + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
            partial = lines.pop() ?? '';
            for (const line of lines) {
              if (line === '') continue;
              const record = JSON.parse(line) as CrashRecord;
              if (record.outcome.answered) answered.set(record.gen, (answered.get(record.gen) ?? 0) + 1);
            }
          }
        } finally {
          await handle.close();
        }
      }
      return answered.get(gen) ?? 0;
    },
  };
}

export async function runCrashCampaign(options: CrashCampaignOptions): Promise<CrashCampaign> {
  const wallStart = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-crash-'));
  const started: ChildProcess[] = [];
  try {
    return await campaign(options, dir, wallStart, started);
  } finally {
    await Promise.all(started.map(stop));
    await rm(dir, { recursive: true, force: true });
  }
}

async function campaign(options: CrashCampaignOptions, dir: string, wallStart: number, started: ChildProcess[]): Promise<CrashCampaign> {
  const db = join(dir, 'world.db');
  const endpointsFile = join(dir, 'endpoints.json');
  const historyFile = join(dir, 'history.jsonl');
  const random = seedrandom(`crash:${options.seed}`);
  const usedPorts = new Set<number>();
  const findings: CrashFinding[] = [];
  const verdicts: LiveVerdict[] = [];
  const startTimesMs: number[] = [];
  const startupKills: string[] = [];

  let port = await freePortPair(usedPorts);
  const bugArgs = (options.bugs ?? []).flatMap((bug) => ['--bug', bug]);
  const serveArgs = (): string[] => ['--db', db, '--kmes', '2', '--seed', String(options.seed), '--port', String(port), ...bugArgs];
  const launch = (): ReturnType<typeof spawnServe> => {
    const launched = spawnServe(serveArgs());
    started.push(launched.child);
    return launched;
  };
  /** Starts serve on the file, on the same ports as before when it can: the client's URLs stay valid. */
  const start = async (): Promise<Served> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const outcome = await launch().ready;
      if (!('failed' in outcome)) {
        usedPorts.add(port).add(port + 1);
        startTimesMs.push(outcome.startMs);
        return outcome;
      }
      // Only a port taken by someone else while the server was down may send us elsewhere.
      if (!outcome.failed.includes('in use')) throw new Error(outcome.failed);
      port = await freePortPair(usedPorts);
    }
    throw new Error('serve could not find free ports in five tries');
  };
  const publish = async (gen: number, ready: ReadyLine): Promise<void> => {
    const endpoints: CrashEndpoints = { gen, kmes: Object.fromEntries(ready.kmes.map((kme) => [kme.id, kme.url])) };
    await writeFile(`${endpointsFile}.tmp`, JSON.stringify(endpoints));
    await rename(`${endpointsFile}.tmp`, endpointsFile);
  };
  const readVerdict = async (served: Served, when: string): Promise<void> => {
    const verdict = await adminGet<{ holds: boolean; violations: unknown[] }>(served.ready, '/invariants');
    verdicts.push({ when, holds: verdict.holds, violations: verdict.violations });
  };
  /** After every start: the live verdict, and replayed counts that add up and have lost nothing. */
  const checkStart = async (served: Served, before: readonly PoolCounts[] | null, gen: number): Promise<void> => {
    await readVerdict(served, `after start ${gen}`);
    const after = await poolCounts(served.ready);
    findings.push(...conservationFindings(after, `after start ${gen}`));
    if (before !== null) findings.push(...compareAcrossRestart(before, after).map((finding) => ({ ...finding, message: `start ${gen}: ${finding.message}` })));
  };

  let served = await start();
  if (served.ready.seed !== options.seed) throw new Error(`serve runs seed ${served.ready.seed}, not ${options.seed}`);
  const kmeOf = new Map(served.ready.saes.map((sae) => [sae.id, sae.kme]));
  await checkStart(served, null, 0);
  await publish(0, served.ready);

  const config: CrashLoadConfig = { endpointsFile, historyFile, seed: options.seed, workers: options.loadWorkers, saes: served.ready.saes, timeoutMs: REQUEST_TIMEOUT_MS };
  const client = track(spawn(process.execPath, ['--import', 'tsx', CLIENT, JSON.stringify(config)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }));
  started.push(client);
  let clientOut = '';
  let clientErr = '';
  client.stdout?.setEncoding('utf8').on('data', (chunk: string) => (clientOut += chunk));
  client.stderr?.setEncoding('utf8').on('data', (chunk: string) => (clientErr += chunk));
  const clientExit = once(client, 'exit') as Promise<[number | null, string | null]>;
  // The kill schedule starts once the client's workers are sending.
  await Promise.race([
    new Promise<void>((resolve) => client.stdout?.on('data', () => clientOut.includes('\n') && resolve())),
    clientExit.then(() => Promise.reject(new Error(`the load client exited at start: ${clientErr}`))),
  ]);

  const progress = followHistory(historyFile);
  /** A seeded while; and on a busy machine, where the load is slow to come back, until this start has served some. */
  const serveLoad = async (gen: number): Promise<void> => {
    await sleep(300 + Math.floor(random() * 1_200));
    while ((await progress.answeredIn(gen)) < MIN_ANSWERS_PER_START && client.exitCode === null) await sleep(50);
    if (client.exitCode !== null) throw new Error(`the load client died: ${clientErr}`);
  };
  for (let kill = 1; kill <= options.kills; kill++) {
    await serveLoad(kill - 1);
    await readVerdict(served, `before kill ${kill}`);
    // Everything this read shows is on disk: the restart must show at least as much.
    const before = await poolCounts(served.ready);
    await stop(served.child);
    if (kill % 4 === 2) {
      // Somewhere between half and all of the last start's time to ready: while it loads, replays or has just finished.
      const early = launch();
      await sleep(Math.floor((startTimesMs.at(-1) ?? 1_000) * (0.5 + 0.6 * random())));
      await stop(early.child);
      startupKills.push('failed' in (await early.ready) ? 'before its ready line' : 'after its ready line');
    }
    served = await start();
    await checkStart(served, before, kill);
    await publish(kill, served.ready);
  }
  // The last server takes load too; then the client stops and waits for its requests.
  await serveLoad(options.kills);
  client.stdin?.end();
  const [exitCode] = await Promise.race([clientExit, sleep(30_000).then(() => [null, 'timeout'] as const)]);
  if (exitCode !== 0) throw new Error(`the load client ended with ${exitCode}: ${clientErr}`);
  const summary = JSON.parse(clientOut.trim().split('\n').at(-1) ?? '') as CrashCampaign['client'];
  const loadMs = performance.now() - wallStart;

  // The final pass: every key answered to a master and not yet to its slave, asked for by that slave.
  const records: CrashRecord[] = parseCrashRecords(await readFile(historyFile, 'utf8'));
  if (records.length !== summary.requests) throw new Error(`the history holds ${records.length} requests, the load client sent ${summary.requests}`);
  const urls = new Map(served.ready.kmes.map((kme) => [kme.id, kme.url]));
  const waiting = keysToRetrieve(records);
  let seq = records.length;
  for (let i = 0; i < waiting.length; i += 8) {
    const outcomes = await Promise.all(
      waiting.slice(i, i + 8).map((key) => {
        const request = decRequest(kmeOf.get(key.slave) as string, key.slave, key.master, [key.keyId], 'POST');
        return sendCrashRequest(urls.get(request.kme) as string, request, REQUEST_TIMEOUT_MS).then((outcome) => ({ request, outcome }));
      }),
    );
    for (const { request, outcome } of outcomes) {
      const record: CrashRecord = { seq: ++seq, phase: 'final', gen: options.kills, request, outcome };
      records.push(record);
      appendCrashRecord(historyFile, record);
    }
  }
  await readVerdict(served, 'after the final pass');
  const pools = await poolCounts(served.ready);
  const audit = auditCrashHistory(records, kmeOf, pools);
  findings.push(...audit.findings);
  await stop(served.child);
  return { findings, verdicts, audit, records, client: summary, pools, startTimesMs, startupKills, loadMs, wallMs: performance.now() - wallStart };
}
