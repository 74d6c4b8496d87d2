// The handlers of the ETSI GS QKD 014 routes of one KME: status, enc_keys (GET, POST) and dec_keys (GET,
// POST), exactly as in ETSI014.md. Handlers only translate: HTTP in, a core command, HTTP out. The route
// table (routeTable.ts) declares them; the Express app and the server's fast path (etsiFastPath.ts), which
// takes the plain requests before Express, both call them.
import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { DeliveredKey } from '../model/encKeys.js';
import type { KmeCommand, StepOutcome } from '../model/kmeCore.js';
import { describeSchemaIssues, keepMandatoryExtensionNames, keyIdsSchema, keyRequestSchema, type KeyContainer, type KeyRequest } from '../model/wireSchema.js';
import { latencyFor, takeFailure, type EtsiRouteName } from '../engine/faults.js';
import { identifyCaller } from './identity.js';
import { noteKeyIds } from './requestJournal.js';
import { StorageError, type KmeHost } from './kmeHost.js';
import type { Reply, RouteCall, RouteContext, RouteHandler } from './routeTypes.js';

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string; readonly details?: Array<Record<string, unknown>> };

/** Whether a request announced a body (Content-Length above 0, or a Transfer-Encoding). */
export function announcesBody(headers: IncomingHttpHeaders): boolean {
  return Number(headers['content-length'] ?? 0) > 0 || headers['transfer-encoding'] !== undefined;
}

/** The path parameter: the slave SAE ID (status, enc_keys) or the master SAE ID (dec_keys). */
function saeOf(call: RouteCall, name: 'slave_SAE_ID' | 'master_SAE_ID'): string {
  const value = call.params[name];
  if (value === undefined) throw new Error(`the route has no ${name} parameter`);
  return value;
}

/**
 * Faults injected through the admin API (those limited to a route, a caller or a KME only where they match),
 * then the caller's identity: what every ETSI request passes first. Latency waits on the host clock, so under
 * the manual clock a test ends it by advancing the clock.
 */
async function admit(ctx: RouteContext, call: RouteCall, reply: Reply, route: EtsiRouteName): Promise<string | null> {
  const { faults, clock } = ctx.host;
  const caller = identifyCaller(call.req, ctx.auth);
  const request = { route, sae: caller, kme: ctx.kmeId };
  const latency = latencyFor(faults, request);
  if (latency > 0) {
    const generation = ctx.host.generation;
    await clock.sleep(latency);
    // Let go early: the server is stopping, or the world was reset meanwhile (a new world owes it nothing).
    if (ctx.host.closed || ctx.host.generation !== generation) {
      reply.error({ kind: 'serviceUnavailable', reason: ctx.host.closed ? 'the KME is stopping' : 'the world was reset while the request was held by a latency fault' });
      return null;
    }
  }
  const downUntil = faults.downUntil.get(ctx.kmeId);
  if (downUntil !== undefined && clock.now() < downUntil) {
    reply.error({ kind: 'kmeRestarting' });
    return null;
  }
  const failure = takeFailure(faults, request);
  if (failure !== null) {
    reply.error({ kind: 'injectedFailure', status: failure });
    return null;
  }
  if (caller === null) {
    reply.error({ kind: 'noIdentity', auth: ctx.auth });
    return null;
  }
  return caller;
}

function parseBody<T>(call: RouteCall, schema: z.ZodType<T>, emptyIs: T | null): Parsed<T> {
  const { body } = call;
  if (body === undefined || (!call.hasBody && typeof body === 'object' && body !== null && Object.keys(body).length === 0)) {
    return emptyIs === null ? { ok: false, message: 'a JSON request body is required' } : { ok: true, value: emptyIs };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, message: 'the request body must be a JSON object' };
  const parsed = schema.safeParse(body);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: 'bad request format', details: describeSchemaIssues(parsed.error) };
}

function queryString(call: RouteCall, name: string): Parsed<string | undefined> {
  const value = call.query[name];
  if (value === undefined) return { ok: true, value: undefined };
  if (typeof value !== 'string') return { ok: false, message: `query parameter ${name} must be given once`, details: [{ parameter: name }] };
  return { ok: true, value };
}

function onlyQuery(call: RouteCall, allowed: readonly string[]): Parsed<null> {
  const unknown = Object.keys(call.query).filter((name) => !allowed.includes(name));
  return unknown.length === 0 ? { ok: true, value: null } : { ok: false, message: `unknown query parameter ${unknown.join(', ')}`, details: unknown.map((parameter) => ({ parameter })) };
}

function parseEncQuery(call: RouteCall): Parsed<KeyRequest> {
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

async function answer(ctx: RouteContext, call: RouteCall, reply: Reply, command: KmeCommand): Promise<void> {
  let outcome: StepOutcome;
  try {
    outcome = await ctx.host.request(command);
  } catch (error) {
    if (error instanceof StorageError) return reply.error({ kind: 'storageFailure' });
    throw error;
  }
  const { result } = outcome;
  // The request journal names the keys of the answer, or those a refused dec_keys asked for (never bytes).
  if (result.ok && result.kind === 'keys') noteKeyIds(call.req, result.keys.map((key) => key.keyId));
  else if (command.type === 'keys.dec') noteKeyIds(call.req, command.keyIds);
  if (!result.ok) return reply.error(result.error);
  if (result.kind === 'status') return reply.json(200, result.status);
  if (result.kind === 'keys') return reply.json(200, keyContainer(ctx.host, outcome, result.keys));
  return reply.json(200, {});
}

/** GET status. */
export const getStatus: RouteHandler = async (ctx, call, reply) => {
  const caller = await admit(ctx, call, reply, 'status');
  if (caller === null) return;
  const allowed = onlyQuery(call, []);
  if (!allowed.ok) return reply.badRequest(allowed.message, allowed.details);
  await answer(ctx, call, reply, { type: 'keys.status', kmeId: ctx.kmeId, callerSaeId: caller, slaveSaeId: saeOf(call, 'slave_SAE_ID') });
};

/** enc_keys, its request read from the query (GET) or the body (POST), before admission but refused after it. */
async function encKeys(ctx: RouteContext, call: RouteCall, reply: Reply, parsed: Parsed<KeyRequest>): Promise<void> {
  const caller = await admit(ctx, call, reply, 'enc_keys');
  if (caller === null) return;
  if (!parsed.ok) return reply.badRequest(parsed.message, parsed.details);
  await answer(ctx, call, reply, { type: 'keys.enc', kmeId: ctx.kmeId, callerSaeId: caller, slaveSaeId: saeOf(call, 'slave_SAE_ID'), request: parsed.value });
}

export const getEncKeys: RouteHandler = (ctx, call, reply) => encKeys(ctx, call, reply, parseEncQuery(call));

export const postEncKeys: RouteHandler = (ctx, call, reply) => {
  const allowed = onlyQuery(call, []);
  let parsed = allowed.ok ? parseBody(call, keyRequestSchema, {}) : allowed;
  // Schema parsing drops members named __proto__: put such extension names back for the core to judge.
  if (parsed.ok) parsed = { ok: true, value: keepMandatoryExtensionNames(call.body, parsed.value) };
  return encKeys(ctx, call, reply, parsed);
};

async function decKeys(ctx: RouteContext, call: RouteCall, reply: Reply, parsed: Parsed<readonly string[]>): Promise<void> {
  const caller = await admit(ctx, call, reply, 'dec_keys');
  if (caller === null) return;
  if (!parsed.ok) return reply.badRequest(parsed.message, parsed.details);
  await answer(ctx, call, reply, { type: 'keys.dec', kmeId: ctx.kmeId, callerSaeId: caller, masterSaeId: saeOf(call, 'master_SAE_ID'), keyIds: parsed.value });
}

export const getDecKeys: RouteHandler = (ctx, call, reply) => {
  const allowed = onlyQuery(call, ['key_ID']);
  const id = allowed.ok ? queryString(call, 'key_ID') : allowed;
  const parsed: Parsed<readonly string[]> = !id.ok ? id : id.value === undefined ? { ok: false, message: 'key_ID query parameter is required' } : { ok: true, value: [id.value] };
  return decKeys(ctx, call, reply, parsed);
};

export const postDecKeys: RouteHandler = (ctx, call, reply) => {
  const allowed = onlyQuery(call, []);
  const body = allowed.ok ? parseBody(call, keyIdsSchema, null) : allowed;
  return decKeys(ctx, call, reply, body.ok ? { ok: true, value: body.value.key_IDs.map((entry) => entry.key_ID) } : body);
};
