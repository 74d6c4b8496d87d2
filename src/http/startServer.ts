// Starts the mock KME: one host (one world), one Express app and port per KME, header or mTLS identity,
// memory or a SQLite journal. The only place that binds a port.
import { randomBytes, randomInt } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BugName } from '../model/bugs.js';
import type { KmeCommand } from '../model/kmeCore.js';
import { resolveTopology, type SaeSpec, type ServerSetup, type SetupResolver } from '../engine/serverSetup.js';
import { isReservedSaeId, resolveProfile, type ProfileName, type RetryMode } from '../model/profiles.js';
import { createWorld, linkIdsOf, type World } from '../model/world.js';
import { faultProblem } from '../engine/faults.js';
import { createRequestJournal } from './requestJournal.js';
import { ensureCertificates, type CertificatePaths } from './certificates.js';
import { createRequestListener } from './createApp.js';
import { createHostClock } from './hostClock.js';
import { isLoopback, type AuthMode } from './identity.js';
import { createKmeHost, type CommandJournal, type KmeHost } from './kmeHost.js';
import { createLogger, createStepLogger, SILENT_LOGGER, type Logger, type LogLevel } from './logging.js';
import { listenHealth } from './healthServer.js';
import { answerProtocolErrorsAsJson } from './protocolErrors.js';
import { withServerTuning } from './serverTuning.js';
import type { WorldStore } from './worldStore.js';

export interface ServerOptions {
  readonly kmes?: 1 | 2;
  /** The KMEs' IDs, one or two (default KME_A, KME_B); not with a setup, which names its own. */
  readonly kmeIds?: readonly string[];
  /** The SAEs and the KME ID each is attached to (default: SAE_A1, SAE_A2 on the first KME, SAE_B1, SAE_B2 on the second). */
  readonly saes?: ReadonlyArray<{ readonly id: string; readonly kme: string }>;
  readonly host?: string;
  /** Port of the first KME (0: any free port); the second KME takes the next one, or any when 0. */
  readonly port?: number;
  /** The run's seed; chosen at random (and reported) when absent. */
  readonly seed?: number;
  readonly profile?: ProfileName;
  readonly auth?: 'header' | 'mtls';
  readonly authHeader?: string;
  /** Header mode beyond loopback lets anyone claim any SAE ID: it needs this to be said explicitly. */
  readonly allowHeaderAuthBeyondLoopback?: boolean;
  readonly db?: string;
  /**
   * What to play (profile, KMEs, SAEs, faults): a setup, or a resolver asked once the seed is settled
   * (a scenario's users are drawn from it). Without one: `kmes` KMEs with two SAEs each, no faults.
   */
  readonly setup?: ServerSetup | SetupResolver;
  readonly bugs?: readonly BugName[];
  readonly clock?: 'real' | 'manual';
  readonly syncLatencyMs?: number;
  /**
   * Delivered keys that may wait for their slave per pool before enc_keys is refused with 503 (default: the
   * pool's capacity, the max_key_count status reports; null: no bound).
   */
  readonly maxWaitingKeys?: number | null;
  /**
   * What a repeated dec_keys gets after a lost answer: `burn` (the profile's default: refused, the keys are
   * gone) or `idempotent` (the same keys again, within `retryGraceMs`, default 30 000).
   */
  readonly retry?: RetryMode;
  readonly retryGraceMs?: number;
  /**
   * A small world for property tests, over the profile's own values: keys per pool (exhaustion in a few
   * requests), the key size in bits (a multiple of 8; the profile's size range widens to take it), and the
   * most keys one enc_keys may ask for.
   */
  readonly poolCapacity?: number;
  readonly keySizeBits?: number;
  readonly maxKeysPerRequest?: number;
  /** Where mTLS certificates are made and kept (default .kmesim/certs). */
  readonly certDir?: string;
  /** Token for the admin API beyond loopback (default: a random one, reported in the ready line). */
  readonly adminToken?: string;
  /** Log to stderr as JSON lines from this level on (default: silent). */
  readonly logLevel?: LogLevel;
  /** Log here instead (takes precedence over logLevel). */
  readonly logger?: Logger;
}

export interface ReadyInfo {
  readonly kmes: ReadonlyArray<{ readonly id: string; readonly url: string }>;
  readonly saes: ReadonlyArray<{ readonly id: string; readonly kme: string }>;
  readonly seed: number;
  readonly profile: string;
  /** Present under `retry: idempotent`, with how long a slave's repeated dec_keys gets the same keys again. */
  readonly retry?: 'idempotent';
  readonly retryGraceMs?: number;
  readonly auth: 'header' | 'mtls';
  readonly admin: string;
  /** A GET here answers 200 while the server serves, with no identity in any auth mode (under mTLS, a plain-HTTP listener). */
  readonly health: string;
  readonly adminToken?: string;
  readonly db?: string;
  /** The serving process (in `kmesim serve`'s ready line: the PID to signal to stop it). */
  readonly pid?: number;
  readonly certs?: {
    readonly ca: string;
    readonly saes: Readonly<Record<string, { readonly cert: string; readonly key: string }>>;
  };
}

export interface RunningServer extends ReadyInfo {
  readonly host: KmeHost;
  /** A fresh world at this seed (default: the one it runs with), as `POST {admin}/reset` makes it; returns the seed. */
  reset(seed?: number): number;
  close(): Promise<void>;
}

export class ServerStartError extends Error {}

/** --db without better-sqlite3 installed (an optional peer dependency): say what to install. */
function describeMissingSqlite(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    return '--db needs the optional package better-sqlite3, which is not installed: run `npm install better-sqlite3` beside kmesim (it needs python3, make and a C++ compiler where no prebuilt binary fits), or leave out --db to keep the world in memory';
  }
  return `--db: better-sqlite3 could not be loaded: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
}

function defaultSetup(options: ServerOptions): ServerSetup {
  const profile = resolveProfile(options.profile ?? 'strict');
  // Without SAEs asked for: two on every KME, so a bare `serve` is usable at once.
  let topology;
  try {
    topology = resolveTopology({
      ...(options.kmes === undefined ? {} : { kmes: options.kmes }),
      ...(options.kmeIds === undefined ? {} : { kmeIds: options.kmeIds }),
      ...(options.saes === undefined ? {} : { saes: options.saes }),
    });
  } catch (error) {
    throw new ServerStartError((error as Error).message);
  }
  return { profile, saes: topology.saes, kmeIds: topology.kmeIds, faults: [], bugs: [] };
}

async function resolveSetup(options: ServerOptions, seed: number): Promise<ServerSetup> {
  const { setup } = options;
  if (setup === undefined) return defaultSetup(options);
  if (typeof setup !== 'function') return setup;
  return setup({ seed, ...(options.kmes === undefined ? {} : { kmes: options.kmes }), ...(options.profile === undefined ? {} : { profile: options.profile }) });
}

function registrations(saes: readonly SaeSpec[]): KmeCommand[] {
  return saes.map((sae) => ({
    type: 'sae.register',
    saeId: sae.id,
    kmeId: sae.kmeId,
    ...(sae.name === undefined ? {} : { name: sae.name }),
    ...(sae.email === undefined ? {} : { email: sae.email }),
  }));
}

function listen(server: Server, port: number, host: string): Promise<number> {
  if (port > 65_535) return Promise.reject(new ServerStartError(`port ${port} is out of range (the KMEs take consecutive ports from --port)`));
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new ServerStartError(error.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use` : `cannot listen on ${host}:${port}: ${error.message}`)),
    );
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  if (options.setup !== undefined && typeof options.setup !== 'function' && (options.kmes !== undefined || options.profile !== undefined)) {
    throw new ServerStartError('startServer: a setup names its own KMEs and profile; give kmes and profile to its resolver instead');
  }
  if (options.setup !== undefined && (options.kmeIds !== undefined || options.saes !== undefined)) {
    throw new ServerStartError('KME and SAE IDs come from the scenario when one is played: give them there, or leave out the scenario');
  }
  const logger = options.logger ?? (options.logLevel === undefined ? SILENT_LOGGER : createLogger(options.logLevel));
  const bindHost = options.host ?? '127.0.0.1';
  const auth = options.auth ?? 'header';
  if (auth === 'header' && !isLoopback(bindHost) && options.allowHeaderAuthBeyondLoopback !== true) {
    throw new ServerStartError(`header authentication lets any caller claim any SAE ID: bind to loopback, use --auth mtls, or force it with --allow-header-auth`);
  }
  if (options.retryGraceMs !== undefined && options.retry !== 'idempotent') throw new ServerStartError("retryGraceMs needs retry: 'idempotent' (a burnt delivery has no grace)");
  const bugs = [...(options.bugs ?? [])];
  if (options.db !== undefined && bugs.includes('check-then-act')) {
    throw new ServerStartError('--bug check-then-act cannot be combined with --db: its interleaved reservations cannot be replayed from the journal');
  }
  let store: WorldStore | null = null;
  if (options.db !== undefined) {
    // SQLite loads only for a server that keeps its world in a file; it is an optional peer dependency.
    const { openWorldStore } = await import('./worldStore.js').catch((error: unknown) => {
      throw new ServerStartError(describeMissingSqlite(error));
    });
    try {
      store = openWorldStore(options.db);
    } catch (error) {
      throw new ServerStartError(`--db ${options.db}: ${(error as Error).message}`);
    }
  }
  // A database remembers its seed; otherwise the one place entropy may enter is a seed when none is
  // given (it is printed in the ready line).
  const storedSeed = /^serve:(\d+)$/.exec(store?.storedSeed() ?? '')?.[1];
  const seed = options.seed ?? (storedSeed === undefined ? randomInt(0, 2 ** 31) : Number(storedSeed));
  let setup: ServerSetup;
  try {
    setup = withServerTuning(await resolveSetup(options, seed), options);
  } catch (error) {
    store?.close();
    throw error;
  }
  // A setup's faults must name KMEs and links this server runs (a scenario for two KMEs served with one).
  const linkIds = new Set(linkIdsOf(setup.kmeIds));
  for (const fault of setup.faults) {
    const problem = faultProblem(fault, setup.kmeIds, linkIds);
    if (problem !== null) {
      store?.close();
      throw new ServerStartError(`the scenario's ${fault.type} fault cannot be played here: ${problem}`);
    }
  }
  // The setup's own bug switches (a scenario's) apply too, as they do in the simulator.
  for (const bug of setup.bugs) if (!bugs.includes(bug)) bugs.push(bug);
  if (store !== null && bugs.includes('check-then-act')) {
    store.close();
    throw new ServerStartError('--bug check-then-act cannot be combined with --db: its interleaved reservations cannot be replayed from the journal');
  }
  const reserved = setup.saes.find((sae) => isReservedSaeId(sae.id));
  if (reserved !== undefined) {
    store?.close();
    throw new ServerStartError(`"${reserved.id}" is a reserved name and cannot be an SAE ID (a path segment of the per-user-pool routes, which match in any case)`);
  }
  const worldSeed = `serve:${seed}`;
  const clock = createHostClock(options.clock ?? 'real');
  let world: World;
  let restored = false;
  let replayed = 0;
  const initialWorld = (s: string): World => createWorld({ seed: s, profile: setup.profile, kmeIds: setup.kmeIds, bugs: new Set(bugs) });
  if (store !== null) {
    try {
      const opened = store.open({ seed: worldSeed, profile: setup.profile, kmeIds: setup.kmeIds, bugs });
      world = opened.world;
      restored = opened.restored;
      replayed = opened.replayed;
      // The clock resumes where the journal left off, so time never runs backwards across a restart.
      clock.advance(opened.lastNowMs);
    } catch (error) {
      store?.close();
      throw new ServerStartError(`--db ${options.db}: ${(error as Error).message}`);
    }
  } else {
    world = initialWorld(worldSeed);
  }
  const journal = store === null ? null : journalLogging(store, logger);
  const host = createKmeHost({
    world,
    clock,
    ...(journal === null ? {} : { journal }),
    syncLatencyMs: options.syncLatencyMs ?? setup.syncLatencyMs ?? 1_000,
    kmeIds: setup.kmeIds,
    onStep: createStepLogger(logger),
    onFault: (fault, edge, atMs) => logger.info({ fault, edge, atMs }, 'fault'),
  });
  // After a restart from the journal every KME restarts: syncs that were in flight are asked for again.
  if (restored) for (const kmeId of setup.kmeIds) host.execute({ type: 'kme.restart', kmeId });
  // Configured SAEs the world lacks (a first start cut short, or a new one in the configuration).
  for (const command of registrations(setup.saes.filter((sae) => !host.world.saes.has(sae.id)))) host.execute(command);

  let certs: CertificatePaths | null = null;
  if (auth === 'mtls') {
    try {
      certs = ensureCertificates(options.certDir ?? join('.kmesim', 'certs'), { kmeIds: setup.kmeIds, saeIds: setup.saes.map((sae) => sae.id), hosts: [bindHost] });
    } catch (error) {
      host.close();
      store?.close();
      throw new ServerStartError((error as Error).message);
    }
  }
  const adminToken = options.adminToken ?? randomBytes(16).toString('hex');
  const authMode: AuthMode = auth === 'mtls' ? { kind: 'mtls' } : { kind: 'header', header: options.authHeader ?? 'X-SAE-ID' };
  let currentSeed = seed;
  const reset = (newSeed: number = currentSeed): number => {
    // A fresh world has no faults: those in force end and planned ones (a scenario's too) are dropped.
    host.healFaults();
    // With a database the journal starts over too, or the next start would replay two worlds as one.
    const fresh = store === null ? initialWorld(`serve:${newSeed}`) : store.reset({ seed: `serve:${newSeed}`, profile: setup.profile, kmeIds: setup.kmeIds, bugs });
    host.replaceWorld(fresh);
    for (const command of registrations(setup.saes)) host.execute(command);
    currentSeed = newSeed;
    return newSeed;
  };
  const requests = createRequestJournal();

  const servers: Server[] = [];
  const kmes: Array<{ id: string; url: string }> = [];
  let healthUrl: string | null = null;
  const scheme = auth === 'mtls' ? 'https' : 'http';
  // A wildcard bind listens everywhere; the URL a client on this machine can use is loopback.
  const advertised = bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost === '::' ? '::1' : bindHost;
  const urlHost = advertised.includes(':') ? `[${advertised}]` : advertised;
  try {
    for (const [index, kmeId] of setup.kmeIds.entries()) {
      const app = createRequestListener({ host, kmeId, auth: authMode, admin: { host, token: adminToken, kmeIds: setup.kmeIds, reset, requests }, logger });
      const server: Server =
        certs === null
          ? createHttpServer(app)
          : createHttpsServer(
              {
                key: readFileSync((certs.kmes[kmeId] as { key: string }).key),
                cert: readFileSync((certs.kmes[kmeId] as { cert: string }).cert),
                ca: readFileSync(certs.ca),
                requestCert: true,
                rejectUnauthorized: true,
              },
              app,
            );
      server.keepAliveTimeout = 5_000;
      answerProtocolErrorsAsJson(server);
      servers.push(server);
      const port = await listen(server, options.port === undefined || options.port === 0 ? 0 : options.port + index, bindHost);
      kmes.push({ id: kmeId, url: `${scheme}://${urlHost}:${port}` });
    }
    // Under mTLS the KMEs' own /health needs a certificate: a plain listener answers it for a CI's probe.
    if (auth === 'mtls') {
      const health = await listenHealth(bindHost, urlHost, setup.kmeIds);
      servers.push(health.server);
      healthUrl = health.url;
    }
  } catch (error) {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    host.close();
    store?.close();
    throw error;
  }

  const info: ReadyInfo = {
    kmes,
    saes: setup.saes.map((sae) => ({ id: sae.id, kme: sae.kmeId })),
    seed,
    profile: setup.profile.name,
    ...(setup.profile.retry === 'idempotent' ? { retry: 'idempotent' as const, retryGraceMs: setup.profile.retryGraceMs } : {}),
    auth,
    admin: `${(kmes[0] as { url: string }).url}/_kmesim`,
    health: healthUrl ?? `${(kmes[0] as { url: string }).url}/health`,
    ...(isLoopback(bindHost) ? {} : { adminToken }),
    ...(options.db === undefined ? {} : { db: options.db }),
    ...(certs === null
      ? {}
      : { certs: { ca: certs.ca, saes: Object.fromEntries(Object.entries(certs.saes).map(([id, pair]) => [id, { cert: pair.cert, key: pair.key }])) } }),
  };
  // Logged only once every port listens: a start that fails is one usage-error line on stderr, nothing more.
  if (store !== null) logger.info({ db: options.db, restored, replayed }, 'journal.replayed');
  // What the ready line says, less the admin token and the certificate paths.
  logger.info(
    { kmes, saes: info.saes.length, seed, profile: info.profile, auth, host: bindHost, clock: clock.mode, bugs, ...(options.db === undefined ? {} : { db: options.db }) },
    'kmesim.started',
  );
  // The setup's faults, on the server's clock from its start, played by the host's queue as the simulator plays them.
  for (const fault of setup.faults) host.playFault(fault, 0);
  let closed = false;
  return {
    ...info,
    host,
    reset,
    async close() {
      if (closed) return;
      closed = true;
      logger.info('kmesim.stopping');
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
      host.close();
      store?.close();
      logger.info('kmesim.stopped');
    },
  };
}

/** The store as the host's journal; a write that fails is logged before the host turns it into 503s. */
function journalLogging(store: WorldStore, logger: Logger): CommandJournal {
  return {
    append(command, nowMs, encoded) {
      try {
        store.append(command, nowMs, encoded);
      } catch (error) {
        logger.error({ err: error, command: command.type }, 'journal.write.failed');
        throw error;
      }
    },
  };
}
