// `kmesim serve`: the mock KME. Exactly one JSON line on stdout once every port listens (the ready
// line, with the PID to signal); the log (JSON lines from --log-level, default warn) goes to stderr or
// --log-file, and diagnostics to stderr; SIGTERM and SIGINT shut it down cleanly, and so does the end of
// the process that started it (--exit-with-parent).
import { fstatSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isatty } from 'node:tty';
import { parseBugNames } from '../model/bugs.js';
import { isProfileName, isRetryMode, PROFILE_NAMES, RETRY_MODES } from '../model/profiles.js';
import { isLoopback } from '../http/identity.js';
import { startServer, ServerStartError, type ReadyInfo, type RunningServer } from '../http/startServer.js';
import { writeTargetFile } from '../http/targetFile.js';
import { createLogger, createStderrDestination, isLogLevel, LOG_LEVELS, openLogFile, type LogDestination } from '../http/logging.js';
import { parseSaeAt } from '../engine/serverSetup.js';
import { readSwitch, SWITCH_ENV } from './serveOptions.js';
import { parseInteger, UsageError } from './usageError.js';

export interface ServeCommandOptions {
  readonly port: string;
  readonly host: string;
  readonly seed?: string;
  readonly kmes?: string;
  readonly kmeId?: readonly string[];
  readonly sae?: readonly string[];
  readonly profile?: string;
  readonly auth: string;
  readonly authHeader: string;
  readonly allowHeaderAuth?: boolean;
  readonly db?: string;
  readonly scenario?: string;
  readonly bug?: readonly string[];
  readonly writeTarget?: string;
  readonly readyFile?: string;
  readonly clock: string;
  readonly syncLatency?: string;
  readonly maxWaitingKeys?: string;
  readonly poolCapacity?: string;
  readonly keySize?: string;
  readonly maxKeysPerRequest?: string;
  readonly retry?: string;
  readonly retryGrace?: string;
  readonly certDir?: string;
  readonly adminToken?: string;
  readonly logLevel: string;
  readonly logFile?: string;
  /** Unset: on when stdin is not a terminal. */
  readonly exitWithParent?: boolean;
  readonly judgeClients?: boolean;
}

/** How often the parent's PID is compared with the one serve started under. */
const PARENT_POLL_MS = 1_000;

export async function serveCommand(options: ServeCommandOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parentPid = process.ppid;
  const named: ReadonlyArray<readonly [string, string | undefined]> = [
    ['--host', options.host],
    ['--auth-header', options.authHeader],
    ['--db', options.db],
    ['--scenario', options.scenario],
    ['--write-target', options.writeTarget],
    ['--ready-file', options.readyFile],
    ['--cert-dir', options.certDir],
    ['--admin-token', options.adminToken],
    ['--log-file', options.logFile],
  ];
  for (const [flag, value] of named) if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} must not be empty`);
  const allowHeaderAuth = options.allowHeaderAuth ?? readSwitch(env, SWITCH_ENV.allowHeaderAuth);
  const judgeClients = options.judgeClients ?? readSwitch(env, SWITCH_ENV.judgeClients) ?? false;
  let saes;
  try {
    saes = options.sae?.map(parseSaeAt);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (options.scenario !== undefined && (options.kmeId !== undefined || saes !== undefined)) {
    throw new UsageError('--kme-id and --sae cannot be combined with --scenario: the scenario names its KMEs and SAEs');
  }
  // Not given: the scenario's topology, or one KME.
  const kmes = options.kmes === undefined ? undefined : options.kmes === '1' ? 1 : options.kmes === '2' ? 2 : null;
  if (kmes === null) throw new UsageError(`--kmes must be 1 or 2, got "${options.kmes}"`);
  if (options.auth !== 'header' && options.auth !== 'mtls') throw new UsageError(`--auth must be header or mtls, got "${options.auth}"`);
  if (options.clock !== 'real' && options.clock !== 'manual') throw new UsageError(`--clock must be real or manual, got "${options.clock}"`);
  if (judgeClients && options.auth !== 'header') throw new UsageError('--judge-clients needs --auth header: the recording proxy passes the identity header on, and cannot present a client certificate');
  if (judgeClients && !isLoopback(options.host)) throw new UsageError('--judge-clients serves on loopback only (its ledger has no token): leave --host at 127.0.0.1');
  if (!isLogLevel(options.logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${options.logLevel}"`);
  const logLevel = options.logLevel;
  const profile = options.profile;
  if (profile !== undefined && !isProfileName(profile)) throw new UsageError(`unknown profile "${profile}" (known: ${PROFILE_NAMES.join(', ')})`);
  const retry = options.retry;
  if (retry !== undefined && !isRetryMode(retry)) throw new UsageError(`--retry must be ${RETRY_MODES.join(' or ')}, got "${retry}"`);
  if (options.retryGrace !== undefined && retry !== 'idempotent') throw new UsageError('--retry-grace needs --retry idempotent (a burnt delivery has no grace)');
  let bugs;
  try {
    bugs = [...parseBugNames(options.bug ?? [])];
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const port = parseInteger('--port', options.port);
  const ports = kmes ?? options.kmeId?.length ?? 1;
  if (port + ports - 1 > 65_535) throw new UsageError(`--port must be at most ${65_536 - ports}, got ${port}`);
  // Checked before the server starts, not found wanting once it listens.
  if (options.writeTarget !== undefined) await (await import('./outputPaths.js')).checkOutputFile('--write-target', options.writeTarget);
  if (options.readyFile !== undefined) {
    await (await import('./outputPaths.js')).checkOutputFile('--ready-file', options.readyFile);
    // A ready file left by an earlier run must not be taken for this one's.
    await rm(options.readyFile, { force: true });
  }
  // Opened before anything starts: a log file that cannot be written is a usage error, not a silent server.
  let destination: LogDestination;
  try {
    destination = options.logFile === undefined ? createStderrDestination() : openLogFile(options.logFile);
  } catch (error) {
    throw new UsageError(`--log-file: ${(error as Error).message}`);
  }
  const logger = createLogger(logLevel, destination);
  const exitWithParent = options.exitWithParent ?? readSwitch(env, SWITCH_ENV.exitWithParent) ?? !isatty(0);
  // The simulator's scenario modules (YAML, faker users) load only for a server that plays a scenario.
  const setup = options.scenario === undefined ? undefined : (await import('../sim/scenarioSetup.js')).createScenarioSetup(options.scenario);
  let server;
  try {
    server = await startServer({
      ...(kmes === undefined ? {} : { kmes }),
      host: options.host,
      port,
      ...(options.seed === undefined ? {} : { seed: parseInteger('--seed', options.seed) }),
      ...(profile === undefined ? {} : { profile }),
      auth: options.auth,
      authHeader: options.authHeader,
      allowHeaderAuthBeyondLoopback: allowHeaderAuth === true,
      ...(options.kmeId === undefined ? {} : { kmeIds: options.kmeId }),
      ...(saes === undefined ? {} : { saes }),
      ...(options.db === undefined ? {} : { db: options.db }),
      ...(setup === undefined ? {} : { setup }),
      bugs,
      clock: options.clock,
      ...(options.syncLatency === undefined ? {} : { syncLatencyMs: parseInteger('--sync-latency', options.syncLatency) }),
      ...(options.maxWaitingKeys === undefined ? {} : { maxWaitingKeys: parseInteger('--max-waiting-keys', options.maxWaitingKeys) || null }),
      ...(options.poolCapacity === undefined ? {} : { poolCapacity: parseInteger('--pool-capacity', options.poolCapacity, 1) }),
      ...(options.keySize === undefined ? {} : { keySizeBits: parseKeySize(options.keySize) }),
      ...(options.maxKeysPerRequest === undefined ? {} : { maxKeysPerRequest: parseInteger('--max-keys-per-request', options.maxKeysPerRequest, 1) }),
      ...(retry === undefined ? {} : { retry }),
      ...(options.retryGrace === undefined ? {} : { retryGraceMs: parseInteger('--retry-grace', options.retryGrace) }),
      ...(options.certDir === undefined ? {} : { certDir: options.certDir }),
      ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
      logger,
    });
  } catch (error) {
    if (error instanceof ServerStartError) throw new UsageError(error.message);
    throw error;
  }
  // With --judge-clients the clients go through the recording proxies; the KMEs behind them are `upstream`.
  let proxy;
  try {
    proxy = judgeClients ? await startClientProxy(server, options.authHeader, options.host) : undefined;
  } catch (error) {
    await server.close();
    throw error;
  }
  const ready: ReadyInfo & { upstream?: ReadyInfo['kmes']; ledger?: string } = {
    kmes: proxy?.kmes ?? server.kmes,
    ...(proxy === undefined ? {} : { upstream: server.kmes, ledger: proxy.ledger }),
    saes: server.saes,
    seed: server.seed,
    profile: server.profile,
    ...(server.retryGraceMs === undefined ? {} : { retry: 'idempotent' as const, retryGraceMs: server.retryGraceMs }),
    auth: server.auth,
    admin: server.admin,
    health: server.health,
    ...(server.adminToken === undefined ? {} : { adminToken: server.adminToken }),
    ...(server.db === undefined ? {} : { db: server.db }),
    ...(server.certs === undefined ? {} : { certs: server.certs }),
    pid: process.pid,
  };
  // The handlers are in place before anyone can know the server is up: a supervisor that stops it the
  // moment the ready line arrives gets a clean shutdown, not a process killed by the signal.
  const stopped = new Promise<void>((resolve) => {
    let unwatch = (): void => undefined;
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      unwatch();
      // Both at once: a proxied request waiting on a KME ends with the KME, not after it.
      void Promise.all([proxy?.close(), server.close()]).then(() => resolve());
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    if (exitWithParent) {
      unwatch = watchParent(parentPid, (reason) => {
        logger.warn({ reason }, 'parent.gone');
        stop();
      });
    }
  });
  if (options.writeTarget !== undefined) await writeTargetFile(options.writeTarget, ready, options.authHeader);
  if (options.readyFile !== undefined) await writeWhole(options.readyFile, `${JSON.stringify(ready)}\n`);
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  await stopped;
  if (options.readyFile !== undefined) await rm(options.readyFile, { force: true });
  return 0;
}

/** The recording proxies of --judge-clients: the mock's reset and invariants behind the ledger's. */
async function startClientProxy(server: RunningServer, identityHeader: string, host: string) {
  const { startRecordingProxy } = await import('../testing/recordingProxy.js');
  return startRecordingProxy({
    targets: server.kmes,
    identityHeader,
    host,
    onReset: (seed) => server.reset(seed),
    kmeViolations: () => {
      server.host.tick();
      const { live, audit } = server.host.violations();
      return [...live, ...audit];
    },
  });
}

/**
 * Calls `gone` once when the process that started serve is gone, and returns what stops the watch.
 * Signs: serve is re-parented (its parent PID, polled every second, is no longer the one it started
 * under: an orphan's parent is init or a subreaper), or stdin, when it is a pipe or a socket, ends (its
 * writer, the parent, closed it, most often by exiting). stdin that is /dev/null, a file or a terminal
 * ends at once or never, so it says nothing and only the parent PID counts. What arrives on stdin is read
 * and discarded.
 */
function watchParent(parentPid: number, gone: (reason: string) => void): () => void {
  let watching = true;
  const stdin = stdinIsPipe() ? process.stdin : null;
  const unwatch = (): void => {
    if (!watching) return;
    watching = false;
    clearInterval(timer);
    if (stdin !== null) {
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      // Nobody reads it any more; a pipe still open must not keep the process alive.
      stdin.on('error', () => undefined);
      stdin.pause();
    }
  };
  const fire = (reason: string): void => {
    if (!watching) return;
    unwatch();
    gone(reason);
  };
  const onEnd = (): void => fire('stdin closed');
  const timer = setInterval(() => {
    if (process.ppid !== parentPid) fire(`parent process ${parentPid} is gone`);
  }, PARENT_POLL_MS);
  timer.unref();
  if (stdin !== null) {
    stdin.on('end', onEnd);
    stdin.on('error', onEnd);
    stdin.resume();
  }
  return unwatch;
}

/** Written beside its place and renamed over it: a reader polling for the file never sees half of it. */
async function writeWhole(file: string, text: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  await writeFile(temp, text);
  await rename(temp, file);
}

function stdinIsPipe(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

function parseKeySize(value: string): number {
  const bits = parseInteger('--key-size', value, 8);
  if (bits % 8 !== 0) throw new UsageError(`--key-size must be a multiple of 8 bits, got "${value}"`);
  return bits;
}
