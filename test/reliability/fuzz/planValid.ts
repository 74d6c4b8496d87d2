// Valid traffic and the per-user-pool routes: the requests that give the world its state (keys reserved
// and retrieved, pools drained, exhausted and refilled, SAEs registered and deleted).
import { judgeRegister } from './expectations.js';
import type { Step } from './fuzzSteps.js';
import {
  etsiPath,
  healthPlan,
  jsonHeaders,
  jsonInner,
  keyIdsBody,
  objectText,
  parseLikeServer,
  pickCaller,
  pickKeyGroup,
  pickSae,
  SAE_HEADER,
  saeOf,
  seg,
  utf8,
  type Plan,
  type PlanContext,
  type Sae,
} from './planCommon.js';
import { expectDecGet, expectDecPost, expectEncGet, expectEncPost, expectStatus } from './routeExpectations.js';

type StepOf<T extends Step['t']> = Extract<Step, { t: T }>;

/** Key sizes a valid request may ask for under the profile. */
function validSize(ctx: PlanContext, n: number): number {
  const sizes = [ctx.profile.minKeySizeBits, ctx.profile.keySizeBits, ctx.profile.maxKeySizeBits, 1_024].filter(
    (size) => size >= ctx.profile.minKeySizeBits && size <= ctx.profile.maxKeySizeBits && size % 8 === 0,
  );
  return sizes[n % sizes.length] as number;
}

export function planStatus(ctx: PlanContext, step: StepOf<'status'>): Plan {
  const master = pickCaller(ctx, step.m);
  const slave = pickSae(ctx, step.s);
  if (master === undefined || slave === undefined) return healthPlan('status.none');
  const headers = { [SAE_HEADER]: master.id };
  return { label: 'valid.status', request: { kme: master.kme, method: 'GET', path: etsiPath('status', seg(slave.id)), headers }, ...expectStatus(ctx, master.kmeId, master.id, slave.id) };
}

function encPair(ctx: PlanContext, step: StepOf<'enc'>): { master: Sae; slave: Sae } | undefined {
  const hotMaster = saeOf(ctx, ctx.hot.master);
  const hotSlave = saeOf(ctx, ctx.hot.slave);
  if (step.hot && hotMaster !== undefined && hotSlave !== undefined) return { master: hotMaster, slave: hotSlave };
  const master = pickCaller(ctx, step.m);
  const slave = pickSae(ctx, step.s);
  return master === undefined || slave === undefined ? undefined : { master, slave };
}

export function planEnc(ctx: PlanContext, step: StepOf<'enc'>): Plan {
  const pair = encPair(ctx, step);
  if (pair === undefined) return healthPlan('enc.none');
  const { master, slave } = pair;
  const size = step.sized ? validSize(ctx, step.n) : undefined;
  const path = etsiPath('enc', seg(slave.id));
  if (step.via === 'get') {
    const query = `number=${step.n}${size === undefined ? '' : `&size=${size}`}`;
    return {
      label: 'valid.enc_keys GET',
      request: { kme: master.kme, method: 'GET', path: `${path}?${query}`, headers: { [SAE_HEADER]: master.id } },
      ...expectEncGet(ctx, master.kmeId, master.id, slave.id, query),
    };
  }
  const text = JSON.stringify(size === undefined ? { number: step.n } : { number: step.n, size });
  return {
    label: 'valid.enc_keys POST',
    request: { kme: master.kme, method: 'POST', path, headers: jsonHeaders(master.id), body: utf8(text) },
    ...expectEncPost(ctx, master.kmeId, master.id, slave.id, text),
  };
}

export function planDec(ctx: PlanContext, step: StepOf<'dec'>): Plan {
  const group = pickKeyGroup(ctx, step.k, step.via === 'get' ? 1 : step.n);
  if (group === undefined) return planStatus(ctx, { t: 'status', m: step.k, s: step.n });
  const { slave, master, ids } = group;
  const path = etsiPath('dec', seg(master));
  if (step.via === 'get') {
    const query = `key_ID=${seg(ids[0] as string)}`;
    return {
      label: 'valid.dec_keys GET',
      request: { kme: slave.kme, method: 'GET', path: `${path}?${query}`, headers: { [SAE_HEADER]: slave.id } },
      ...expectDecGet(ctx, slave.kmeId, slave.id, master, query),
    };
  }
  const text = keyIdsBody(ids);
  return {
    label: 'valid.dec_keys POST',
    request: { kme: slave.kme, method: 'POST', path, headers: jsonHeaders(slave.id), body: utf8(text) },
    ...expectDecPost(ctx, slave.kmeId, slave.id, master, text),
  };
}

export function planAdvance(step: StepOf<'advance'>): Plan {
  const body = utf8(JSON.stringify({ ms: step.ms }));
  return { label: 'valid.clock advance', request: { kme: 0, method: 'POST', path: '/_kmesim/clock/advance', headers: jsonHeaders(null), body }, expect: [200] };
}

export function planLink(ctx: PlanContext, step: StepOf<'link'>): Plan {
  const [a, b] = ctx.ledger.kmeIds;
  if (b === undefined) return healthPlan('link.none');
  const body = utf8(JSON.stringify({ link: { id: `${a}~${b}`, remote: step.down ? 'offline' : 'online' } }));
  return { label: 'valid.link fault', request: { kme: 0, method: 'POST', path: '/_kmesim/faults', headers: jsonHeaders(null), body }, expect: [200] };
}

export function planRead(ctx: PlanContext, step: StepOf<'read'>): Plan {
  const paths: Record<StepOf<'read'>['what'], string> = {
    health: '/health',
    openapi: '/openapi.json',
    adminState: '/_kmesim/state',
    invariants: '/_kmesim/invariants',
    pools: '/api/v1/keys/pools',
    kmStatus: '/api/v1/keys/km/status',
  };
  const poolOnly = step.what === 'pools' || step.what === 'kmStatus';
  if (poolOnly && !ctx.profile.poolRoutes) return healthPlan('valid.read');
  const onOk =
    step.what === 'invariants'
      ? (body: unknown): string | null => ((body as { holds?: unknown }).holds === true ? null : `live invariants broken: ${JSON.stringify(body).slice(0, 400)}`)
      : undefined;
  return { label: `valid.read ${step.what}`, request: { kme: 0, method: 'GET', path: paths[step.what], headers: {} }, expect: [200], readOnly: true, ...(onOk === undefined ? {} : { onOk }) };
}

/** Names an SAE may register with: plain, latin1, non-latin1 (never a caller), and names built to collide. */
export function nameFor(ctx: PlanContext, n: number): string {
  const live = [...ctx.ledger.saes.keys()];
  const base = live[n % Math.max(1, live.length)] ?? 'SAE';
  const other = ctx.ledger.kmeIds[(n >> 3) % ctx.ledger.kmeIds.length] as string;
  const templates = [
    `user${n}`,
    `user-${n}@example.org`,
    `Ünïcödé${n}`,
    `名前${n}`,
    `${base}_${other}`,
    `${base}_${n}`,
    `a/b${n}`,
    `%41${n}`,
    `..${n}`,
    `${n}`,
    `x y${n}`,
    `${base}`,
  ];
  return templates[n % templates.length] as string;
}

export function planRegister(ctx: PlanContext, step: StepOf<'register'>): Plan {
  const kmeId = ctx.ledger.kmeIds[step.kme % ctx.ledger.kmeIds.length] as string;
  const live = [...ctx.ledger.saes.keys()];
  const fill = (placeholder: string): string => {
    switch (placeholder) {
      case '$NAME':
        return jsonInner(nameFor(ctx, step.name));
      case '$EXISTING':
        return jsonInner(live[step.name % Math.max(1, live.length)] ?? 'SAE_A1');
      case '$LONG_NAME':
        return 'n'.repeat(257);
      default:
        return placeholder;
    }
  };
  const text = objectText([['sae_id', '"$NAME"'], ...step.members], fill);
  const parsed = parseLikeServer(text);
  const verdict = parsed === undefined ? ({ refused: 400 } as const) : judgeRegister(ctx.ledger, ctx.profile, kmeId, parsed.value);
  const request = { kme: step.kme % ctx.ledger.kmeIds.length, method: 'POST', path: '/api/v1/keys/register', headers: jsonHeaders(null), body: utf8(text) };
  if ('refused' in verdict) return { label: step.members.length === 0 ? 'pool.register' : 'pool.register body', request, expect: [verdict.refused] };
  return {
    label: step.members.length === 0 ? 'pool.register' : 'pool.register body',
    request,
    expect: [200],
    onOk: (body) => {
      const answer = body as { sae_id?: unknown; kme_id?: unknown };
      if (answer.sae_id !== verdict.saeId || answer.kme_id !== kmeId) return `register answered ${JSON.stringify(body).slice(0, 200)}`;
      ctx.ledger.registerSae(verdict.saeId, kmeId);
      return null;
    },
  };
}

function poolTarget(ctx: PlanContext, caller: Sae, target: 'self' | 'other' | 'unknown', m: number): { path: string; caller: string; expect: 200 | 400 | 401 } {
  if (target === 'self') return { path: caller.id, caller: caller.id, expect: 200 };
  if (target === 'unknown') return { path: `ghost-${m}`, caller: `ghost-${m}`, expect: 400 };
  const other = pickSae(ctx, m + 1, caller.id);
  return other === undefined ? { path: caller.id, caller: caller.id, expect: 200 } : { path: other.id, caller: caller.id, expect: 401 };
}

export function planRefill(ctx: PlanContext, step: StepOf<'refill'>): Plan {
  const caller = pickCaller(ctx, step.m);
  if (caller === undefined) return healthPlan('refill.none');
  const target = poolTarget(ctx, caller, step.target, step.m);
  const parsed = step.body === null ? { value: undefined } : parseLikeServer(step.body);
  const value = parsed?.value;
  const count = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { count?: unknown }).count : undefined;
  const bodyOk = parsed !== undefined && (value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value) && (count === undefined || (Number.isSafeInteger(count) && (count as number) >= 1))));
  const headers = step.body === null ? { [SAE_HEADER]: target.caller } : jsonHeaders(target.caller);
  return {
    label: `pool.refill ${step.target}`,
    request: { kme: caller.kme, method: 'POST', path: `/api/v1/keys/${seg(target.path)}/refill`, headers, ...(step.body === null ? {} : { body: utf8(step.body) }) },
    expect: [bodyOk ? target.expect : 400],
  };
}

export function planDelete(ctx: PlanContext, step: StepOf<'delete'>): Plan {
  const caller = pickCaller(ctx, step.m);
  if (caller === undefined) return healthPlan('delete.none');
  const target = poolTarget(ctx, caller, step.target, step.m);
  return {
    label: `pool.delete ${step.target}`,
    request: { kme: caller.kme, method: 'DELETE', path: `/api/v1/keys/${seg(target.path)}`, headers: { [SAE_HEADER]: target.caller } },
    expect: [target.expect],
    ...(target.expect === 200
      ? {
          onOk: () => {
            ctx.ledger.deleteSae(target.path);
            return null;
          },
        }
      : {}),
  };
}

export function planKmSync(ctx: PlanContext, step: StepOf<'kmSync'>): Plan {
  const caller = pickCaller(ctx, step.m);
  if (caller === undefined) return healthPlan('kmSync.none');
  const id = step.unknownCaller ? `ghost-${step.m}` : caller.id;
  return { label: 'pool.km/sync', request: { kme: caller.kme, method: 'POST', path: '/api/v1/keys/km/sync', headers: { [SAE_HEADER]: id } }, expect: [step.unknownCaller ? 401 : 200] };
}
