// The ETSI GS QKD 014 routes of one KME: status, enc_keys (GET, POST) and dec_keys (GET, POST), exactly as
// in ETSI014.md. Handlers only translate: HTTP in, a core command, HTTP out.
import { Router, type Request, type Response } from 'express';
import type { z } from 'zod';
import type { DeliveredKey } from '../model/encKeys.js';
import type { KmeCommand, StepOutcome } from '../model/kmeCore.js';
import { materialOf } from '../model/keyMaterial.js';
import { describeSchemaIssues, keepMandatoryExtensionNames, keyIdsSchema, keyRequestSchema, type KeyContainer, type KeyRequest } from '../model/wireSchema.js';
import { methodNotAllowed, sendError, sendJson, sendKmeError } from './httpErrors.js';
import { identifyCaller, type AuthMode } from './identity.js';
import { StorageError, type KmeHost } from './kmeHost.js';

export interface EtsiRouteOptions {
  readonly host: KmeHost;
  readonly kmeId: string;
  readonly auth: AuthMode;
}

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string; readonly details?: Array<Record<string, unknown>> };

/** Faults injected through the admin API, then the caller's identity: what every ETSI request passes first. */
async function admit(options: EtsiRouteOptions, req: Request, res: Response): Promise<string | null> {
  const { faults, clock } = options.host;
  if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
  const downUntil = faults.downUntil.get(options.kmeId);
  if (downUntil !== undefined && clock.now() < downUntil) {
    sendError(res, 503, 'KME is restarting');
    return null;
  }
  if (faults.failNext.count > 0) {
    faults.failNext.count -= 1;
    sendError(res, faults.failNext.status, faults.failNext.status === 503 ? 'injected failure' : 'injected error');
    return null;
  }
  const caller = identifyCaller(req, options.auth);
  if (caller === null) {
    sendError(res, 401, options.auth.kind === 'header' ? `missing ${options.auth.header} header` : 'no valid client certificate');
    return null;
  }
  return caller;
}

function parseBody<T>(req: Request, schema: z.ZodType<T>, emptyIs: T | null): Parsed<T> {
  const body: unknown = req.body;
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (body === undefined || (!hasBody && typeof body === 'object' && body !== null && Object.keys(body).length === 0)) {
    return emptyIs === null ? { ok: false, message: 'a JSON request body is required' } : { ok: true, value: emptyIs };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, message: 'the request body must be a JSON object' };
  const parsed = schema.safeParse(body);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: 'bad request format', details: describeSchemaIssues(parsed.error) };
}

function queryString(req: Request, name: string): Parsed<string | undefined> {
  const value = req.query[name];
  if (value === undefined) return { ok: true, value: undefined };
  if (typeof value !== 'string') return { ok: false, message: `query parameter ${name} must be given once`, details: [{ parameter: name }] };
  return { ok: true, value };
}

function onlyQuery(req: Request, allowed: readonly string[]): Parsed<null> {
  const unknown = Object.keys(req.query).filter((name) => !allowed.includes(name));
  return unknown.length === 0 ? { ok: true, value: null } : { ok: false, message: `unknown query parameter ${unknown.join(', ')}`, details: unknown.map((parameter) => ({ parameter })) };
}

function parseEncQuery(req: Request): Parsed<KeyRequest> {
  const allowed = onlyQuery(req, ['number', 'size']);
  if (!allowed.ok) return allowed;
  const request: { number?: number; size?: number } = {};
  for (const name of ['number', 'size'] as const) {
    const raw = queryString(req, name);
    if (!raw.ok) return raw;
    if (raw.value === undefined) continue;
    // Integers only: "1.5", "abc", "" and "-" are format errors (C23); sign and range are the core's to judge.
    if (!/^-?\d{1,15}$/.test(raw.value)) return { ok: false, message: `${name} must be an integer`, details: [{ parameter: name, value: raw.value }] };
    request[name] = Number(raw.value);
  }
  return { ok: true, value: request };
}

function keyContainer(host: KmeHost, keys: readonly DeliveredKey[]): KeyContainer {
  const { seed } = host.world.config;
  return { keys: keys.map((key) => ({ key_ID: key.keyId, key: Buffer.from(materialOf(seed, key)).toString('base64') })) };
}

async function answer(options: EtsiRouteOptions, res: Response, command: KmeCommand): Promise<void> {
  let outcome: StepOutcome;
  try {
    outcome = await options.host.request(command);
  } catch (error) {
    if (error instanceof StorageError) return sendError(res, 503, 'storage failure');
    throw error;
  }
  const { result } = outcome;
  if (!result.ok) return sendKmeError(res, result.error, options.host.world.config.profile);
  if (result.kind === 'status') return sendJson(res, 200, result.status);
  if (result.kind === 'keys') return sendJson(res, 200, keyContainer(options.host, result.keys));
  return sendJson(res, 200, {});
}

export function createEtsiRouter(options: EtsiRouteOptions): Router {
  const router = Router({ strict: true });
  const { kmeId } = options;

  router.get('/api/v1/keys/:slave/status', async (req, res) => {
    const caller = await admit(options, req, res);
    if (caller === null) return;
    const allowed = onlyQuery(req, []);
    if (!allowed.ok) return sendError(res, 400, allowed.message, allowed.details);
    await answer(options, res, { type: 'keys.status', kmeId, callerSaeId: caller, slaveSaeId: req.params['slave'] as string });
  });
  router.all('/api/v1/keys/:slave/status', methodNotAllowed('GET'));

  const enc = async (req: Request, res: Response, parsed: Parsed<KeyRequest>): Promise<void> => {
    const caller = await admit(options, req, res);
    if (caller === null) return;
    if (!parsed.ok) return sendError(res, 400, parsed.message, parsed.details);
    await answer(options, res, { type: 'keys.enc', kmeId, callerSaeId: caller, slaveSaeId: req.params['slave'] as string, request: parsed.value });
  };
  // Express answers HEAD with the GET handler and drops the body: on these routes that would reserve or consume keys nobody sees.
  router.head(['/api/v1/keys/:slave/enc_keys', '/api/v1/keys/:master/dec_keys'], methodNotAllowed('GET, POST'));
  router.get('/api/v1/keys/:slave/enc_keys', (req, res) => enc(req, res, parseEncQuery(req)));
  router.post('/api/v1/keys/:slave/enc_keys', (req, res) => {
    const allowed = onlyQuery(req, []);
    const parsed = allowed.ok ? parseBody(req, keyRequestSchema, {}) : allowed;
    return enc(req, res, parsed.ok ? { ok: true, value: keepMandatoryExtensionNames(req.body, parsed.value) } : parsed);
  });
  router.all('/api/v1/keys/:slave/enc_keys', methodNotAllowed('GET, POST'));

  const dec = async (req: Request, res: Response, parsed: Parsed<readonly string[]>): Promise<void> => {
    const caller = await admit(options, req, res);
    if (caller === null) return;
    if (!parsed.ok) return sendError(res, 400, parsed.message, parsed.details);
    await answer(options, res, { type: 'keys.dec', kmeId, callerSaeId: caller, masterSaeId: req.params['master'] as string, keyIds: parsed.value });
  };
  router.get('/api/v1/keys/:master/dec_keys', (req, res) => {
    const allowed = onlyQuery(req, ['key_ID']);
    const id = allowed.ok ? queryString(req, 'key_ID') : allowed;
    if (!id.ok) return dec(req, res, id);
    return dec(req, res, id.value === undefined ? { ok: false, message: 'key_ID query parameter is required' } : { ok: true, value: [id.value] });
  });
  router.post('/api/v1/keys/:master/dec_keys', (req, res) => {
    const allowed = onlyQuery(req, []);
    const parsed = allowed.ok ? parseBody(req, keyIdsSchema, null) : allowed;
    return dec(req, res, parsed.ok ? { ok: true, value: parsed.value.key_IDs.map((entry) => entry.key_ID) } : parsed);
  });
  router.all('/api/v1/keys/:master/dec_keys', methodNotAllowed('GET, POST'));

  return router;
}
