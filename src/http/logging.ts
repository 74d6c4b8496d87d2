// The mock KME's log: pino, JSON lines on stderr or appended to a file (stdout carries only the ready line).
// What is logged where is in docs/decisions/0011-logging-with-pino.md. Writing a line never waits: a pipe
// nobody reads costs lines, never answers. The secrecy rule: key material is never handed to the logger.
// Requests are logged from method, path, status and caller, never from bodies, and commands from the
// model's DeliveredKey (ID, size, pool), which holds no bytes. The redact paths are a second line of
// defence, for a field nobody meant to log.
import { constants, fstatSync, openSync, writeSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { describeCommand } from '../model/describeCommand.js';
import { describePoolState } from '../model/lifecycles.js';
import { availableKeys, type World } from '../model/world.js';
import { identifyCaller, type AuthMode } from './identity.js';
import type { KmeHostOptions } from './kmeHost.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** Where key material or credentials would sit if a value carrying them ever reached the logger. */
export const REDACTED_PATHS: readonly string[] = [
  'key',
  'keys[*].key',
  '*.key',
  '*.keys[*].key',
  'body',
  '*.body',
  'adminToken',
  'token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
];

/** A logger writing JSON lines to `destination` (default: stderr, through a destination that never waits). */
export function createLogger(level: LogLevel, destination: NodeJS.WritableStream | pino.DestinationStream = createStderrDestination()): Logger {
  return pino(
    {
      name: 'kmesim',
      level,
      base: { pid: process.pid },
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}

export interface LogDestination extends pino.DestinationStream {
  /** Lines lost to a full pipe so far. */
  readonly dropped: () => number;
}

/**
 * Whole lines to a file descriptor, each written at once or not at all: on a pipe or socket that is full
 * (non-blocking, so the write fails with EAGAIN instead of waiting) the line is dropped and counted, and
 * the next line that fits is preceded by a `log.dropped` line saying how many were lost. A line the pipe
 * took only part of is finished before anything else is written, so lines are never torn. A closed
 * reader (EPIPE) or a descriptor that fails otherwise ends the log; serving goes on. Nothing is ever
 * queued, so nothing holds the process at exit, and a line that was written survives a SIGKILL.
 */
export function createFdDestination(fd: number): LogDestination {
  let tail: Buffer | null = null;
  let unreported = 0;
  let lost = 0;
  let broken = false;
  const lose = (): void => {
    unreported += 1;
    lost += 1;
  };
  /** 'all' written, 'part' (the rest kept in `tail`), or 'none'. */
  const send = (bytes: Buffer): 'all' | 'part' | 'none' => {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(fd, bytes, offset);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') broken = true;
        if (offset === 0 || broken) return 'none';
        tail = bytes.subarray(offset);
        return 'part';
      }
    }
    return 'all';
  };
  const finishTail = (): boolean => {
    const rest = tail as Buffer;
    tail = null;
    const sent = send(rest);
    if (sent === 'none' && !broken) tail = rest;
    return sent === 'all';
  };
  const droppedLine = (count: number): Buffer =>
    Buffer.from(`${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, name: 'kmesim', dropped: count, msg: 'log.dropped' })}\n`);
  return {
    dropped: () => lost,
    write(line: string): void {
      if (broken) return;
      if (tail !== null && !finishTail()) {
        lose();
        return;
      }
      if (unreported > 0) {
        const sent = send(droppedLine(unreported));
        if (sent !== 'all') {
          // Not a byte of the count went, or only part of it: this line is lost too, and counted.
          if (sent === 'part') unreported = 0;
          lose();
          return;
        }
        unreported = 0;
      }
      if (send(Buffer.from(line)) === 'none') lose();
    },
  };
}

/**
 * stderr as a log destination. When it is a pipe or a socket, opening `process.stderr` makes libuv put
 * the descriptor in non-blocking mode, so a parent that never reads it costs lines, not the server.
 */
export function createStderrDestination(): LogDestination {
  let stream = false;
  try {
    const stat = fstatSync(2);
    stream = stat.isFIFO() || stat.isSocket();
  } catch {
    // No stderr at all: the destination finds out on its first line and stops.
  }
  // The listener also keeps a closed reader (EPIPE) of anything else written to stderr from becoming an
  // uncaught error.
  if (stream) process.stderr.on('error', () => undefined);
  return createFdDestination(2);
}

/**
 * Opens `path` to append the log to (created when missing). Never waits to open: a FIFO without a reader
 * is an error (ENXIO), not a hang. Throws an Error saying why the file cannot be used.
 */
export function openLogFile(path: string): LogDestination {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK, 0o644);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = code === 'ENXIO' ? 'a FIFO with no reader' : message.replace(/^[A-Z]+: /, '').replace(/, open .*$/, '');
    throw new Error(`cannot open ${path}: ${reason}`, { cause: error });
  }
  return createFdDestination(fd);
}

/** For in-process use (createApp, startServer, startMockKme without a logger): nothing is written. */
export const SILENT_LOGGER: Logger = pino({ level: 'silent' });

// Longer caller IDs are cut: a header value is whatever a client sent.
const CALLER_LENGTH_MAX = 128;

const LOGGED = Symbol('kmesim.requestLogged');

/**
 * One line per request once it is answered (or the client went away): method, path (without the query),
 * status, duration in ms, calling SAE and KME. Its level follows the outcome: info for answers; warn, with
 * the Error message, for refused API requests (4xx under /api/, any 401) and for 503, the ETSI answer of a
 * KME that cannot serve now (no keys, remote down, restarting); error for every other 5xx. The server calls
 * it before either of its paths (the ETSI fast path or Express) takes the request; the Express middleware
 * below covers an app used on its own.
 */
export function logRequestLine(logger: Logger, auth: AuthMode, req: IncomingMessage, res: ServerResponse): void {
  // The lowest level a request line can have: above it, no listener and no clock read.
  if (!logger.isLevelEnabled('error')) return;
  (req as IncomingMessage & { [LOGGED]?: true })[LOGGED] = true;
  const started = performance.now();
  res.once('close', () => {
    const status = res.statusCode;
    const path = ((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '').split('?', 1)[0] as string;
    const level = status >= 500 && status !== 503 ? 'error' : status === 503 || (status >= 400 && (status === 401 || path.startsWith('/api/'))) ? 'warn' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    const caller = identifyCaller(req, auth);
    const message = errorMessageOf(res);
    logger[level](
      {
        method: req.method,
        path,
        status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        ...(caller === null ? {} : { sae: caller.length > CALLER_LENGTH_MAX ? `${caller.slice(0, CALLER_LENGTH_MAX)}…` : caller }),
        ...(res.writableFinished ? {} : { aborted: true }),
        ...(message === undefined ? {} : { error: message }),
      },
      'request',
    );
  });
}

/**
 * The request line as Express middleware, for an app that is not behind the server's listener. Typed with
 * Node's own request and response, so that the published types need no Express types.
 */
export function createRequestLogger(logger: Logger, auth: AuthMode): (req: IncomingMessage, res: ServerResponse, next: () => void) => void {
  return (req, res, next) => {
    if ((req as IncomingMessage & { [LOGGED]?: true })[LOGGED] !== true) logRequestLine(logger, auth, req, res);
    next();
  };
}

const ERROR_MESSAGE = 'kmesimErrorMessage';

/**
 * Remembers the Error body's message of an answer, for its request line: in Express's `res.locals`, which
 * the fast path, answering without Express, creates itself.
 */
export function noteErrorMessage(res: ServerResponse, message: string): void {
  const withLocals = res as ServerResponse & { locals?: Record<string, unknown> };
  withLocals.locals ??= Object.create(null) as Record<string, unknown>;
  withLocals.locals[ERROR_MESSAGE] = message;
}

/** The same for an answer built elsewhere: an error status with an ETSI Error body notes its message. */
export function noteErrorAnswer(res: ServerResponse, status: number, body: unknown): void {
  if (status < 400 || body === null || typeof body !== 'object') return;
  const message = (body as { message?: unknown }).message;
  if (typeof message === 'string') noteErrorMessage(res, message);
}

function errorMessageOf(res: ServerResponse): string | undefined {
  const message = (res as ServerResponse & { locals?: Record<string, unknown> }).locals?.[ERROR_MESSAGE];
  return typeof message === 'string' ? message : undefined;
}

export type StepObserver = NonNullable<KmeHostOptions['onStep']>;

/**
 * debug: each command and its outcome (key IDs and sizes, counts, the levels of the pools it touched, sync
 * and level effects); trace: also the pools' full counts, and clock ticks that changed nothing.
 */
export function createStepLogger(logger: Logger): StepObserver {
  return (command, outcome, nowMs, world) => {
    if (!logger.isLevelEnabled('debug')) return;
    const verbose = logger.isLevelEnabled('trace');
    if (command.type === 'clock.tick' && outcome.effects.length === 0) {
      if (verbose) logger.trace({ t: nowMs }, command.type);
      return;
    }
    const { result } = outcome;
    const poolIds = new Set<string>();
    if ('poolId' in command) poolIds.add(command.poolId);
    for (const effect of outcome.effects) poolIds.add(effect.poolId);
    const fields: Record<string, unknown> = { t: nowMs, ...describeCommand(command) };
    if (!result.ok) {
      fields['error'] = result.error.kind;
    } else if (result.kind === 'keys') {
      // The delivered keys as the model knows them: IDs and sizes. Their bytes are derived only where the
      // answer is written, and never here.
      fields['keyIds'] = result.keys.map((delivered) => delivered.keyId);
      fields['sizesBits'] = [...new Set(result.keys.map((delivered) => delivered.sizeBits))];
      fields['count'] = result.keys.length;
      for (const delivered of result.keys) poolIds.add(delivered.poolId);
    } else if (result.kind === 'status') {
      fields['stored'] = result.status.stored_key_count;
    } else {
      fields['changed'] = result.changed;
    }
    if (poolIds.size > 0) fields['pools'] = [...poolIds].map((id) => describePool(world, id, verbose)).filter((pool) => pool !== null);
    if (outcome.effects.length > 0) fields['effects'] = outcome.effects;
    logger.debug(fields, command.type);
  };
}

function describePool(world: World, id: string, verbose: boolean): Record<string, unknown> | null {
  const pool = world.pools.get(id);
  if (pool === undefined) return null;
  const { level, sync, remote } = describePoolState(pool.state);
  const summary = { id, stored: availableKeys(pool), level, sync, remote };
  if (!verbose) return summary;
  return { ...summary, reserved: pool.reserved, consumed: pool.consumed, expired: pool.expired, discarded: pool.discarded, generated: pool.generated, capacity: pool.capacity };
}
