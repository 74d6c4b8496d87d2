// The mock's request journal: every ETSI request the KMEs answered, newest last, for a client's test to
// verify what its code sent (WireMock's `verify`). Bounded: past its size the oldest entries go, counted.
// It holds key IDs, never key bytes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ETSI_ROUTE_NAMES, type EtsiRouteName } from '../engine/faults.js';
import { identifyCaller, type AuthMode } from './identity.js';

export const ETSI_ROUTES = ETSI_ROUTE_NAMES;
export type EtsiRoute = EtsiRouteName;

export interface RequestRecord {
  /** 1 for the first request the server answered, and on; kept across resets. */
  readonly seq: number;
  /** The host clock when the answer was sent. */
  readonly atMs: number;
  readonly kme: string;
  readonly method: string;
  /** One of the three ETSI routes, or `other` (a per-user-pool route, an unknown path under /api). */
  readonly route: EtsiRoute | 'other';
  readonly path: string;
  /** The caller as identified (header or certificate), or null. */
  readonly sae: string | null;
  /** The SAE in the path: the slave for status and enc_keys, the master for dec_keys. */
  readonly peer: string | null;
  readonly status: number;
  /** Key IDs in the answer (enc_keys, dec_keys), or asked for by a refused dec_keys. */
  readonly keyIds: readonly string[];
}

export interface RequestQuery {
  readonly sae?: string;
  readonly route?: EtsiRoute | 'other';
  readonly kme?: string;
  /** Only entries after this seq (what a test saw last). */
  readonly since?: number;
}

export interface RequestJournal {
  track(req: IncomingMessage, res: ServerResponse, kmeId: string, auth: AuthMode, now: () => number): void;
  list(query?: RequestQuery): RequestRecord[];
  clear(): void;
  /** Entries dropped to keep the bound. */
  readonly dropped: number;
  readonly limit: number;
}

export const REQUEST_JOURNAL_LIMIT = 10_000;

const noted = new WeakMap<IncomingMessage, readonly string[]>();

/** The key IDs of a request's answer (or of a refused dec_keys), for its journal entry. */
export function noteKeyIds(req: IncomingMessage, keyIds: readonly string[]): void {
  noted.set(req, keyIds);
}

const ETSI_PATH = /^\/api\/v1\/keys\/([^/]+)\/(status|enc_keys|dec_keys)$/;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function createRequestJournal(limit: number = REQUEST_JOURNAL_LIMIT): RequestJournal {
  const entries: RequestRecord[] = [];
  let seq = 0;
  let dropped = 0;
  return {
    limit,
    get dropped() {
      return dropped;
    },
    track(req, res, kmeId, auth, now) {
      const path = (req.url ?? '').split('?', 1)[0] as string;
      if (!path.startsWith('/api/')) return;
      res.once('close', () => {
        const match = ETSI_PATH.exec(path);
        seq += 1;
        entries.push({
          seq,
          atMs: now(),
          kme: kmeId,
          method: req.method ?? '',
          route: match === null ? 'other' : (match[2] as EtsiRoute),
          path,
          sae: identifyCaller(req, auth),
          peer: match === null ? null : decode(match[1] as string),
          status: res.statusCode,
          keyIds: noted.get(req) ?? [],
        });
        if (entries.length > limit) {
          const excess = entries.length - limit;
          entries.splice(0, excess);
          dropped += excess;
        }
      });
    },
    list(query = {}) {
      return entries.filter(
        (entry) =>
          (query.sae === undefined || entry.sae === query.sae) &&
          (query.route === undefined || entry.route === query.route) &&
          (query.kme === undefined || entry.kme === query.kme) &&
          (query.since === undefined || entry.seq > query.since),
      );
    },
    clear() {
      entries.length = 0;
    },
  };
}
