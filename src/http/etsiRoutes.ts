// The ETSI GS QKD 014 routes of one KME: status, enc_keys (GET, POST) and dec_keys (GET, POST), exactly as
// in ETSI014.md. Handlers only translate: HTTP in, a core command, HTTP out. The same handlers serve the
// Express router and the server's fast path (etsiFastPath.ts), which takes the plain requests before Express.
import { Router, type Request, type Response } from 'express';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { z } from 'zod';
import type { DeliveredKey } from '../model/encKeys.js';
import type { KmeCommand, StepOutcome } from '../model/kmeCore.js';
import { toEtsiError } from '../model/kmeError.js';
import { describeSchemaIssues, keepMandatoryExtensionNames, keyIdsSchema, keyRequestSchema, type KeyContainer, type KeyRequest } from '../model/wireSchema.js';
import { errorBody, methodNotAllowed, sendJson } from './httpErrors.js';
import { identifyCaller, type AuthMode } from './identity.js';
import { StorageError, type KmeHost } from './kmeHost.js';

export interface EtsiRouteOptions {
  readonly host: KmeHost;
  readonly kmeId: string;
  readonly auth: AuthMode;
}

/** One ETSI request as the handlers see it, however it arrived (the Express router or the server's fast path). */
export interface EtsiCall {
  readonly route: 'status' | 'enc_keys' | 'dec_keys';
  readonly method: 'GET' | 'POST';
  /** The decoded path parameter: the slave SAE ID (status, enc_keys) or the master SAE ID (dec_keys). */
  readonly sae: string;
  /** The query string as the `simple` (node:querystring) parser reads it. */
  readonly query: Readonly<Record<string, unknown>>;
  /** The parsed JSON body, or undefined when none was parsed. */
  readonly body: unknown;
  /** Whether the request announced a body: a Content-Length above 0 or a Transfer-Encoding. */
  readonly hasBody: boolean;
  /** For the caller's identity: its headers, and its socket under mTLS. */
  readonly req: IncomingMessage;
}

/** Sends one JSON answer. */
export type EtsiReply = (status: number, body: unknown) => void;

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string; readonly details?: Array<Record<string, unknown>> };

/** Whether a request announced a body (Content-Length above 0, or a Transfer-Encoding). */
export function announcesBody(headers: IncomingHttpHeaders): boolean {
  return Number(headers['content-length'] ?? 0) > 0 || headers['transfer-encoding'] !== undefined;
}

function replyError(reply: EtsiReply, status: number, message: string, details?: ReadonlyArray<Record<string, unknown>>): void {
  reply(status, errorBody(message, details));
}

/** Faults injected through the admin API, then the caller's identity: what every ETSI request passes first. */
async function admit(options: EtsiRouteOptions, call: EtsiCall, reply: EtsiReply): Promise<string | null> {
  const { faults, clock } = options.host;
  if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
  const downUntil = faults.downUntil.get(options.kmeId);
  if (downUntil !== undefined && clock.now() < downUntil) {
    replyError(reply, 503, 'KME is restarting');
    return null;
  }
  if (faults.failNext.count > 0) {
    faults.failNext.count -= 1;
    replyError(reply, faults.failNext.status, faults.failNext.status === 503 ? 'injected failure' : 'injected error');
    return null;
  }
  const caller = identifyCaller(call.req, options.auth);
  if (caller === null) {
    replyError(reply, 401, options.auth.kind === 'header' ? `missing ${options.auth.header} header` : 'no valid client certificate');
    return null;
  }
  return caller;
}

function parseBody<T>(call: EtsiCall, schema: z.ZodType<T>, emptyIs: T | null): Parsed<T> {
  const { body } = call;
  if (body === undefined || (!call.hasBody && typeof body === 'object' && body !== null && Object.keys(body).length === 0)) {
    return emptyIs === null ? { ok: false, message: 'a JSON request body is required' } : { ok: true, value: emptyIs };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, message: 'the request body must be a JSON object' };
  const parsed = schema.safeParse(body);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: 'bad request format', details: describeSchemaIssues(parsed.error) };
}

function queryString(call: EtsiCall, name: string): Parsed<string | undefined> {
  const value = call.query[name];
  if (value === undefined) return { ok: true, value: undefined };
  if (typeof value !== 'string') return { ok: false, message: `query parameter ${name} must be given once`, details: [{ parameter: name }] };
  return { ok: true, value };
}

function onlyQuery(call: EtsiCall, allowed: readonly string[]): Parsed<null> {
  const unknown = Object.keys(call.query).filter((name) => !allowed.includes(name));
  return unknown.length === 0 ? { ok: true, value: null } : { ok: false, message: `unknown query parameter ${unknown.join(', ')}`, details: unknown.map((parameter) => ({ parameter })) };
}

function parseEncQuery(call: EtsiCall): Parsed<KeyRequest> {
  const allowed = onlyQuery(call, ['number', 'size']);
  if (!allowed.ok) return allowed;
  const request: { number?: number; size?: number } = {};
  for (const name of ['number', 'size'] as const) {
    const raw = queryString(call, name);
    if (!raw.ok) return raw;
    if (raw.value === undefined) continue;
    // Integers only: "1.5", "abc", "" and "-" are format errors (C23); sign and range are the core's to judge.
    if (!/^-?\d{1,15}$/.test(raw.value)) return { ok: false, message: `${name} must be an integer`, details: [{ parameter: name, value: raw.value }] };
    request[name] = Number(raw.value);
  }
  return { ok: true, value: request };
}

function keyContainer(host: KmeHost, outcome: StepOutcome, keys: readonly DeliveredKey[]): KeyContainer {
  const materials = host.materialsOf(outcome);
  return {
    keys: keys.map((key, i) => {
      const bytes = materials[i] as Uint8Array;
      return { key_ID: key.keyId, key: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
    }),
  };
}

async function answer(options: EtsiRouteOptions, reply: EtsiReply, command: KmeCommand): Promise<void> {
  let outcome: StepOutcome;
  try {
    outcome = await options.host.request(command);
  } catch (error) {
    if (error instanceof StorageError) return replyError(reply, 503, 'storage failure');
    throw error;
  }
  const { result } = outcome;
  if (!result.ok) {
    const { status, body } = toEtsiError(result.error, options.host.world.config.profile);
    return reply(status, body);
  }
  if (result.kind === 'status') return reply(200, result.status);
  if (result.kind === 'keys') return reply(200, keyContainer(options.host, outcome, result.keys));
  return reply(200, {});
}

async function status(options: EtsiRouteOptions, call: EtsiCall, reply: EtsiReply): Promise<void> {
  const caller = await admit(options, call, reply);
  if (caller === null) return;
  const allowed = onlyQuery(call, []);
  if (!allowed.ok) return replyError(reply, 400, allowed.message, allowed.details);
  await answer(options, reply, { type: 'keys.status', kmeId: options.kmeId, callerSaeId: caller, slaveSaeId: call.sae });
}

async function enc(options: EtsiRouteOptions, call: EtsiCall, reply: EtsiReply): Promise<void> {
  let parsed: Parsed<KeyRequest>;
  if (call.method === 'GET') {
    parsed = parseEncQuery(call);
  } else {
    const allowed = onlyQuery(call, []);
    parsed = allowed.ok ? parseBody(call, keyRequestSchema, {}) : allowed;
    // Schema parsing drops members named __proto__: put such extension names back for the core to judge.
    if (parsed.ok) parsed = { ok: true, value: keepMandatoryExtensionNames(call.body, parsed.value) };
  }
  const caller = await admit(options, call, reply);
  if (caller === null) return;
  if (!parsed.ok) return replyError(reply, 400, parsed.message, parsed.details);
  await answer(options, reply, { type: 'keys.enc', kmeId: options.kmeId, callerSaeId: caller, slaveSaeId: call.sae, request: parsed.value });
}

function decKeyIds(call: EtsiCall): Parsed<readonly string[]> {
  if (call.method === 'GET') {
    const allowed = onlyQuery(call, ['key_ID']);
    const id = allowed.ok ? queryString(call, 'key_ID') : allowed;
    if (!id.ok) return id;
    return id.value === undefined ? { ok: false, message: 'key_ID query parameter is required' } : { ok: true, value: [id.value] };
  }
  const allowed = onlyQuery(call, []);
  const parsed = allowed.ok ? parseBody(call, keyIdsSchema, null) : allowed;
  return parsed.ok ? { ok: true, value: parsed.value.key_IDs.map((entry) => entry.key_ID) } : parsed;
}

async function dec(options: EtsiRouteOptions, call: EtsiCall, reply: EtsiReply): Promise<void> {
  const parsed = decKeyIds(call);
  const caller = await admit(options, call, reply);
  if (caller === null) return;
  if (!parsed.ok) return replyError(reply, 400, parsed.message, parsed.details);
  await answer(options, reply, { type: 'keys.dec', kmeId: options.kmeId, callerSaeId: caller, masterSaeId: call.sae, keyIds: parsed.value });
}

/** Serves one ETSI request. Programmer errors reject (answered 500 by whoever called). */
export function handleEtsi(options: EtsiRouteOptions, call: EtsiCall, reply: EtsiReply): Promise<void> {
  switch (call.route) {
    case 'status':
      return status(options, call, reply);
    case 'enc_keys':
      return enc(options, call, reply);
    case 'dec_keys':
      return dec(options, call, reply);
  }
}

export function createEtsiRouter(options: EtsiRouteOptions): Router {
  const router = Router({ strict: true });
  const serve =
    (route: EtsiCall['route'], method: EtsiCall['method'], param: 'slave' | 'master') =>
    (req: Request, res: Response): Promise<void> =>
      handleEtsi(options, { route, method, sae: req.params[param] as string, query: req.query, body: req.body, hasBody: announcesBody(req.headers), req }, (status, body) => sendJson(res, status, body));

  router.get('/api/v1/keys/:slave/status', serve('status', 'GET', 'slave'));
  router.all('/api/v1/keys/:slave/status', methodNotAllowed('GET'));
  // Express answers HEAD with the GET handler and drops the body: on these routes that would reserve or consume keys nobody sees.
  router.head(['/api/v1/keys/:slave/enc_keys', '/api/v1/keys/:master/dec_keys'], methodNotAllowed('GET, POST'));
  router.get('/api/v1/keys/:slave/enc_keys', serve('enc_keys', 'GET', 'slave'));
  router.post('/api/v1/keys/:slave/enc_keys', serve('enc_keys', 'POST', 'slave'));
  router.all('/api/v1/keys/:slave/enc_keys', methodNotAllowed('GET, POST'));
  router.get('/api/v1/keys/:master/dec_keys', serve('dec_keys', 'GET', 'master'));
  router.post('/api/v1/keys/:master/dec_keys', serve('dec_keys', 'POST', 'master'));
  router.all('/api/v1/keys/:master/dec_keys', methodNotAllowed('GET, POST'));

  return router;
}
