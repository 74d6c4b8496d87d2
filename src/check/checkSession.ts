// One conversation with a target KME: every request and response recorded (the transcript), every
// enc_keys and dec_keys judged by the history checker (I1–I5, I7, I9), every answer to client input
// judged for I13 (no 5xx but 503, errors as JSON Error bodies). Transport failures are findings.
import { createHash } from 'node:crypto';
import { createHistoryChecker, type Exchange, type HistoryChecker, type ObservedKey } from '../model/historyChecker.js';
import { violation, type Violation } from '../model/violation.js';
import { sendEtsi, type EtsiRequest, type EtsiResponse } from './etsiClient.js';
import type { Target, TargetSae } from './targetSchema.js';

export interface TranscriptEntry {
  readonly id: number;
  readonly request: EtsiRequest;
  readonly response: EtsiResponse;
  /** performance.now() when the answer (or the transport failure) came back. */
  readonly receivedAtMs: number;
}

export interface Finding {
  readonly kind: 'transport' | 'format';
  readonly message: string;
  readonly entry: number;
}

export type BurstRequest =
  | { readonly kind: 'enc'; readonly master: string; readonly slave: string; readonly request: { number?: number; size?: number } }
  | { readonly kind: 'dec'; readonly caller: string; readonly master: string; readonly keyIds: readonly string[]; readonly kme?: string };

export interface KeyHandle {
  readonly keyId: string;
  readonly master: string;
  readonly slaves: readonly string[];
  readonly sizeBits: number;
}

export interface CheckSession {
  readonly target: Target;
  readonly transcript: TranscriptEntry[];
  readonly violations: Array<Violation & { readonly entries: readonly number[] }>;
  readonly findings: Finding[];
  readonly keys: KeyHandle[];
  sae(id: string): TargetSae;
  kmeUrl(kmeId: string): string;
  /** Sends one request, records it, judges I13; does not feed the history checker. */
  send(request: Omit<EtsiRequest, 'timeoutMs'>): Promise<TranscriptEntry>;
  enc(master: string, slave: string, request: { number?: number; size?: number; additional?: readonly string[] }, method?: 'GET' | 'POST'): Promise<TranscriptEntry>;
  dec(caller: string, master: string, keyIds: readonly string[], options?: { kme?: string; method?: 'GET' | 'POST' }): Promise<TranscriptEntry>;
  status(master: string, slave: string): Promise<TranscriptEntry>;
  /** Sends several requests at once; their exchanges are judged together once all have answered. */
  burst(requests: readonly BurstRequest[]): Promise<TranscriptEntry[]>;
  keySize(master: string, slave: string): Promise<number | undefined>;
  /** A KME was restarted (through an admin API): keys lost from here on are the restart's doing (I2). */
  restarted(kmeId: string): void;
  /** Delivered keys some named slave has not retrieved yet, oldest first, with the slaves still waiting. */
  waitingKeys(): Array<{ keyId: string; master: string; waitingFor: readonly string[] }>;
}

function keysOf(entry: TranscriptEntry): ObservedKey[] {
  const json = entry.response.json as { keys?: unknown } | undefined;
  if (entry.response.status !== 200 || !Array.isArray(json?.keys)) return [];
  return json.keys.flatMap((key: unknown) => {
    const { key_ID: keyId, key: material } = (key ?? {}) as { key_ID?: unknown; key?: unknown };
    if (typeof keyId !== 'string' || typeof material !== 'string') return [];
    const bytes = Buffer.from(material, 'base64');
    return [{ keyId, materialHash: `sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}`, sizeBits: bytes.length * 8 }];
  });
}

export function createCheckSession(target: Target): CheckSession {
  const history: HistoryChecker = createHistoryChecker({
    ...(target.limits.keyTtlMs === undefined ? {} : { keyTtlMs: target.limits.keyTtlMs }),
    consumeOnDecrypt: target.profile !== 'lenient',
  });
  const transcript: TranscriptEntry[] = [];
  const violations: Array<Violation & { entries: number[] }> = [];
  const findings: Finding[] = [];
  const keys: KeyHandle[] = [];
  const exchangeOf = new Map<number, { exchange: Exchange; entry: TranscriptEntry }>();
  const startedAt = performance.now();
  const defaultSizes = new Map<string, number>();

  const sae = (id: string): TargetSae => {
    const found = target.saes.find((candidate) => candidate.id === id);
    if (found === undefined) throw new Error(`check: no SAE ${id} in the target`);
    return found;
  };
  const kmeUrl = (kmeId: string): string => {
    const found = target.kmes.find((kme) => kme.id === kmeId);
    if (found === undefined) throw new Error(`check: no KME ${kmeId} in the target`);
    return found.url;
  };

  async function send(request: Omit<EtsiRequest, 'timeoutMs'>): Promise<TranscriptEntry> {
    const response = await sendEtsi({ ...request, timeoutMs: target.limits.requestTimeoutMs });
    const entry: TranscriptEntry = { id: transcript.length + 1, request: { ...request, timeoutMs: target.limits.requestTimeoutMs }, response, receivedAtMs: performance.now() };
    transcript.push(entry);
    if (response.failure !== undefined) {
      findings.push({ kind: 'transport', message: `${request.method} ${request.path}: ${response.failure} (${response.failureDetail ?? ''})`, entry: entry.id });
    } else {
      if (response.status >= 500 && response.status !== 503) {
        violations.push({ ...violation('I13', `${request.method} ${request.path} answered ${response.status}`, { status: response.status, body: response.text.slice(0, 200) }), entries: [entry.id] });
      }
      if (response.status !== 200 && !isErrorBody(response.json)) {
        findings.push({ kind: 'format', message: `${request.method} ${request.path} answered ${response.status} with a body that is not an ETSI Error object (C41): ${response.text.slice(0, 80)}`, entry: entry.id });
      }
    }
    return entry;
  }

  function judge(exchanges: ReadonlyArray<{ exchange: Exchange; entry: TranscriptEntry }>): void {
    // Concurrent exchanges linearize with successes first: a refusal that raced a success is no loss.
    const ordered = [...exchanges].sort((a, b) => Number(b.entry.response.status === 200) - Number(a.entry.response.status === 200) || a.entry.id - b.entry.id);
    for (const { exchange, entry } of ordered) {
      exchangeOf.set(exchange.id, { exchange, entry });
      for (const found of history.observe(exchange)) {
        const related = [found.evidence['firstExchange'], found.evidence['issuedIn'], found.evidence['refusedRequest'], found.evidence['firstRetrieval']]
          .filter((id): id is number => typeof id === 'number')
          .map((id) => exchangeOf.get(id)?.entry.id)
          .filter((id): id is number => id !== undefined);
        violations.push({ ...found, entries: [...new Set([...related, entry.id])].sort((a, b) => a - b) });
      }
    }
  }

  const atMs = (): number => Math.round(performance.now() - startedAt);

  function encExchange(entry: TranscriptEntry, master: string, slave: string, additional: readonly string[], expectedSizeBits: number | undefined): { exchange: Exchange; entry: TranscriptEntry } | null {
    if (entry.response.failure !== undefined) return null;
    const observed = keysOf(entry);
    for (const key of observed) keys.push({ keyId: key.keyId, master, slaves: [slave, ...additional], sizeBits: key.sizeBits });
    return {
      entry,
      exchange: { op: 'enc', id: entry.id, atMs: atMs(), kmeId: sae(master).kme, callerSaeId: master, slaveSaeId: slave, additionalSlaveSaeIds: additional, expectedSizeBits, status: entry.response.status, keys: observed },
    };
  }

  async function keySize(master: string, slave: string): Promise<number | undefined> {
    if (!defaultSizes.has(`${master}>${slave}`)) await status(master, slave);
    return defaultSizes.get(`${master}>${slave}`);
  }

  async function status(master: string, slave: string): Promise<TranscriptEntry> {
    const entry = await send({ kmeUrl: kmeUrl(sae(master).kme), sae: sae(master), method: 'GET', path: `/api/v1/keys/${encodeURIComponent(slave)}/status` });
    const size = (entry.response.json as { key_size?: unknown } | undefined)?.key_size;
    if (entry.response.status === 200 && typeof size === 'number') defaultSizes.set(`${master}>${slave}`, size);
    return entry;
  }

  function encRequest(master: string, slave: string, request: { number?: number; size?: number; additional?: readonly string[] }, method: 'GET' | 'POST'): Omit<EtsiRequest, 'timeoutMs'> {
    const base = `/api/v1/keys/${encodeURIComponent(slave)}/enc_keys`;
    if (method === 'GET') {
      const query = new URLSearchParams();
      if (request.number !== undefined) query.set('number', String(request.number));
      if (request.size !== undefined) query.set('size', String(request.size));
      const qs = query.toString();
      return { kmeUrl: kmeUrl(sae(master).kme), sae: sae(master), method, path: qs === '' ? base : `${base}?${qs}` };
    }
    const body = {
      ...(request.number === undefined ? {} : { number: request.number }),
      ...(request.size === undefined ? {} : { size: request.size }),
      ...(request.additional === undefined || request.additional.length === 0 ? {} : { additional_slave_SAE_IDs: request.additional }),
    };
    return { kmeUrl: kmeUrl(sae(master).kme), sae: sae(master), method, path: base, body: JSON.stringify(body) };
  }

  async function enc(master: string, slave: string, request: { number?: number; size?: number; additional?: readonly string[] }, method: 'GET' | 'POST' = 'POST'): Promise<TranscriptEntry> {
    const expected = request.size ?? (await keySize(master, slave));
    const entry = await send(encRequest(master, slave, request, method));
    const judged = encExchange(entry, master, slave, request.additional ?? [], expected);
    if (judged !== null) judge([judged]);
    return entry;
  }

  function decRequest(caller: string, master: string, keyIds: readonly string[], options: { kme?: string; method?: 'GET' | 'POST' }): Omit<EtsiRequest, 'timeoutMs'> {
    const kme = options.kme ?? sae(caller).kme;
    const base = `/api/v1/keys/${encodeURIComponent(master)}/dec_keys`;
    if ((options.method ?? 'POST') === 'GET' && keyIds.length === 1) {
      return { kmeUrl: kmeUrl(kme), sae: sae(caller), method: 'GET', path: `${base}?key_ID=${encodeURIComponent(keyIds[0] as string)}` };
    }
    return { kmeUrl: kmeUrl(kme), sae: sae(caller), method: 'POST', path: base, body: JSON.stringify({ key_IDs: keyIds.map((id) => ({ key_ID: id })) }) };
  }

  function decExchange(entry: TranscriptEntry, caller: string, master: string, keyIds: readonly string[], kme: string): { exchange: Exchange; entry: TranscriptEntry } | null {
    if (entry.response.failure !== undefined) return null;
    return { entry, exchange: { op: 'dec', id: entry.id, atMs: atMs(), kmeId: kme, callerSaeId: caller, masterSaeId: master, keyIds, status: entry.response.status, keys: keysOf(entry) } };
  }

  async function dec(caller: string, master: string, keyIds: readonly string[], options: { kme?: string; method?: 'GET' | 'POST' } = {}): Promise<TranscriptEntry> {
    const entry = await send(decRequest(caller, master, keyIds, options));
    const judged = decExchange(entry, caller, master, keyIds, options.kme ?? sae(caller).kme);
    if (judged !== null) judge([judged]);
    return entry;
  }

  return {
    target,
    transcript,
    violations,
    findings,
    keys,
    sae,
    kmeUrl,
    send,
    enc,
    dec,
    status,
    keySize,
    restarted(kmeId) {
      history.observe({ op: 'restart', id: transcript.length, atMs: atMs(), kmeId });
    },
    waitingKeys() {
      return history.pendingKeys().map((key) => ({ keyId: key.keyId, master: key.masterSaeId, waitingFor: key.waitingFor }));
    },
    async burst(requests) {
      for (const request of requests) if (request.kind === 'enc' && request.request.size === undefined) await keySize(request.master, request.slave);
      const entries = await Promise.all(
        requests.map((request) =>
          send(request.kind === 'enc' ? encRequest(request.master, request.slave, request.request, 'POST') : decRequest(request.caller, request.master, request.keyIds, request.kme === undefined ? {} : { kme: request.kme })),
        ),
      );
      const judged = requests.map((request, i) => {
        const entry = entries[i] as TranscriptEntry;
        return request.kind === 'enc'
          ? encExchange(entry, request.master, request.slave, [], request.request.size ?? defaultSizes.get(`${request.master}>${request.slave}`))
          : decExchange(entry, request.caller, request.master, request.keyIds, request.kme ?? sae(request.caller).kme);
      });
      judge(judged.filter((item): item is { exchange: Exchange; entry: TranscriptEntry } => item !== null));
      return entries;
    },
  };
}

/** When a violation became visible: the answer of the last request it names came back (performance.now()). */
export function detectedAtMs(session: CheckSession, entries: readonly number[]): number {
  return Math.max(...entries.map((id) => session.transcript[id - 1]?.receivedAtMs ?? Number.NEGATIVE_INFINITY));
}

function isErrorBody(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  const { message, details } = json as { message?: unknown; details?: unknown };
  return typeof message === 'string' && (details === undefined || (Array.isArray(details) && details.every((d) => typeof d === 'object' && d !== null && !Array.isArray(d))));
}
