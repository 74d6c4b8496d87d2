// The library entry point for other projects' tests: a running mock KME with a typed client of its admin
// API (the same operations other languages reach over HTTP, listed at GET /_kmesim), and a way to stop it.
import type { z } from 'zod';
import type { faultSchema } from '../engine/faults.js';
import { isProfileName, isRetryMode, PROFILE_NAMES, RETRY_MODES } from '../model/profiles.js';
import type { InvariantId, Violation } from '../model/violation.js';
import type { RequestQuery, RequestRecord } from './requestJournal.js';
import { startServer, type RunningServer, type ServerOptions } from './startServer.js';

/**
 * A fault as the admin API takes it, times from now (`"10s"` or ms): `{ type: 'fail-next', count: 1,
 * status: 503, route: 'dec_keys' }`, `{ type: 'latency', ms: 15_000, sae: 'SAE_A1', to: '1m' }`,
 * `{ type: 'remote-offline', to: '5m' }`, `{ type: 'link-down', link: 'KME_A~KME_B' }`,
 * `{ type: 'kme-restart', kme: 'KME_B', downtime: '30s' }`.
 */
export type FaultInput = z.input<typeof faultSchema>;

export interface PlannedFault {
  readonly fault: Readonly<Record<string, unknown>>;
  readonly edges: ReadonlyArray<{ readonly edge: 'start' | 'end'; readonly atMs: number }>;
  readonly state: 'planned' | 'in force' | 'played';
}

export interface InvariantVerdict {
  readonly holds: boolean;
  readonly invariants: ReadonlyArray<{ readonly id: InvariantId; readonly name: string; readonly violations: number }>;
  readonly violations: readonly Violation[];
}

export interface MockKme {
  readonly kmes: RunningServer['kmes'];
  readonly saes: RunningServer['saes'];
  readonly admin: string;
  readonly seed: number;
  readonly certs: RunningServer['certs'];
  /** Moves the host clock on (with `clock: 'manual'`, the only way it moves); resolves to the new time. */
  advance(ms: number): Promise<number>;
  /** Plays a fault, or a list of them taken whole or not at all. */
  fault(fault: FaultInput | readonly FaultInput[]): Promise<void>;
  /** The faults planned, in force and played, on the host clock. */
  faults(): Promise<readonly PlannedFault[]>;
  /** Ends every fault now and drops planned ones. */
  clearFaults(): Promise<void>;
  /** A fresh world, at the seed it runs with unless one is given; resolves to the seed. */
  reset(seed?: number): Promise<number>;
  /** The live verdict of the invariants over everything served. */
  invariants(): Promise<InvariantVerdict>;
  /** The ETSI requests answered, oldest first, filtered by caller, route, KME or seq; key IDs, never bytes. */
  requests(query?: RequestQuery): Promise<readonly RequestRecord[]>;
  clearRequests(): Promise<void>;
  close(): Promise<void>;
}

/** An admin call that did not answer 200: the status and the Error body's message. */
export class MockKmeAdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'MockKmeAdminError';
  }
}

/** Starts a mock KME on 127.0.0.1 at free ports (defaults: one KME, header identity, strict profile). */
export async function startMockKme(options: ServerOptions = {}): Promise<MockKme> {
  return mockKmeOf(await startMockServer(options));
}

/** The server under a mock KME, its options checked as startMockKme checks them (for in-process kits). */
export async function startMockServer(options: ServerOptions = {}): Promise<RunningServer> {
  // The type says 1 or 2; a caller from JavaScript (or through a cast) may say anything.
  const kmes: unknown = options.kmes;
  if (kmes !== undefined && kmes !== 1 && kmes !== 2) throw new RangeError(`startMockKme: kmes must be 1 or 2, got ${typeof kmes === 'string' ? JSON.stringify(kmes) : String(kmes)}`);
  const profile: unknown = options.profile;
  if (profile !== undefined && (typeof profile !== 'string' || !isProfileName(profile))) {
    throw new RangeError(`startMockKme: profile must be one of ${PROFILE_NAMES.join(', ')}, got ${JSON.stringify(profile)}`);
  }
  const retry: unknown = options.retry;
  if (retry !== undefined && (typeof retry !== 'string' || !isRetryMode(retry))) {
    throw new RangeError(`startMockKme: retry must be one of ${RETRY_MODES.join(', ')}, got ${JSON.stringify(retry)}`);
  }
  const grace: unknown = options.retryGraceMs;
  if (grace !== undefined && (typeof grace !== 'number' || !Number.isSafeInteger(grace) || grace < 0)) {
    throw new RangeError(`startMockKme: retryGraceMs must be a non-negative integer, got ${JSON.stringify(grace)}`);
  }
  if (grace !== undefined && retry !== 'idempotent') throw new RangeError("startMockKme: retryGraceMs needs retry: 'idempotent' (a burnt delivery has no grace)");
  return startServer({ port: 0, ...options });
}

/** The typed client of a running mock's admin API. */
export function mockKmeOf(server: RunningServer): MockKme {
  const admin = adminClient(server.admin, server.adminToken);
  return {
    kmes: server.kmes,
    saes: server.saes,
    admin: server.admin,
    seed: server.seed,
    certs: server.certs,
    advance: async (ms) => (await admin<{ nowMs: number }>('POST', '/clock/advance', { ms })).nowMs,
    fault: async (fault) => {
      await admin('POST', '/faults', fault);
    },
    faults: async () => (await admin<{ faults: PlannedFault[] }>('GET', '/faults')).faults,
    clearFaults: async () => {
      await admin('DELETE', '/faults');
    },
    reset: async (seed) => (await admin<{ seed: number }>('POST', '/reset', seed === undefined ? {} : { seed })).seed,
    invariants: () => admin<InvariantVerdict>('GET', '/invariants'),
    requests: async (query = {}) => {
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value));
      const text = search.toString();
      return (await admin<{ requests: RequestRecord[] }>('GET', `/requests${text === '' ? '' : `?${text}`}`)).requests;
    },
    clearRequests: async () => {
      await admin('DELETE', '/requests');
    },
    close: () => server.close(),
  };
}

function adminClient(base: string, token: string | undefined): <T>(method: string, path: string, body?: unknown) => Promise<T> {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const answer = (await response.json()) as unknown;
    if (response.status !== 200) {
      const message = (answer as { message?: unknown }).message;
      const details = (answer as { details?: unknown }).details;
      throw new MockKmeAdminError(response.status, `kmesim admin ${method} ${path}: ${response.status} ${typeof message === 'string' ? message : ''}${details === undefined ? '' : ` ${JSON.stringify(details)}`}`);
    }
    return answer as T;
  };
}

/**
 * Throws (so a test fails, in vitest or any runner) when the mock has seen an invariant broken, with each
 * violation's ID, message and evidence; resolves quietly otherwise.
 */
export async function expectInvariantsHold(kme: Pick<MockKme, 'invariants'>): Promise<void> {
  const verdict = await kme.invariants();
  if (verdict.holds) return;
  const lines = verdict.violations.map((v) => `  ${v.invariant}: ${v.message} ${JSON.stringify(v.evidence)}`);
  throw new Error(`kmesim: ${verdict.violations.length} invariant violation${verdict.violations.length === 1 ? '' : 's'}\n${lines.join('\n')}`);
}
