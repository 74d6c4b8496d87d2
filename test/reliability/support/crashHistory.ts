// What the crash suite records: every request a client sent to `serve --db` and what came of it, one JSON
// line each. A request either got a complete answer (status and parsed body) or did not; a request without
// an answer may or may not have changed the world, and the audit treats it so.
import { appendFileSync } from 'node:fs';

export interface CrashRequest {
  readonly op: 'enc' | 'dec' | 'status';
  readonly kme: string;
  readonly caller: string;
  /** enc_keys and status: the slave; dec_keys: the master. */
  readonly peer: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  /** enc_keys: the number of keys asked for (1 when not given). */
  readonly number?: number;
  /** enc_keys: the size asked for, when one was. */
  readonly sizeBits?: number;
  /** dec_keys: the key IDs asked for. */
  readonly keyIds?: readonly string[];
}

export type CrashOutcome =
  | { readonly answered: true; readonly status: number; readonly body: unknown }
  /** `refused`: the connection was refused, so no byte of the request reached a server. */
  | { readonly answered: false; readonly error: string; readonly refused: boolean };

export interface CrashRecord {
  readonly seq: number;
  readonly phase: 'load' | 'final';
  /** Which start of the server the request was addressed to (0 for the first). */
  readonly gen: number;
  readonly request: CrashRequest;
  readonly outcome: CrashOutcome;
}

export interface WireKey {
  readonly key_ID: string;
  readonly key: string;
}

/** The keys of a 200 answer, or [] for anything else. */
export function keysInAnswer(outcome: CrashOutcome): WireKey[] {
  if (!outcome.answered || outcome.status !== 200) return [];
  const keys = (outcome.body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return [];
  return keys.filter((key): key is WireKey => typeof (key as WireKey | null)?.key_ID === 'string' && typeof (key as WireKey).key === 'string');
}

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let cause: unknown = error, depth = 0; cause !== undefined && cause !== null && depth < 4; cause = (cause as { cause?: unknown }).cause, depth++) {
    const { code, errors } = cause as { code?: unknown; errors?: unknown };
    if (typeof code === 'string') codes.push(code);
    if (Array.isArray(errors)) for (const inner of errors) codes.push(...errorCodes(inner));
  }
  return codes;
}

/** Sends one request with the caller's SAE ID in X-SAE-ID. Never throws: a failure is an outcome. */
export async function sendCrashRequest(kmeUrl: string, request: CrashRequest, timeoutMs: number): Promise<CrashOutcome> {
  try {
    const response = await fetch(`${kmeUrl}${request.path}`, {
      method: request.method,
      headers: { 'X-SAE-ID': request.caller, ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is read whole (Express sends Content-Length): an answer cut off by the kill rejects here.
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      // Kept as text: a complete answer that is not JSON is the server's fault, and the audit says so.
    }
    return { answered: true, status: response.status, body };
  } catch (error) {
    const codes = errorCodes(error);
    const message = error instanceof Error ? error.message : String(error);
    return { answered: false, error: [message, ...codes].join(' '), refused: codes.includes('ECONNREFUSED') };
  }
}

export function encRequest(kme: string, master: string, slave: string, options: { readonly number?: number; readonly sizeBits?: number; readonly method: 'GET' | 'POST' }): CrashRequest {
  const base = `/api/v1/keys/${slave}/enc_keys`;
  const params = { ...(options.number === undefined ? {} : { number: options.number }), ...(options.sizeBits === undefined ? {} : { size: options.sizeBits }) };
  const shape = { op: 'enc' as const, kme, caller: master, peer: slave, method: options.method, number: options.number ?? 1, ...(options.sizeBits === undefined ? {} : { sizeBits: options.sizeBits }) };
  if (options.method === 'GET') {
    const query = new URLSearchParams(Object.entries(params).map(([name, value]): [string, string] => [name, String(value)])).toString();
    return { ...shape, path: query === '' ? base : `${base}?${query}` };
  }
  return { ...shape, path: base, body: JSON.stringify(params) };
}

export function decRequest(kme: string, slave: string, master: string, keyIds: readonly string[], method: 'GET' | 'POST'): CrashRequest {
  const base = `/api/v1/keys/${master}/dec_keys`;
  const shape = { op: 'dec' as const, kme, caller: slave, peer: master, keyIds };
  if (method === 'GET' && keyIds.length === 1) return { ...shape, method, path: `${base}?key_ID=${encodeURIComponent(keyIds[0] as string)}` };
  return { ...shape, method: 'POST', path: base, body: JSON.stringify({ key_IDs: keyIds.map((id) => ({ key_ID: id })) }) };
}

export function statusRequest(kme: string, master: string, slave: string): CrashRequest {
  return { op: 'status', kme, caller: master, peer: slave, method: 'GET', path: `/api/v1/keys/${slave}/status` };
}

export function appendCrashRecord(file: string, record: CrashRecord): void {
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}

export function parseCrashRecords(text: string): CrashRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CrashRecord);
}

/** Where the load client finds the server: rewritten (atomically) by the test after each start. */
export interface CrashEndpoints {
  readonly gen: number;
  readonly kmes: Readonly<Record<string, string>>;
}
