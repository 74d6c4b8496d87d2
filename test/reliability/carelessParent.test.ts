// The careless parent: `kmesim serve` started by a CI script that never reads its stderr, or that dies
// without stopping it. Each test spawns the real CLI (`node bin/kmesim.js serve`, the compiled dist/) on
// 127.0.0.1, port 0. A full stderr pipe (a FIFO nobody reads) must cost log lines, never answers, must not
// keep SIGTERM from ending the process, and what it cost is counted in the log once there is room; the
// default level logs no line per request; --log-file takes the log instead. A parent killed by SIGKILL (an
// intermediate `node -e` that spawned serve) takes serve with it: through the parent PID when stdin is
// /dev/null, at once through stdin when stdin is a pipe; with --no-exit-with-parent the same orphan keeps
// serving, which shows the check can fail.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, expect, it } from 'vitest';
import { killChild, ROOT, urlOf, type ReadyLine } from '../support/serveProcess.js';
import type { ReliabilityRow } from './record.js';
import { reliabilityScale } from './scale.js';

const scale = reliabilityScale();
/** Status requests against a server whose stderr nobody reads: at ~190 bytes a line, far past a 64 KiB pipe. */
const FLOOD_REQUESTS = scale.name === 'full' ? 20_000 : 3_000;
const FLOOD_CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 5_000;
const READY_TIMEOUT_MS = 20_000;
/** How long serve may take to end after SIGTERM, or after its parent is gone (it polls the parent PID every second). */
const STOP_BOUND_MS = 5_000;
/** serve's parent-PID poll interval (src/cli/serveCommand.ts), and how long past it an orphan is given. */
const PARENT_POLL_MS = 1_000;
const ORPHAN_GRACE_MS = 1_500;

type ServeReady = ReadyLine & { readonly pid: number };
type LogLine = Readonly<Record<string, unknown> & { level: number; msg: string }>;

const children: ChildProcess[] = [];
const servePids = new Set<number>();
const tempDirs: string[] = [];
const rows: Array<Omit<ReliabilityRow, 'area'> & { area: 'careless-parent' }> = [];

afterEach(async () => {
  for (const pid of servePids) if (!isGone(pid)) process.kill(pid, 'SIGKILL');
  servePids.clear();
  await Promise.all(children.splice(0).map(killChild));
});

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  // The rows docs/reliability.md is written from (test/reliability/record.ts's format).
  const dir = join(ROOT, 'reports', 'reliability');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'carelessParent.json'), `${JSON.stringify({ scale: scale.name, rows }, null, 2)}\n`);
});

function track(child: ChildProcess): ChildProcess {
  children.push(child);
  return child;
}

function spawnServe(args: readonly string[], stderr: 'pipe' | number = 'pipe'): ChildProcess {
  return track(spawn(process.execPath, ['bin/kmesim.js', 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', stderr] }));
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kmesim-careless-'));
  tempDirs.push(dir);
  return dir;
}

/**
 * A FIFO (a plain 64 KiB pipe, what a Python `stderr=PIPE` gives) whose write end goes to the child and
 * whose read end nobody reads until the test says so: `read` takes what it holds now, `drain` (once the
 * child is gone) everything to its end.
 */
function unreadPipe(): { readonly writeFd: number; readonly read: () => string; readonly drain: () => string } {
  const path = join(tempDir(), 'stderr.fifo');
  execFileSync('mkfifo', [path]);
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(path, constants.O_WRONLY);
  const read = (): string => {
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(65_536);
    for (;;) {
      let count: number;
      try {
        count = readSync(readFd, buffer);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw error;
      }
      if (count === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, count)));
    }
    return Buffer.concat(chunks).toString('utf8');
  };
  return {
    writeFd,
    read,
    drain() {
      closeSync(writeFd);
      const text = read();
      closeSync(readFd);
      return text;
    },
  };
}

/** An intermediate parent: a `node -e` that spawns serve (stdin as given, stdout and stderr its own) and waits. */
function spawnParent(serveStdin: 'ignore' | 'pipe', args: readonly string[]): ChildProcess {
  const script = `require('node:child_process').spawn(process.execPath, ['bin/kmesim.js', 'serve', ...process.argv.slice(2)], { stdio: [process.argv[1], 'inherit', 'inherit'] });`;
  return track(spawn(process.execPath, ['-e', script, serveStdin, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** The ready line: the first line on `stdout` (serve's own, or an intermediate parent's it inherited). */
function readyLineOf(child: ChildProcess): Promise<ServeReady> {
  const stdout = child.stdout as Readable;
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    const onData = (chunk: string): void => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      stdout.off('data', onData);
      child.off('exit', onExit);
      const ready = JSON.parse(text.slice(0, newline)) as ServeReady;
      if (Number.isSafeInteger(ready.pid)) servePids.add(ready.pid);
      resolve(ready);
    };
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`exited (code ${code}) before a ready line`));
    };
    stdout.setEncoding('utf8').on('data', onData);
    child.once('exit', onExit);
  });
}

/** What a stream delivers: `text()` so far, `all()` once it has ended. */
function collect(stream: Readable): { text: () => string; all: () => Promise<string> } {
  let text = '';
  const ended = stream.readableEnded ? Promise.resolve() : once(stream, 'end').then(() => undefined);
  stream.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  return {
    text: () => text,
    all: async () => {
      await ended;
      return text;
    },
  };
}

function logLines(text: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as LogLine);
}

/** Waits for the exit, at most `boundMs`: the exit, or null when it did not come. */
async function exitWithin(child: ChildProcess, boundMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), boundMs)));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const result = await Promise.race([exited, timeout]);
  clearTimeout(timer);
  return result;
}

/** A process that is no more, or a zombie its new parent has not reaped yet. */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    return /^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function parentPidOf(pid: number): number {
  return Number(/^\d+ \(.*\) \S (\d+)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1]);
}

/** Polls (every 20 ms, a process exit has no event to wait on here) until `pid` is gone; ms taken, or null past the bound. */
async function goneWithin(pid: number, boundMs: number): Promise<number | null> {
  const started = performance.now();
  while (performance.now() - started < boundMs) {
    if (isGone(pid)) return Math.round(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return null;
}

/** `count` GETs of `url` as SAE_A1, `concurrency` at a time; stops at the first one that gets no answer. */
async function flood(url: string, count: number, concurrency: number): Promise<{ statuses: Map<number, number>; failure: string | null }> {
  const statuses = new Map<number, number>();
  let next = 0;
  let failure: string | null = null;
  const worker = async (): Promise<void> => {
    while (next < count && failure === null) {
      next += 1;
      try {
        const response = await fetch(url, { headers: { 'X-SAE-ID': 'SAE_A1' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      } catch (error) {
        failure ??= `request ${next}: ${(error as Error).message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { statuses, failure };
}

async function expectPortClosed(ready: ServeReady): Promise<void> {
  await expect(fetch(`${urlOf(ready, 'KME_A')}/health`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).rejects.toThrow();
}

it(`answers ${FLOOD_REQUESTS} requests with stderr piped and never read at --log-level info, and ends on SIGTERM within ${STOP_BOUND_MS} ms`, async () => {
  const pipe = unreadPipe();
  const child = spawnServe(['--log-level', 'info', '--seed', '1'], pipe.writeFd);
  const ready = await readyLineOf(child);
  expect(ready.pid).toBe(child.pid);
  const started = performance.now();
  const { statuses, failure } = await flood(`${urlOf(ready, 'KME_A')}/api/v1/keys/SAE_A2/status`, FLOOD_REQUESTS, FLOOD_CONCURRENCY);
  const floodMs = Math.round(performance.now() - started);
  expect(failure).toBeNull();
  expect([...statuses]).toEqual([[200, FLOOD_REQUESTS]]);

  const signalled = performance.now();
  child.kill('SIGTERM');
  const exit = await exitWithin(child, STOP_BOUND_MS);
  const stopMs = Math.round(performance.now() - signalled);
  expect(exit).toEqual({ code: 0, signal: null });
  await expectPortClosed(ready);

  // Only now is stderr read: what the pipe held. Whole lines only, and fewer than the requests: it was full.
  const text = pipe.drain();
  const lines = logLines(text);
  const requestLines = lines.filter((line) => line.msg === 'request').length;
  expect(requestLines).toBeGreaterThan(0);
  expect(requestLines).toBeLessThan(FLOOD_REQUESTS);
  rows.push({
    area: 'careless-parent',
    tried: `serve --log-level info, stderr a pipe (FIFO, 64 KiB) nobody reads; status requests, ${FLOOD_CONCURRENCY} at a time, then SIGTERM`,
    count: FLOOD_REQUESTS,
    result: `every one answered (200) in ${floodMs} ms; ${requestLines} request lines (${text.length} bytes) reached the pipe, the rest dropped; SIGTERM to exit ${stopMs} ms, exit 0, ports closed`,
  });
});

it('says how many lines a full pipe cost: a log.dropped line with the count comes first once there is room', async () => {
  const requests = 1_000;
  const pipe = unreadPipe();
  const child = spawnServe(['--log-level', 'info', '--seed', '1'], pipe.writeFd);
  const ready = await readyLineOf(child);
  const { statuses, failure } = await flood(`${urlOf(ready, 'KME_A')}/api/v1/keys/SAE_A2/status`, requests, FLOOD_CONCURRENCY);
  expect(failure).toBeNull();
  expect([...statuses]).toEqual([[200, requests]]);
  // The reader wakes up: what the pipe held, then the lines written once it had room again.
  const held = logLines(pipe.read());
  expect(held[0]?.msg).toBe('kmesim.started');
  expect(held.every((line) => ['kmesim.started', 'request', 'log.dropped'].includes(line.msg))).toBe(true);
  const written = held.filter((line) => line.msg === 'request').length;
  expect(written).toBeLessThan(requests);
  child.kill('SIGTERM');
  expect(await exitWithin(child, STOP_BOUND_MS)).toEqual({ code: 0, signal: null });
  const after = logLines(pipe.drain());
  // The count comes first once there is room; a request whose line was written after its answer reached the
  // client (the last ones of the flood) may follow it; then the stop lines.
  const shape = after.map((line) => [line.level, line.msg]);
  expect(shape[0]).toEqual([40, 'log.dropped']);
  expect(shape.slice(-2)).toEqual([
    [30, 'kmesim.stopping'],
    [30, 'kmesim.stopped'],
  ]);
  expect(shape.slice(1, -2).every(([, msg]) => msg === 'request')).toBe(true);
  const writtenLate = after.filter((line) => line.msg === 'request').length;
  // A count line is shorter than a request line: it may also have fitted into the last bytes of the full
  // pipe. Every lost line is counted once, across them all.
  const counted = [...held, ...after].filter((line) => line.msg === 'log.dropped').reduce((sum, line) => sum + (line['dropped'] as number), 0);
  expect(counted).toBe(requests - written - writtenLate);
  rows.push({
    area: 'careless-parent',
    tried: 'serve --log-level info, stderr a pipe read only after a burst of status requests, then stopped',
    count: requests,
    result: `${written} request lines in the pipe; log.dropped lines counting the other ${requests - written} exactly, the last one first once the pipe had room, then the stop lines`,
  });
});

it('writes no line per answered request at the default level (warn): only refusals', async () => {
  const child = spawnServe(['--seed', '1']);
  const stderr = collect(child.stderr as Readable);
  const ready = await readyLineOf(child);
  const answered = 200;
  const { statuses, failure } = await flood(`${urlOf(ready, 'KME_A')}/api/v1/keys/SAE_A2/status`, answered, 4);
  expect(failure).toBeNull();
  expect([...statuses]).toEqual([[200, answered]]);
  const refused = await fetch(`${urlOf(ready, 'KME_A')}/api/v1/keys/SAE_B9/status`, { headers: { 'X-SAE-ID': 'SAE_A1' } });
  expect(refused.status).toBe(400);
  child.kill('SIGTERM');
  expect(await exitWithin(child, STOP_BOUND_MS)).toEqual({ code: 0, signal: null });
  const lines = logLines(await stderr.all());
  expect(lines.map((line) => [line.level, line.msg, line['status']])).toEqual([[40, 'request', 400]]);
  rows.push({
    area: 'careless-parent',
    tried: `serve at its default level: ${answered} answered status requests and 1 refused`,
    count: answered + 1,
    result: `${lines.length} line on stderr: the refusal (warn); none for the answers, none for start and stop`,
  });
});

it('appends the log to --log-file and writes nothing to stderr; a path it cannot open is one line on stderr and exit 2', async () => {
  const dir = tempDir();
  const file = join(dir, 'kme.log');
  writeFileSync(file, '{"msg":"earlier"}\n');
  const child = spawnServe(['--seed', '1', '--log-level', 'info', '--log-file', file]);
  const stderr = collect(child.stderr as Readable);
  const ready = await readyLineOf(child);
  const requests = 50;
  const { statuses } = await flood(`${urlOf(ready, 'KME_A')}/api/v1/keys/SAE_A2/status`, requests, 4);
  expect([...statuses]).toEqual([[200, requests]]);
  child.kill('SIGTERM');
  expect(await exitWithin(child, STOP_BOUND_MS)).toEqual({ code: 0, signal: null });
  expect(await stderr.all()).toBe('');
  const lines = logLines(readFileSync(file, 'utf8'));
  expect(lines.map((line) => line.msg)).toEqual(['earlier', 'kmesim.started', ...Array<string>(requests).fill('request'), 'kmesim.stopping', 'kmesim.stopped']);
  expect(lines.slice(1).every((line) => line['pid'] === ready.pid)).toBe(true);

  for (const bad of [join(dir, 'missing', 'kme.log'), dir]) {
    const refused = spawnServe(['--log-file', bad]);
    const out = collect(refused.stdout as Readable);
    const err = collect(refused.stderr as Readable);
    const [code] = (await once(refused, 'close')) as [number | null];
    expect({ code, stdout: await out.all() }).toEqual({ code: 2, stdout: '' });
    const errLines = (await err.all()).trimEnd().split('\n');
    expect(errLines).toHaveLength(1);
    expect(errLines[0]?.startsWith(`kmesim: --log-file: cannot open ${bad}: `), errLines[0]).toBe(true);
  }
  rows.push({
    area: 'careless-parent',
    tried: `serve --log-file FILE --log-level info (FILE holding an earlier line); then a missing directory and a directory as FILE`,
    count: requests + 2,
    result: `the earlier line kept, then start, ${requests} request lines and stop appended; stderr empty; each bad path exit 2 with one line on stderr and no ready line`,
  });
});

it(`ends within ${STOP_BOUND_MS} ms of its parent's SIGKILL when stdin is /dev/null (parent PID); with --no-exit-with-parent the orphan keeps serving`, async () => {
  const parent = spawnParent('ignore', ['--seed', '1']);
  const control = spawnParent('ignore', ['--seed', '1', '--no-exit-with-parent']);
  const parentLog = collect(parent.stderr as Readable);
  const [ready, controlReady] = await Promise.all([readyLineOf(parent), readyLineOf(control)]);
  expect(parentPidOf(ready.pid)).toBe(parent.pid);
  expect(parentPidOf(controlReady.pid)).toBe(control.pid);
  for (const served of [ready, controlReady]) expect((await fetch(`${urlOf(served, 'KME_A')}/health`)).status).toBe(200);

  const killed = performance.now();
  parent.kill('SIGKILL');
  control.kill('SIGKILL');
  const goneMs = await goneWithin(ready.pid, STOP_BOUND_MS);
  expect(goneMs, 'serve outlived its parent').not.toBeNull();
  await expectPortClosed(ready);
  const reason = logLines(await parentLog.all()).find((line) => line.msg === 'parent.gone')?.['reason'];
  expect(reason).toBe(`parent process ${parent.pid} is gone`);

  // The control: orphaned too (re-parented), and still serving a poll interval and more after the kill.
  const waitMs = PARENT_POLL_MS + ORPHAN_GRACE_MS - (performance.now() - killed);
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  expect(isGone(controlReady.pid)).toBe(false);
  expect(parentPidOf(controlReady.pid)).not.toBe(control.pid);
  expect((await fetch(`${urlOf(controlReady, 'KME_A')}/health`)).status).toBe(200);
  const controlMs = Math.round(performance.now() - killed);
  // Stopped the way the README says: SIGTERM to the PID of the ready line.
  process.kill(controlReady.pid, 'SIGTERM');
  const controlStopMs = await goneWithin(controlReady.pid, STOP_BOUND_MS);
  expect(controlStopMs).not.toBeNull();
  await expectPortClosed(controlReady);
  rows.push({
    area: 'careless-parent',
    tried: 'serve (stdin /dev/null) spawned by an intermediate node process that is SIGKILLed; beside it the same with --no-exit-with-parent',
    count: 2,
    result: `serve gone ${goneMs} ms after the kill (parent PID changed), port closed; the control still serving ${controlMs} ms after, gone ${controlStopMs} ms after a SIGTERM to the ready line's pid`,
  });
});

it('ends when its parent dies with stdin a pipe from it, through stdin closing rather than the parent-PID poll', async () => {
  const parent = spawnParent('pipe', ['--seed', '1']);
  const parentLog = collect(parent.stderr as Readable);
  const ready = await readyLineOf(parent);
  expect((await fetch(`${urlOf(ready, 'KME_A')}/health`)).status).toBe(200);
  parent.kill('SIGKILL');
  const goneMs = await goneWithin(ready.pid, STOP_BOUND_MS);
  expect(goneMs, 'serve outlived its parent').not.toBeNull();
  await expectPortClosed(ready);
  const reason = logLines(await parentLog.all()).find((line) => line.msg === 'parent.gone')?.['reason'];
  expect(reason).toBe('stdin closed');
  rows.push({
    area: 'careless-parent',
    tried: 'serve with stdin a pipe from an intermediate node process that is SIGKILLed',
    count: 1,
    result: `serve gone ${goneMs} ms after the kill (stdin closed), port closed`,
  });
});
