// Records a client's ETSI GS QKD 014 traffic: a `fetch` to hand to the client under test, which passes every
// request on and keeps, per exchange, what the client-side judge needs (route, caller, peer SAE, status,
// and the key IDs delivered or retrieved). Key bytes are never kept.

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
}

export interface EtsiRecorder {
  /** Pass this to the client instead of the global fetch. */
  readonly fetch: typeof fetch;
  /** Every exchange so far, oldest first. */
  exchanges(): readonly RecordedExchange[];
  /** Forgets what was recorded (between the runs of a property). */
  clear(): void;
}

export interface RecorderOptions {
  /** The fetch to pass requests on to (default: the global one). */
  readonly fetch?: typeof fetch;
  /** The header that names the caller (default X-SAE-ID). */
  readonly identityHeader?: string;
}

const ROUTE = /\/api\/v1\/(?:keys|user-keys)\/([^/?]+)\/(status|enc_keys|dec_keys)(?:\?|$)/;

export function recordEtsiTraffic(options: RecorderOptions = {}): EtsiRecorder {
  const next = options.fetch ?? globalThis.fetch;
  const identity = (options.identityHeader ?? 'X-SAE-ID').toLowerCase();
  let recorded: RecordedExchange[] = [];
  let seq = 0;
  const recordingFetch = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const path = `${url.pathname}${url.search}`;
    const match = ROUTE.exec(url.pathname);
    const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.clone().text();
    const mine = ++seq;
    const base = {
      seq: mine,
      method: request.method,
      kme: url.origin,
      path,
      route: (match?.[2] as RecordedRoute | undefined) ?? null,
      caller: request.headers.get(identity),
      peer: match?.[1] === undefined ? null : decodeURIComponent(match[1]),
      body: body === '' ? null : body,
    };
    let response: Response;
    try {
      response = await next(request);
    } catch (error) {
      recorded.push({ ...base, status: 0, keyIds: [] });
      throw error;
    }
    recorded.push({ ...base, status: response.status, keyIds: await keyIdsOf(response) });
    return response;
  };
  return {
    fetch: recordingFetch as typeof fetch,
    exchanges: () => [...recorded].sort((a, b) => a.seq - b.seq),
    clear() {
      recorded = [];
      seq = 0;
    },
  };
}

/** The key IDs of a key container, read from a copy of the answer (the client reads the original). */
async function keyIdsOf(response: Response): Promise<string[]> {
  if (response.status !== 200) return [];
  try {
    const body = (await response.clone().json()) as { keys?: Array<{ key_ID?: unknown }> };
    return Array.isArray(body.keys) ? body.keys.flatMap((key) => (typeof key.key_ID === 'string' ? [key.key_ID] : [])) : [];
  } catch {
    return [];
  }
}
