// The statuses each ETSI route owes a request, in the order the checks apply: body parsing (before any
// route), identity (401), the request's format (400), the caller on this KME (401), the slave or master,
// the values (400), then availability (503). Successes come with the check that records them.
import { callerFromHeaders } from './fuzzLedger.js';
import { judgeCallerAndSlave, judgeDecKeys, judgeEncQuery, judgeKeyRequest, keyIdFromQuery, keyIdsOf } from './expectations.js';
import { checkStatus, parseLikeServer, recordDelivery, recordRetrieval, saeOf, SAE_HEADER, type PlanContext } from './planCommon.js';
import { parse as parseQuery } from 'node:querystring';

export interface Expectation {
  readonly expect: readonly number[];
  readonly readOnly?: boolean;
  readonly onOk?: (body: unknown) => string | null;
}

const BAD_REQUEST: Expectation = { expect: [400] };
const UNAUTHORIZED: Expectation = { expect: [401] };

export function callerOf(headers: Readonly<Record<string, string | readonly string[]>>): string | null {
  return callerFromHeaders(headers, SAE_HEADER);
}

/** Decodes a path segment as the router does, or undefined when it cannot (answered 400). */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function delivered(ctx: PlanContext, kmeId: string, caller: string, slaveId: string, request: Record<string, unknown>): Expectation {
  const master = saeOf(ctx, caller);
  const slave = saeOf(ctx, slaveId);
  if (master === undefined || slave === undefined || master.kmeId !== kmeId) throw new Error('delivered: caller or slave unknown');
  const count = typeof request['number'] === 'number' ? request['number'] : 1;
  const size = typeof request['size'] === 'number' ? request['size'] : ctx.profile.keySizeBits;
  return { expect: [200, 503], onOk: recordDelivery(ctx, master, slave, count, size) };
}

export function expectStatus(ctx: PlanContext, kmeId: string, caller: string | null, slaveId: string, query = ''): Expectation {
  if (caller === null) return UNAUTHORIZED;
  if (Object.keys(parseQuery(query)).length > 0) return BAD_REQUEST;
  const verdict = judgeCallerAndSlave(ctx.ledger, kmeId, caller, slaveId);
  return verdict === 200 ? { expect: [200], readOnly: true, onOk: checkStatus(caller, slaveId, kmeId) } : { expect: [verdict] };
}

/** POST enc_keys; `text` undefined sends no body (an empty Key request). */
export function expectEncPost(ctx: PlanContext, kmeId: string, caller: string | null, slaveId: string, text: string | undefined): Expectation {
  const parsed = text === undefined ? { value: {} } : parseLikeServer(text);
  if (parsed === undefined) return BAD_REQUEST;
  if (caller === null) return UNAUTHORIZED;
  const verdict = judgeKeyRequest(ctx.profile, parsed.value);
  if (verdict === 'format') return BAD_REQUEST;
  const who = judgeCallerAndSlave(ctx.ledger, kmeId, caller, slaveId);
  if (who !== 200) return { expect: [who] };
  // No SAE is its own slave (C28).
  if (slaveId === caller) return BAD_REQUEST;
  if (verdict === 'value') return BAD_REQUEST;
  return delivered(ctx, kmeId, caller, slaveId, parsed.value as Record<string, unknown>);
}

export function expectEncGet(ctx: PlanContext, kmeId: string, caller: string | null, slaveId: string, query: string): Expectation {
  if (caller === null) return UNAUTHORIZED;
  const verdict = judgeEncQuery(ctx.profile, query);
  if (verdict === 'format') return BAD_REQUEST;
  const who = judgeCallerAndSlave(ctx.ledger, kmeId, caller, slaveId);
  if (who !== 200) return { expect: [who] };
  // No SAE is its own slave (C28).
  if (slaveId === caller) return BAD_REQUEST;
  if (verdict === 'value') return BAD_REQUEST;
  const request = Object.fromEntries(Object.entries(parseQuery(query)).map(([name, value]) => [name, Number(value)]));
  return delivered(ctx, kmeId, caller, slaveId, request);
}

function retrieved(ctx: PlanContext, kmeId: string, caller: string, masterId: string, ids: readonly string[]): Expectation {
  const verdict = judgeDecKeys(ctx.ledger, ctx.profile, kmeId, caller, masterId, ids);
  return verdict === 200 ? { expect: [200], onOk: recordRetrieval(ctx, ids) } : { expect: [verdict] };
}

/** POST dec_keys; `text` undefined sends no body (refused: a Key IDs body is required). */
export function expectDecPost(ctx: PlanContext, kmeId: string, caller: string | null, masterId: string, text: string | undefined): Expectation {
  const parsed = text === undefined ? undefined : parseLikeServer(text);
  if (text !== undefined && parsed === undefined) return BAD_REQUEST;
  if (caller === null) return UNAUTHORIZED;
  const ids = parsed === undefined ? null : keyIdsOf(parsed.value);
  if (ids === null) return BAD_REQUEST;
  return retrieved(ctx, kmeId, caller, masterId, ids);
}

export function expectDecGet(ctx: PlanContext, kmeId: string, caller: string | null, masterId: string, query: string): Expectation {
  if (caller === null) return UNAUTHORIZED;
  const id = keyIdFromQuery(query);
  if (id === null) return BAD_REQUEST;
  return retrieved(ctx, kmeId, caller, masterId, [id]);
}
