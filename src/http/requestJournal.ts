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
  /** The answer's status; null when the client went away before any answer was sent. */
  readonly status: number | null;
  /** Key IDs in the answer (enc_keys, dec_keys), or asked for by a refused dec_keys: at most 64. */
  readonly keyIds: readonly string[];
  /** How many key IDs there were in all, when more than the 64 kept. */
  readonly keyIdCount?: number;
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

// An entry keeps a bounded share of what a client sent: a few key IDs and a path of bounded length.
const KEY_IDS_KEPT = 64;
const TEXT_KEPT = 256;

type Entry = { -readonly [K in keyof RequestRecord]: RequestRecord[K] };

// Key IDs noted before the request's entry exists, and entries whose request may still note them (a handler
// can finish after its client went away: what it delivered then belongs in the entry too).
const noted = new WeakMap<IncomingMessage, { readonly ids: readonly string[]; readonly count: number }>();
const entryOf = new WeakMap<IncomingMessage, Entry>();

function setKeyIds(entry: Entry, ids: readonly string[], count: number): void {
  entry.keyIds = ids.slice(0, KEY_IDS_KEPT).map((id) => cut(id));
  if (count > KEY_IDS_KEPT) entry.keyIdCount = count;
}

/** The key IDs of a request's answer (or of a refused dec_keys), for its journal entry. */
export function noteKeyIds(req: IncomingMessage, keyIds: readonly string[]): void {
  const entry = entryOf.get(req);
  if (entry === undefined) noted.set(req, { ids: keyIds.slice(0, KEY_IDS_KEPT), count: keyIds.length });
  else setKeyIds(entry, keyIds, keyIds.length);
}

function cut(text: string): string {
  return text.length > TEXT_KEPT ? `${text.slice(0, TEXT_KEPT)}…` : text;
}

// Matched as the router matches (case-insensitively), on the path of an origin- or absolute-form target.
const ETSI_PATH = /^\/api\/v1\/(?:keys|user-keys)\/([^/]+)\/(status|enc_keys|dec_keys)\/?$/i;

function pathOf(target: string): string {
  try {
    return new URL(target, 'http://kmesim.invalid').pathname;
  } catch {
    return target.split('?', 1)[0] as string;
  }
}

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
      const path = pathOf(req.url ?? '');
      if (!path.toLowerCase().startsWith('/api/')) return;
      res.once('close', () => {
        const match = ETSI_PATH.exec(path);
        const caller = identifyCaller(req, auth);
        seq += 1;
        const entry: Entry = {
          seq,
          atMs: now(),
          kme: kmeId,
          method: req.method ?? '',
          route: match === null ? 'other' : ((match[2] as string).toLowerCase() as EtsiRoute),
          path: cut(path),
          sae: caller === null ? null : cut(caller),
          peer: match === null ? null : cut(decode(match[1] as string)),
          status: res.headersSent ? res.statusCode : null,
          keyIds: [],
        };
        const early = noted.get(req);
        if (early !== undefined) setKeyIds(entry, early.ids, early.count);
        entryOf.set(req, entry);
        entries.push(entry);
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
      dropped = 0;
    },
  };
}
