// Hostile requests: wrong types and values in bodies and queries, malformed JSON, unicode and encoded SAE
// IDs, path tricks, admin paths behind ETSI prefixes, oversize bodies, thousands of key IDs, wrong methods
// and content types, missing and forged identity, requests Node's parser refuses. Each comes with the
// statuses a conforming server may answer; whatever it answers, a refusal must change nothing.
import type { Step } from './fuzzSteps.js';
import { isHeaderSafe } from './fuzzLedger.js';
import {
  BODY_LIMIT_BYTES,
  etsiPath,
  HEAD_LIMIT_BYTES,
  jsonHeaders,
  jsonInner,
  keyIdsBody,
  objectText,
  parseLikeServer,
  pickCaller,
  pickKeyGroup,
  pickSae,
  SAE_HEADER,
  sanitizeTarget,
  seg,
  unknownKeyId,
  utf8,
  healthPlan,
  sceneOf,
  type KeyGroup,
  type Plan,
  type PlanContext,
  type Scene,
} from './planCommon.js';
import { callerOf, decodeSegment, expectDecGet, expectDecPost, expectEncGet, expectEncPost, expectStatus, type Expectation } from './routeExpectations.js';

type StepOf<T extends Step['t']> = Extract<Step, { t: T }>;
type Headers = Record<string, string | readonly string[]>;

const NOT_ADMIN = [400, 401, 404, 405];

/** The base request of a route from a scene, with its expectation for `headers` and `query`. */
function routeRequest(ctx: PlanContext, route: 'status' | 'enc' | 'dec', scene: Scene, headers: Headers, query = ''): { kme: number; path: string; body?: Buffer; method: string; expectation: Expectation } {
  const caller = callerOf(headers);
  if (route === 'status') {
    return { kme: scene.master.kme, method: 'GET', path: etsiPath('status', seg(scene.slave.id)), expectation: expectStatus(ctx, scene.master.kmeId, caller, scene.slave.id, query) };
  }
  if (route === 'enc') {
    return { kme: scene.master.kme, method: 'POST', path: etsiPath('enc', seg(scene.slave.id)), body: utf8('{}'), expectation: query === '' ? expectEncPost(ctx, scene.master.kmeId, caller, scene.slave.id, '{}') : { expect: caller === null ? [401] : [400] } };
  }
  const text = keyIdsBody(scene.group.ids.slice(0, 1));
  const { slave } = scene.group;
  return { kme: slave.kme, method: 'POST', path: etsiPath('dec', seg(scene.group.master)), body: utf8(text), expectation: query === '' ? expectDecPost(ctx, slave.kmeId, caller, scene.group.master, text) : { expect: caller === null ? [401] : [400] } };
}

function callerHeaders(route: 'status' | 'enc' | 'dec', scene: Scene): Record<string, string> {
  const id = route === 'dec' ? scene.group.slave.id : scene.master.id;
  return route === 'status' ? { [SAE_HEADER]: id } : jsonHeaders(id);
}

export function planEncBody(ctx: PlanContext, step: StepOf<'encBody'>): Plan {
  const scene = sceneOf(ctx, step.m, step.s, 0);
  if (scene === undefined) return healthPlan('encBody.none');
  const others = [...ctx.ledger.saes.keys()].filter((id) => id !== scene.master.id && id !== scene.slave.id);
  const fill = (placeholder: string): string => {
    switch (placeholder) {
      case '$SLAVE':
        return jsonInner(scene.slave.id);
      case '$MASTER':
        return jsonInner(scene.master.id);
      case '$OTHER':
        return jsonInner(others[step.m % Math.max(1, others.length)] ?? 'nobody');
      case '$MANY_SAES':
        return JSON.stringify(Array.from({ length: 2_000 }, (_, i) => `sae-${i}`));
      default:
        return placeholder;
    }
  };
  const text = objectText(step.members, fill);
  return {
    label: 'enc_keys body: wrong types and values',
    request: { kme: scene.master.kme, method: 'POST', path: etsiPath('enc', seg(scene.slave.id)), headers: jsonHeaders(scene.master.id), body: utf8(text) },
    ...expectEncPost(ctx, scene.master.kmeId, scene.master.id, scene.slave.id, text),
  };
}

function keyIdFiller(ctx: PlanContext, group: KeyGroup, salt: number): (placeholder: string) => string {
  let next = 0;
  let last = group.ids[0] ?? unknownKeyId(ctx, salt);
  const first = group.ids[0] ?? unknownKeyId(ctx, salt);
  return (placeholder) => {
    switch (placeholder) {
      case '$ISSUED':
        last = group.ids[next++] ?? unknownKeyId(ctx, salt + next);
        return jsonInner(last);
      case '$SAME':
        return jsonInner(last);
      case '$UPPER':
        return jsonInner(first.toUpperCase());
      case '$SPACED':
        return jsonInner(`${first} `);
      case '$UNKNOWN':
        return jsonInner(unknownKeyId(ctx, salt + 100_000));
      default:
        return placeholder;
    }
  };
}

export function planDecBody(ctx: PlanContext, step: StepOf<'decBody'>): Plan {
  const scene = sceneOf(ctx, step.k, step.k, step.k);
  if (scene === undefined) return healthPlan('decBody.none');
  const { group } = scene;
  const text = objectText(step.members, keyIdFiller(ctx, group, step.k));
  return {
    label: 'dec_keys body: wrong types and values',
    request: { kme: group.slave.kme, method: 'POST', path: etsiPath('dec', seg(group.master)), headers: jsonHeaders(group.slave.id), body: utf8(text) },
    ...expectDecPost(ctx, group.slave.kmeId, group.slave.id, group.master, text),
  };
}

/** Where a body route lives and who calls it (a caller that passes identity, so the body is what is judged). */
function bodyTarget(route: StepOf<'malformed'>['route'], scene: Scene): { kme: number; path: string; headers: Record<string, string> } {
  switch (route) {
    case 'enc':
      return { kme: scene.master.kme, path: etsiPath('enc', seg(scene.slave.id)), headers: jsonHeaders(scene.master.id) };
    case 'dec':
      return { kme: scene.group.slave.kme, path: etsiPath('dec', seg(scene.group.master)), headers: jsonHeaders(scene.group.slave.id) };
    case 'register':
      return { kme: scene.master.kme, path: '/api/v1/keys/register', headers: jsonHeaders(null) };
    case 'refill':
      return { kme: scene.master.kme, path: `/api/v1/keys/${seg(scene.master.id)}/refill`, headers: jsonHeaders(scene.master.id) };
    case 'advance':
      return { kme: 0, path: '/_kmesim/clock/advance', headers: jsonHeaders(null) };
    case 'reset':
    case 'faults':
      return { kme: 0, path: `/_kmesim/${route}`, headers: jsonHeaders(null) };
  }
}

export function planMalformed(ctx: PlanContext, step: StepOf<'malformed'>): Plan {
  const scene = sceneOf(ctx, step.k, step.k + 1, step.k);
  if (scene === undefined) return healthPlan('malformed.none');
  // Made invalid for certain: '{' followed by any JSON value is never JSON.
  const text = parseLikeServer(step.text) === undefined ? step.text : `{${step.text}`;
  const target = bodyTarget(step.route, scene);
  return { label: `malformed JSON ${step.route}`, request: { kme: target.kme, method: 'POST', path: target.path, headers: target.headers, body: utf8(text) }, expect: [400] };
}

export function planQuery(ctx: PlanContext, step: StepOf<'query'>): Plan {
  const scene = sceneOf(ctx, step.m, step.s, step.k);
  if (scene === undefined) return healthPlan('query.none');
  const fill = keyIdFiller(ctx, scene.group, step.k);
  const query = sanitizeTarget(step.parts.join('&').replace(/\$[A-Z_]+/g, (placeholder) => encodeURIComponent(JSON.parse(`"${fill(placeholder)}"`) as string)));
  if (step.route === 'status') {
    const headers = { [SAE_HEADER]: scene.master.id };
    return { label: 'query status', request: { kme: scene.master.kme, method: 'GET', path: `${etsiPath('status', seg(scene.slave.id))}?${query}`, headers }, ...expectStatus(ctx, scene.master.kmeId, scene.master.id, scene.slave.id, query) };
  }
  if (step.route === 'enc') {
    const headers = { [SAE_HEADER]: scene.master.id };
    return { label: 'query enc_keys', request: { kme: scene.master.kme, method: 'GET', path: `${etsiPath('enc', seg(scene.slave.id))}?${query}`, headers }, ...expectEncGet(ctx, scene.master.kmeId, scene.master.id, scene.slave.id, query) };
  }
  const { group } = scene;
  const headers = { [SAE_HEADER]: group.slave.id };
  return { label: 'query dec_keys', request: { kme: group.slave.kme, method: 'GET', path: `${etsiPath('dec', seg(group.master))}?${query}`, headers }, ...expectDecGet(ctx, group.slave.kmeId, group.slave.id, group.master, query) };
}

const DOT_SEGMENTS = ['.', '..', '%2e', '%2e%2e', '.%2e', '...', '%2E%2E%2F', '..%2F..', '%252e%252e', '..;'];

export function planSaeId(ctx: PlanContext, step: StepOf<'saeId'>): Plan {
  const scene = sceneOf(ctx, step.m, step.m + 1, step.k);
  if (scene === undefined) return healthPlan('saeId.none');
  const { id } = step;
  const known = step.route === 'dec' ? scene.group.master : (pickSae(ctx, id.kind === 'encodedKnown' ? id.s : 0)?.id ?? 'SAE');
  const segment =
    id.kind === 'unicode'
      ? seg(id.text)
      : id.kind === 'encodedKnown'
        ? [...utf8(known)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('')
        : id.kind === 'badPercent'
          ? id.text
          : id.kind === 'long'
            ? 'L'.repeat(id.length)
            : id.kind === 'rawHighBytes'
              ? id.text
              : (DOT_SEGMENTS[id.which % DOT_SEGMENTS.length] as string);
  const headers = callerHeaders(step.route, scene);
  const base = routeRequest(ctx, step.route, scene, headers);
  const path = etsiPath(step.route, segment);
  const request = { kme: base.kme, method: base.method, path, headers, ...(base.body === undefined ? {} : { body: base.body }) };
  const label = `SAE ID ${id.kind}`;
  if (path.length > HEAD_LIMIT_BYTES) return { label, request, expect: [431] };
  if (id.kind === 'rawHighBytes') return { label, request, expect: [400] };
  const decoded = decodeSegment(segment);
  if (decoded === undefined) return { label, request, expect: [400] };
  const caller = callerOf(headers);
  const body = base.body?.toString('utf8');
  const expectation =
    step.route === 'status'
      ? expectStatus(ctx, scene.master.kmeId, caller, decoded)
      : step.route === 'enc'
        ? expectEncPost(ctx, scene.master.kmeId, caller, decoded, body)
        : expectDecPost(ctx, scene.group.slave.kmeId, caller, decoded, body);
  return { label, request, ...expectation };
}

/**
 * Path tricks on a valid request: some are the same request, the rest must miss every route (404); Node's
 * parser refuses a backslash in the request target outright (400).
 */
const PATH_TRICKS: ReadonlyArray<{ readonly name: string; readonly same: boolean | 400; readonly make: (prefix: string, id: string, tail: string) => string }> = [
  { name: 'trailing slash', same: false, make: (p, id, t) => `${p}/${id}/${t}/` },
  { name: 'leading double slash', same: false, make: (p, id, t) => `/${p}/${id}/${t}` },
  { name: 'empty SAE ID', same: false, make: (p, _id, t) => `${p}//${t}` },
  { name: 'inner double slash', same: false, make: (_p, id, t) => `/api/v1//keys/${id}/${t}` },
  { name: 'dot-dot back', same: false, make: (p, id, t) => `${p}/${id}/../${id}/${t}` },
  { name: 'encoded dot-dot back', same: false, make: (p, id, t) => `${p}/${id}/%2e%2e/${id}/${t}` },
  { name: 'dot-dot prefix', same: false, make: (p, id, t) => `${p}/../keys/${id}/${t}` },
  { name: 'encoded slash', same: false, make: (p, id, t) => `${p}/${id}%2F${t}` },
  { name: 'upper case', same: true, make: (_p, id, t) => `/API/V1/KEYS/${id}/${t.toUpperCase()}` },
  { name: 'empty query', same: true, make: (p, id, t) => `${p}/${id}/${t}?` },
  { name: 'fragment', same: true, make: (p, id, t) => `${p}/${id}/${t}#fragment` },
  { name: 'absolute form', same: true, make: (p, id, t) => `http://kme.example${p}/${id}/${t}` },
  { name: 'dot segment', same: false, make: (p, id, t) => `${p}/${id}/./${t}` },
  { name: 'leading dot segment', same: false, make: (p, id, t) => `/.${p}/${id}/${t}` },
  { name: 'matrix parameter', same: false, make: (p, id, t) => `${p}/${id}/${t};x=1` },
  { name: 'encoded letter', same: false, make: (p, id, t) => `${p}/${id}/%${t.charCodeAt(0).toString(16)}${t.slice(1)}` },
  { name: 'encoded NUL', same: false, make: (p, id, t) => `${p}/${id}/${t}%00` },
  { name: 'backslashes', same: 400, make: (p, id, t) => `${p}/${id}/${t}`.replace(/\//g, '\\') },
  { name: 'trailing dot-dot', same: false, make: (p, id, t) => `${p}/${id}/${t}/..` },
  { name: 'trailing double slash', same: false, make: (p, id, t) => `${p}/${id}/${t}//` },
];

export function planPath(ctx: PlanContext, step: StepOf<'path'>): Plan {
  const scene = sceneOf(ctx, step.m, step.s, step.k);
  if (scene === undefined) return healthPlan('path.none');
  const trick = PATH_TRICKS[step.trick % PATH_TRICKS.length] as (typeof PATH_TRICKS)[number];
  const headers = callerHeaders(step.route, scene);
  const base = routeRequest(ctx, step.route, scene, headers);
  const id = step.route === 'dec' ? seg(scene.group.master) : seg(scene.slave.id);
  const tail = step.route === 'status' ? 'status' : step.route === 'enc' ? 'enc_keys' : 'dec_keys';
  const path = trick.make('/api/v1/keys', id, tail);
  const request = { kme: base.kme, method: base.method, path, headers, ...(base.body === undefined ? {} : { body: base.body }) };
  // An encoded slash leaves one segment after /api/v1/keys: the per-user-pool DELETE route's path.
  const missed = trick.name === 'encoded slash' && ctx.profile.poolRoutes ? 405 : 404;
  return { label: `path ${trick.name}`, request, ...(trick.same === true ? base.expectation : { expect: [trick.same === 400 ? 400 : missed] }) };
}

const ADMIN_TARGETS = [
  { path: 'reset', method: 'POST', body: '{"seed":424242}' },
  { path: 'clock/advance', method: 'POST', body: '{"ms":86400000}' },
  { path: 'faults', method: 'POST', body: '{"remote":"offline","failNext":{"count":5,"status":500}}' },
  { path: 'state', method: 'GET', body: undefined },
  { path: 'invariants', method: 'GET', body: undefined },
] as const;

const ADMIN_TRICKS: ReadonlyArray<(target: string) => string> = [
  (t) => `/api/v1/keys/_kmesim/${t}`,
  (t) => `/api/v1/keys/../../../_kmesim/${t}`,
  (t) => `/api/v1/keys/%2e%2e/%2e%2e/%2e%2e/_kmesim/${t}`,
  (t) => `/api/v1/keys/..%2F..%2F..%2F_kmesim%2F${t.replace('/', '%2F')}`,
  (t) => `/api/v1/keys/SAE_A1/../../../_kmesim/${t}`,
  (t) => `/api/v1//_kmesim/${t}`,
  (t) => `/api/v1/keys/_kmesim%2F${t.replace('/', '%2F')}/status`,
  (t) => `/api/v1/keys/%5Fkmesim/${t}`,
  () => '/api/v1/keys/_kmesim/enc_keys',
  (t) => `/api/v1/keys/_KMESIM/${t}`,
  (t) => `/api/v1/keys/%2F_kmesim%2F${t.replace('/', '%2F')}/dec_keys`,
  (t) => `/api/v1/keys/_kmesim/../../../_kmesim/${t}`,
];

export function planAdminVia(ctx: PlanContext, step: StepOf<'adminVia'>): Plan {
  const target = ADMIN_TARGETS[step.target % ADMIN_TARGETS.length] as (typeof ADMIN_TARGETS)[number];
  const path = (ADMIN_TRICKS[step.trick % ADMIN_TRICKS.length] as (t: string) => string)(target.path);
  const caller = step.sae ? pickCaller(ctx, step.trick) : undefined;
  const headers: Record<string, string> = { ...(target.body === undefined ? {} : { 'Content-Type': 'application/json' }), ...(caller === undefined ? { Authorization: 'Bearer not-the-token' } : { [SAE_HEADER]: caller.id }) };
  return {
    label: `admin via ETSI prefix ${target.path}`,
    request: { kme: caller?.kme ?? 0, method: target.method, path, headers, ...(target.body === undefined ? {} : { body: utf8(target.body) }) },
    expect: NOT_ADMIN,
  };
}

export function planAdminBody(step: StepOf<'adminBody'>): Plan {
  const text = objectText(step.members, (placeholder) => placeholder);
  const parsed = parseLikeServer(text);
  const value = parsed?.value as Record<string, unknown> | undefined;
  let ok = false;
  if (value !== undefined && step.target === 'advance') {
    const keys = Object.keys(value);
    const ms = value['ms'];
    ok = keys.length === 1 && keys[0] === 'ms' && Number.isSafeInteger(ms) && (ms as number) >= 0 && (ms as number) <= 10 * 365 * 86_400_000;
  }
  if (value !== undefined && step.target === 'faults') ok = Object.keys(value).length === 0;
  const path = step.target === 'advance' ? '/_kmesim/clock/advance' : `/_kmesim/${step.target}`;
  return {
    label: `admin body ${step.target}`,
    request: { kme: 0, method: 'POST', path, headers: jsonHeaders(null), body: utf8(text) },
    expect: [ok ? 200 : 400],
    ...(ok && step.target === 'faults' ? { readOnly: true } : {}),
  };
}

export function planOversize(ctx: PlanContext, step: StepOf<'oversize'>): Plan {
  const scene = sceneOf(ctx, step.m, step.s, 0);
  if (scene === undefined) return healthPlan('oversize.none');
  const target = bodyTarget(step.route, scene);
  // Well-formed JSON that would be accepted were it small: only its size is wrong.
  const body = Buffer.concat([utf8('{"pad":"'), Buffer.alloc(step.bytes - 10, 0x78), utf8('"}')]);
  return {
    label: `oversize body ${step.chunked ? 'chunked' : 'with length'}`,
    request: { kme: target.kme, method: 'POST', path: target.path, headers: target.headers, body, chunked: step.chunked },
    expect: [413],
  };
}

export function planManyIds(ctx: PlanContext, step: StepOf<'manyIds'>): Plan {
  const scene = sceneOf(ctx, step.k, step.k, step.k);
  if (scene === undefined) return healthPlan('manyIds.none');
  const group = pickKeyGroup(ctx, step.k, step.count) ?? scene.group;
  const unknown = (i: number): string => unknownKeyId(ctx, step.k * 10_000 + i);
  let ids: string[];
  switch (step.mode) {
    case 'unknown':
      ids = Array.from({ length: step.count }, (_, i) => unknown(i));
      break;
    case 'duplicate':
      ids = Array.from({ length: step.count }, () => group.ids[0] as string);
      break;
    case 'issuedPlusUnknown':
    case 'notSlave':
      ids = [...group.ids.slice(0, step.count - 1), ...Array.from({ length: Math.max(1, step.count - group.ids.length) }, (_, i) => unknown(i))];
      break;
    case 'malformed':
      ids = [...group.ids.slice(0, step.count - 1), ...Array.from({ length: step.count - Math.min(group.ids.length, step.count - 1) - 1 }, (_, i) => unknown(i)), 'not-a-key-id'];
      break;
  }
  const other = pickSae(ctx, step.k + 1, group.slave.id);
  const callerId = step.mode === 'notSlave' && other !== undefined && isHeaderSafe(other.id) ? other.id : group.slave.id;
  const text = keyIdsBody(ids);
  const request = { kme: group.slave.kme, method: 'POST', path: etsiPath('dec', seg(group.master)), headers: jsonHeaders(callerId), body: utf8(text) };
  const label = `thousands of key IDs ${step.mode}`;
  if (Buffer.byteLength(text) > BODY_LIMIT_BYTES) return { label, request, expect: [413] };
  return { label, request, ...expectDecPost(ctx, group.slave.kmeId, callerId, group.master, text) };
}
