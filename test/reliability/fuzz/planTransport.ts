// Hostile requests about the transport rather than the payload: wrong methods, content types and
// encodings, missing and forged identity headers, and requests only a raw socket can send.
import { judgeRegister } from './expectations.js';
import type { IdentityVariant, Step } from './fuzzSteps.js';
import {
  etsiPath,
  jsonInner,
  keyIdsBody,
  healthPlan,
  pickCaller,
  SAE_HEADER,
  sceneOf,
  seg,
  utf8,
  type Plan,
  type PlanContext,
} from './planCommon.js';
import { nameFor } from './planValid.js';
import { callerOf, expectDecGet, expectDecPost, expectEncGet, expectEncPost, expectStatus, type Expectation } from './routeExpectations.js';

type StepOf<T extends Step['t']> = Extract<Step, { t: T }>;
type Headers = Record<string, string | readonly string[]>;

export function planMethod(ctx: PlanContext, step: StepOf<'method'>): Plan {
  const scene = sceneOf(ctx, step.m, step.s, step.m, 2);
  if (scene === undefined) return healthPlan('method.none');
  const { method } = step;
  const sendsBody = step.withBody && !['GET', 'HEAD', 'TRACE'].includes(method);
  const text = sendsBody ? '{}' : undefined;
  const body = text === undefined ? {} : { body: utf8(text) };
  const json = sendsBody ? { 'Content-Type': 'application/json' } : {};
  const label = `method ${method} on ${step.route}`;
  const notAllowed = { expect: [405] };
  const pool = ctx.profile.poolRoutes;
  switch (step.route) {
    case 'status': {
      const headers = { [SAE_HEADER]: scene.master.id, ...json };
      const request = { kme: scene.master.kme, method, path: etsiPath('status', seg(scene.slave.id)), headers, ...body };
      if (method === 'GET' || method === 'HEAD') return { label, request, ...expectStatus(ctx, scene.master.kmeId, scene.master.id, scene.slave.id) };
      return { label, request, ...notAllowed };
    }
    case 'enc': {
      const headers = { [SAE_HEADER]: scene.master.id, ...json };
      const request = { kme: scene.master.kme, method, path: etsiPath('enc', seg(scene.slave.id)), headers, ...body };
      if (method === 'GET') return { label, request, ...expectEncGet(ctx, scene.master.kmeId, scene.master.id, scene.slave.id, '') };
      if (method === 'POST') return { label, request, ...expectEncPost(ctx, scene.master.kmeId, scene.master.id, scene.slave.id, text) };
      return { label, request, ...notAllowed };
    }
    case 'dec': {
      const { group } = scene;
      const headers = { [SAE_HEADER]: group.slave.id, ...json };
      const request = { kme: group.slave.kme, method, path: etsiPath('dec', seg(group.master)), headers, ...body };
      if (method === 'GET') return { label, request, ...expectDecGet(ctx, group.slave.kmeId, group.slave.id, group.master, '') };
      if (method === 'POST') return { label, request, ...expectDecPost(ctx, group.slave.kmeId, group.slave.id, group.master, text) };
      return { label, request, ...notAllowed };
    }
    case 'register': {
      const headers = { [SAE_HEADER]: scene.master.id, ...json };
      const request = { kme: scene.master.kme, method, path: '/api/v1/keys/register', headers, ...body };
      if (!pool) return { label, request, expect: [404] };
      // DELETE /api/v1/keys/register asks to delete an SAE named "register", which only it may do.
      if (method === 'DELETE') return { label, request, expect: [401] };
      return { label, request, expect: [method === 'POST' ? 400 : 405] };
    }
    case 'refill': {
      const headers = { [SAE_HEADER]: scene.master.id, ...json };
      const request = { kme: scene.master.kme, method, path: `/api/v1/keys/${seg(scene.master.id)}/refill`, headers, ...body };
      if (!pool) return { label, request, expect: [404] };
      return { label, request, expect: [method === 'POST' ? 200 : 405] };
    }
    case 'admin': {
      const request = { kme: 0, method, path: '/_kmesim/state', headers: { ...json }, ...body };
      return method === 'GET' || method === 'HEAD' ? { label, request, expect: [200], readOnly: true } : { label, request, expect: [405] };
    }
  }
}

/** Content types: whether the server must take the body as JSON, refuse it (415), or may do either. */
const CONTENT_TYPES: ReadonlyArray<{ readonly type: string | null; readonly verdict: 'json' | 415 | 'either' }> = [
  { type: null, verdict: 415 },
  { type: 'text/plain', verdict: 415 },
  { type: 'application/x-www-form-urlencoded', verdict: 415 },
  { type: 'multipart/form-data; boundary=x', verdict: 415 },
  { type: 'application/json', verdict: 'json' },
  { type: 'APPLICATION/JSON', verdict: 'json' },
  { type: 'application/json; charset=utf-8', verdict: 'json' },
  { type: 'application/json; charset=UTF-8', verdict: 'json' },
  { type: 'application/json; charset=latin1', verdict: 415 },
  { type: 'application/json; charset=utf-16', verdict: 'either' },
  { type: 'application/vnd.api+json', verdict: 415 },
  { type: 'application/jsonx', verdict: 415 },
  { type: 'application/*', verdict: 415 },
  { type: 'json', verdict: 415 },
  { type: '', verdict: 415 },
  { type: 'application/json;charset=utf-8;charset=latin1', verdict: 'either' },
  { type: 'text/json', verdict: 415 },
  { type: 'application/json, text/plain', verdict: 415 },
  { type: ' application/json ', verdict: 'json' },
  { type: 'application/problem+json', verdict: 415 },
];

/** Content encodings: none, one the parser cannot inflate this body with (400), or an unknown one (415). */
const ENCODINGS: ReadonlyArray<{ readonly encoding: string | null; readonly verdict: 'pass' | 400 | 415 }> = [
  { encoding: null, verdict: 'pass' },
  { encoding: 'identity', verdict: 'pass' },
  { encoding: 'gzip', verdict: 400 },
  { encoding: 'deflate', verdict: 400 },
  { encoding: 'br', verdict: 400 },
  { encoding: 'compress', verdict: 415 },
  { encoding: 'x-unknown', verdict: 415 },
  { encoding: 'GZIP', verdict: 400 },
  { encoding: 'gzip, identity', verdict: 415 },
  { encoding: null, verdict: 'pass' },
];

export function planContentType(ctx: PlanContext, step: StepOf<'contentType'>): Plan {
  const scene = sceneOf(ctx, step.m, step.s, step.k, 2);
  if (scene === undefined) return healthPlan('contentType.none');
  const type = CONTENT_TYPES[step.type % CONTENT_TYPES.length] as (typeof CONTENT_TYPES)[number];
  const encoding = ENCODINGS[step.encoding % ENCODINGS.length] as (typeof ENCODINGS)[number];
  const route = step.route === 'register' && !ctx.profile.poolRoutes ? 'enc' : step.route;
  const extra: Record<string, string> = { ...(type.type === null ? {} : { 'Content-Type': type.type }), ...(encoding.encoding === null ? {} : { 'Content-Encoding': encoding.encoding }) };
  let kme: number;
  let path: string;
  let text: string;
  let headers: Headers;
  let accepted: Expectation;
  if (route === 'enc') {
    ({ kme } = scene.master);
    path = etsiPath('enc', seg(scene.slave.id));
    text = '{}';
    headers = { [SAE_HEADER]: scene.master.id, ...extra };
    accepted = expectEncPost(ctx, scene.master.kmeId, scene.master.id, scene.slave.id, text);
  } else if (route === 'dec') {
    const { group } = scene;
    ({ kme } = group.slave);
    path = etsiPath('dec', seg(group.master));
    text = keyIdsBody(group.ids);
    headers = { [SAE_HEADER]: group.slave.id, ...extra };
    accepted = expectDecPost(ctx, group.slave.kmeId, group.slave.id, group.master, text);
  } else {
    ({ kme } = scene.master);
    const kmeId = scene.master.kmeId;
    path = '/api/v1/keys/register';
    text = `{"sae_id":"${jsonInner(nameFor(ctx, step.name))}"}`;
    headers = extra;
    const verdict = judgeRegister(ctx.ledger, ctx.profile, kmeId, JSON.parse(text));
    accepted =
      'refused' in verdict
        ? { expect: [400] }
        : {
            expect: [200],
            onOk: () => {
              ctx.ledger.registerSae(verdict.saeId, kmeId);
              return null;
            },
          };
  }
  const label = `content type ${type.verdict === 'json' ? 'JSON variant' : type.verdict === 415 ? 'not JSON' : 'ambiguous'}${encoding.encoding === null ? '' : ', content encoding'}`;
  const request = { kme, method: 'POST', path, headers, body: utf8(text) };
  if (type.verdict === 415) return { label, request, expect: [415] };
  const afterType: Expectation = encoding.verdict === 'pass' ? accepted : { expect: [encoding.verdict] };
  if (type.verdict === 'json') return { label, request, ...afterType };
  return { label, request, ...afterType, expect: [...new Set([400, 415, ...afterType.expect])] };
}

function identityHeaders(ctx: PlanContext, variant: IdentityVariant, caller: string, other: number): Headers {
  switch (variant) {
    case 'missing':
      return {};
    case 'empty':
      return { [SAE_HEADER]: '' };
    case 'unknown':
      return { [SAE_HEADER]: `ghost-${other}` };
    case 'otherSae': {
      const forged = pickCaller(ctx, other);
      return { [SAE_HEADER]: forged === undefined || forged.id === caller ? `ghost-${other}` : forged.id };
    }
    case 'duplicate':
      return { [SAE_HEADER]: [caller, caller] };
    case 'padded':
      return { [SAE_HEADER]: ` \t${caller}  ` };
    case 'lowercased':
      return { [SAE_HEADER]: caller.toLowerCase() };
    case 'headerNameCase':
      return { [SAE_HEADER.toLowerCase()]: caller };
    case 'wrongHeaderName':
      return { [other % 2 === 0 ? 'X-SAE' : 'SAE-ID']: caller };
    case 'latin1Suffix':
      return { [SAE_HEADER]: `${caller}\xe9` };
    case 'forwardedFor':
      return { [SAE_HEADER]: caller, 'X-Forwarded-For': '10.0.0.1', Forwarded: 'for=10.0.0.1', 'X-Real-IP': '10.0.0.1' };
  }
}

export function planIdentity(ctx: PlanContext, step: StepOf<'identity'>): Plan {
  const scene = sceneOf(ctx, step.m, step.s, step.k, 2);
  if (scene === undefined) return healthPlan('identity.none');
  const label = `identity ${step.variant}`;
  const json = { 'Content-Type': 'application/json' };
  if (step.route === 'status') {
    const headers = identityHeaders(ctx, step.variant, scene.master.id, step.other);
    const request = { kme: scene.master.kme, method: 'GET', path: etsiPath('status', seg(scene.slave.id)), headers };
    return { label, request, ...expectStatus(ctx, scene.master.kmeId, callerOf(headers), scene.slave.id) };
  }
  if (step.route === 'enc') {
    const headers = { ...identityHeaders(ctx, step.variant, scene.master.id, step.other), ...json };
    const request = { kme: scene.master.kme, method: 'POST', path: etsiPath('enc', seg(scene.slave.id)), headers, body: utf8('{}') };
    return { label, request, ...expectEncPost(ctx, scene.master.kmeId, callerOf(headers), scene.slave.id, '{}') };
  }
  const { group } = scene;
  const headers = { ...identityHeaders(ctx, step.variant, group.slave.id, step.other), ...json };
  const text = keyIdsBody(group.ids);
  const request = { kme: group.slave.kme, method: 'POST', path: etsiPath('dec', seg(group.master)), headers, body: utf8(text) };
  return { label, request, ...expectDecPost(ctx, group.slave.kmeId, callerOf(headers), group.master, text) };
}

export function planProtocol(ctx: PlanContext, step: StepOf<'protocol'>): Plan {
  const scene = sceneOf(ctx, step.m, step.s, 0);
  if (scene === undefined) return healthPlan('protocol.none');
  const status = etsiPath('status', seg(scene.slave.id));
  const common = `Host: 127.0.0.1\r\n${SAE_HEADER}: ${scene.master.id}\r\nConnection: close\r\n`;
  const wires: Record<StepOf<'protocol'>['variant'], { head: string; status: number }> = {
    unknownMethod: { head: `FOO ${status} HTTP/1.1\r\n${common}\r\n`, status: 400 },
    expect: { head: `GET ${status} HTTP/1.1\r\n${common}Expect: fancy-feature\r\n\r\n`, status: 417 },
    lengthAndChunked: {
      head: `POST ${etsiPath('enc', seg(scene.slave.id))} HTTP/1.1\r\n${common}Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      status: 400,
    },
    longHeader: { head: `GET ${status} HTTP/1.1\r\n${common}X-Padding: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431 },
    longPath: { head: `GET ${status}?pad=${'a'.repeat(20_000)} HTTP/1.1\r\n${common}\r\n`, status: 431 },
    highBytePath: { head: `GET /api/v1/keys/\xe9\xff/status HTTP/1.1\r\n${common}\r\n`, status: 400 },
  };
  const wire = wires[step.variant];
  return {
    label: `protocol ${step.variant}`,
    request: { kme: scene.master.kme, method: 'RAW', path: '', headers: {}, wire: Buffer.from(wire.head, 'latin1') },
    expect: [wire.status],
  };
}
