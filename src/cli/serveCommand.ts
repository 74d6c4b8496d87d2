// `kmesim serve`: the mock KME. Exactly one JSON line on stdout once every port listens (the ready
// line); the log (JSON lines, --log-level) and diagnostics go to stderr; SIGTERM and SIGINT shut it down cleanly.
import { parseBugNames } from '../model/bugs.js';
import { PROFILES } from '../model/profiles.js';
import { startServer, ServerStartError, type ReadyInfo } from '../http/startServer.js';
import { writeTargetFile } from '../http/targetFile.js';
import { isLogLevel, LOG_LEVELS } from '../http/logging.js';
import { parseInteger, UsageError } from './usageError.js';

export interface ServeCommandOptions {
  readonly port: string;
  readonly host: string;
  readonly seed?: string;
  readonly kmes?: string;
  readonly profile?: string;
  readonly auth: string;
  readonly authHeader: string;
  readonly allowHeaderAuth?: boolean;
  readonly db?: string;
  readonly scenario?: string;
  readonly bug?: readonly string[];
  readonly writeTarget?: string;
  readonly clock: string;
  readonly syncLatency?: string;
  readonly certDir?: string;
  readonly adminToken?: string;
  readonly logLevel: string;
}

export async function serveCommand(options: ServeCommandOptions): Promise<number> {
  // Not given: the scenario's topology, or one KME.
  const kmes = options.kmes === undefined ? undefined : options.kmes === '1' ? 1 : options.kmes === '2' ? 2 : null;
  if (kmes === null) throw new UsageError(`--kmes must be 1 or 2, got "${options.kmes}"`);
  if (options.auth !== 'header' && options.auth !== 'mtls') throw new UsageError(`--auth must be header or mtls, got "${options.auth}"`);
  if (options.clock !== 'real' && options.clock !== 'manual') throw new UsageError(`--clock must be real or manual, got "${options.clock}"`);
  if (!isLogLevel(options.logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${options.logLevel}"`);
  const logLevel = options.logLevel;
  if (options.profile !== undefined && !PROFILES.has(options.profile)) throw new UsageError(`unknown profile "${options.profile}" (known: ${[...PROFILES.keys()].join(', ')})`);
  let bugs;
  try {
    bugs = [...parseBugNames(options.bug ?? [])];
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const port = parseInteger('--port', options.port);
  const ports = kmes ?? 1;
  if (port + ports - 1 > 65_535) throw new UsageError(`--port must be at most ${65_536 - ports}, got ${port}`);
  // The simulator's scenario modules (YAML, faker users) load only for a server that plays a scenario.
  const setup = options.scenario === undefined ? undefined : (await import('../sim/scenarioSetup.js')).createScenarioSetup(options.scenario);
  let server;
  try {
    server = await startServer({
      ...(kmes === undefined ? {} : { kmes }),
      host: options.host,
      port,
      ...(options.seed === undefined ? {} : { seed: parseInteger('--seed', options.seed) }),
      ...(options.profile === undefined ? {} : { profile: options.profile }),
      auth: options.auth,
      authHeader: options.authHeader,
      allowHeaderAuthBeyondLoopback: options.allowHeaderAuth === true,
      ...(options.db === undefined ? {} : { db: options.db }),
      ...(setup === undefined ? {} : { setup }),
      bugs,
      clock: options.clock,
      ...(options.syncLatency === undefined ? {} : { syncLatencyMs: parseInteger('--sync-latency', options.syncLatency) }),
      ...(options.certDir === undefined ? {} : { certDir: options.certDir }),
      ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
      logLevel,
    });
  } catch (error) {
    if (error instanceof ServerStartError) throw new UsageError(error.message);
    throw error;
  }
  const ready: ReadyInfo = {
    kmes: server.kmes,
    saes: server.saes,
    seed: server.seed,
    profile: server.profile,
    auth: server.auth,
    admin: server.admin,
    ...(server.adminToken === undefined ? {} : { adminToken: server.adminToken }),
    ...(server.db === undefined ? {} : { db: server.db }),
    ...(server.certs === undefined ? {} : { certs: server.certs }),
  };
  // The handlers are in place before anyone can know the server is up: a supervisor that stops it the
  // moment the ready line arrives gets a clean shutdown, not a process killed by the signal.
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void server.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  if (options.writeTarget !== undefined) await writeTargetFile(options.writeTarget, ready, options.authHeader);
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  await stopped;
  return 0;
}
