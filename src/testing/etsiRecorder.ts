// Records a client's ETSI GS QKD 014 traffic: a `fetch` to hand to the client under test, which passes every
// request on and keeps, per exchange, what the client-side judge needs (route, caller, peer SAE, status,
// and the key IDs delivered or retrieved). Key bytes are kept in memory only, for the reference OTP's
// judgement (U7), and never reach an exchange, a finding or a message.
import { STRICT_BASE64 } from '../model/otpEnvelope.js';

/** The ETSI routes a client calls, or null for anything else (admin, health). */
export type RecordedRoute = 'status' | 'enc_keys' | 'dec_keys' | null;

export interface RecordedExchange {
  /** 1, 2, … in the order the requests were sent. */
  readonly seq: number;
  readonly method: string;
  /** Origin of the KME that answered: `http://127.0.0.1:40123`. */
  readonly kme: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly route: RecordedRoute;
  /** The caller as the request named it (the identity header), or null. */
  readonly caller: string | null;
  /** The SAE in the path: the slave for status and enc_keys, the master for dec_keys. */
  readonly peer: string | null;
  /** The request body as sent (JSON text), or null; ETSI request bodies carry no key bytes. */
  readonly body: string | null;
  /** The HTTP status, or 0 when the request failed before an answer. */
  readonly status: number;
  /** Key IDs the answer carried, in its order (enc_keys: delivered; dec_keys: retrieved). */
  readonly keyIds: readonly string[];
  /** The message of the Error body a refusal carried (at most 256 characters), or null. */
  readonly message: string | null;
}

export interface EtsiRecorder {
  /** Pass this to the client instead of the global fetch. */
  readonly fetch: typeof fetch;
  /** Every exchange so far, oldest first. */
  exchanges(): readonly RecordedExchange[];
  /** The bytes of a key an answer carried (the first answer that carried it), for the reference OTP. */
  keyBytes(keyId: string): Uint8Array | undefined;
  /** Forgets what was recorded (between the runs of a property). */
  clear(): void;
}

export interface RecorderOptions {
  /** The fetch to pass requests on to (default: the global one). */
  readonly fetch?: typeof fetch;
  /** The header that names the caller (default X-SAE-ID). */
  readonly identityHeader?: string;
}

/** Statuses whose answers have no body (a Response with one would not construct). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

const ROUTE = /\/api\/v1\/(?:keys|user-keys)\/([^/?]+)\/(status|enc_keys|dec_keys)(?:\?|$)/;

export function recordEtsiTraffic(options: RecorderOptions = {}): EtsiRecorder {
  const next = options.fetch ?? globalThis.fetch;
  const identity = (options.identityHeader ?? 'X-SAE-ID').toLowerCase();
  let recorded: RecordedExchange[] = [];
  let bytesOf = new Map<string, Uint8Array>();
  let seq = 0;
  const recordingFetch = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
    // The usual call (a URL and an init with a text body) is read as given; anything else through a Request.
    const simple = (typeof input === 'string' || input instanceof URL) && (init?.body === undefined || init.body === null || typeof init.body === 'string');
    const request = simple ? null : new Request(input, init);
    const url = new URL(request?.url ?? String(input));
    const method = (request?.method ?? init?.method ?? 'GET').toUpperCase();
    const headers = request?.headers ?? new Headers(init?.headers);
    const match = ROUTE.exec(url.pathname);
    const body = method === 'GET' || method === 'HEAD' ? null : request === null ? ((init?.body as string | null | undefined) ?? null) : await request.clone().text();
    const base = {
      seq: ++seq,
      method,
      kme: url.origin,
      path: `${url.pathname}${url.search}`,
      route: (match?.[2] as RecordedRoute | undefined) ?? null,
      caller: headers.get(identity),
      peer: match?.[1] === undefined ? null : decodedSegment(match[1]),
      body: body === '' ? null : body,
    };
    let response: Response;
    try {
      response = await (request === null ? next(input, init) : next(request));
    } catch (error) {
      recorded.push({ ...base, status: 0, keyIds: [], message: null });
      throw error;
    }
    // The answer is read once here and handed on whole: cheaper than a clone, the same bytes for the client.
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      recorded.push({ ...base, status: response.status, keyIds: [], message: null });
      throw error;
    }
    const keys = response.status === 200 && base.route !== null ? keysOf(text) : [];
    for (const key of keys) if (key.bytes !== null && !bytesOf.has(key.id)) bytesOf.set(key.id, key.bytes);
    recorded.push({ ...base, status: response.status, keyIds: keys.map((key) => key.id), message: response.status === 200 ? null : errorMessageOf(text) });
    return new Response(NULL_BODY_STATUSES.has(response.status) ? null : text, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return {
    fetch: recordingFetch as typeof fetch,
    exchanges: () => [...recorded].sort((a, b) => a.seq - b.seq),
    keyBytes: (keyId) => bytesOf.get(keyId),
    clear() {
      recorded = [];
      bytesOf = new Map();
      seq = 0;
    },
  };
}

/** One exchange as a transcript line: `#3 SAE_B1 POST /api/v1/keys/SAE_A1/dec_keys {"key_IDs":[…]} → 200`. */
function describeExchange(exchange: RecordedExchange): string {
  return `#${exchange.seq} ${exchange.caller ?? '-'} ${exchange.method} ${exchange.path}${exchange.body === null ? '' : ` ${exchange.body}`} → ${exchange.status}`;
}

/** Turns seq numbers into transcript lines over these exchanges (indexed once; unknown seq numbers are skipped). */
export function transcriber(exchanges: readonly RecordedExchange[]): (requests: readonly number[]) => string[] {
  const bySeq = new Map(exchanges.map((exchange) => [exchange.seq, exchange]));
  return (requests) =>
    requests.flatMap((seq) => {
      const exchange = bySeq.get(seq);
      return exchange === undefined ? [] : [describeExchange(exchange)];
    });
}

/** The key IDs a request named: a dec_keys body's `key_IDs`, and `key_ID` query parameters. */
export function namedKeyIds(exchange: RecordedExchange): string[] {
  const named: string[] = [];
  const query = exchange.path.indexOf('?');
  if (query >= 0) for (const id of new URLSearchParams(exchange.path.slice(query + 1)).getAll('key_ID')) named.push(id);
  if (exchange.body !== null && exchange.body.includes('key_ID')) {
    try {
      const body = JSON.parse(exchange.body) as { key_IDs?: unknown };
      if (Array.isArray(body.key_IDs)) for (const entry of body.key_IDs) if (typeof (entry as { key_ID?: unknown } | null)?.key_ID === 'string') named.push((entry as { key_ID: string }).key_ID);
    } catch {
      // Not JSON: it names nothing the judge can read.
    }
  }
  return named;
}

/** The `message` of an ETSI Error body, cut to 256 characters, or null when the text is none. */
function errorMessageOf(text: string): string | null {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    return typeof body?.message === 'string' ? body.message.slice(0, 256) : null;
  } catch {
    return null;
  }
}

/** A path segment decoded, or as it was sent when it is no valid percent-encoding (the KME will say so). */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The keys of a key container's text, in its order: each ID, and its bytes when they are base64. */
function keysOf(text: string): Array<{ id: string; bytes: Uint8Array | null }> {
  try {
    const body = JSON.parse(text) as { keys?: Array<{ key_ID?: unknown; key?: unknown }> };
    if (!Array.isArray(body.keys)) return [];
    return body.keys.flatMap((key) => {
      if (typeof key.key_ID !== 'string') return [];
      const bytes = typeof key.key === 'string' && STRICT_BASE64.test(key.key) ? new Uint8Array(Buffer.from(key.key, 'base64')) : null;
      return [{ id: key.key_ID, bytes }];
    });
  } catch {
    return [];
  }
}

