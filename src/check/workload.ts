// The client actions of a check's workloads and how each is sent: enc_keys of many shapes (GET and POST),
// dec_keys by the right slave, the master or a third SAE, through either KME, repeated, with unknown IDs
// mixed in, status, malformed requests, concurrent bursts; restarts and remote outages when the target has
// a kmesim admin API. fast-check generates them (actionArb); the session records and judges what they get.
import fc from 'fast-check';
import { violation } from '../model/violation.js';
import type { CheckSession, KeyHandle, Meaning, TranscriptEntry } from './checkSession.js';
import type { Target } from './targetSchema.js';

export type Action =
  | { readonly t: 'enc'; readonly pair: number; readonly number: number; readonly size: 'default' | 'double' | 'odd'; readonly get: boolean }
  | { readonly t: 'dec'; readonly key: number; readonly who: 'slave' | 'master' | 'third'; readonly otherEnd: boolean; readonly unknown: boolean; readonly get: boolean }
  | { readonly t: 'status'; readonly pair: number }
  | { readonly t: 'burstEnc'; readonly pair: number; readonly width: number }
  | { readonly t: 'burstDec'; readonly key: number; readonly width: number; readonly otherEnd: boolean }
  | { readonly t: 'malformed'; readonly pair: number; readonly kind: number }
  | { readonly t: 'restart'; readonly kme: number }
  | { readonly t: 'outage'; readonly pair: number };

const UNKNOWN_KEY_ID = '0f0e0d0c-0b0a-4908-8706-050403020100';

/** The malformed requests a client can send; every one must get a 4xx ETSI Error body, never a 5xx (I13). */
const MALFORMED: ReadonlyArray<(slave: string, master: string) => { method: 'GET' | 'POST'; path: string; body?: string | { raw: string; contentType: string } }> = [
  (slave) => ({ method: 'POST', path: `/api/v1/keys/${slave}/enc_keys`, body: { raw: '{"number": 1', contentType: 'application/json' } }),
  (slave) => ({ method: 'POST', path: `/api/v1/keys/${slave}/enc_keys`, body: '[1,2,3]' }),
  (slave) => ({ method: 'POST', path: `/api/v1/keys/${slave}/enc_keys`, body: '{"number":"2"}' }),
  (slave) => ({ method: 'POST', path: `/api/v1/keys/${slave}/enc_keys`, body: '{"number":-3}' }),
  (slave) => ({ method: 'POST', path: `/api/v1/keys/${slave}/enc_keys`, body: '{"number":1e12}' }),
  (slave) => ({ method: 'POST', path: `/api/v1/keys/${slave}/enc_keys`, body: '{"number":1.5}' }),
  (slave) => ({ method: 'POST', path: `/api/v1/keys/${slave}/enc_keys`, body: '{"size":0}' }),
  (slave) => ({ method: 'POST', path: `/api/v1/keys/${slave}/enc_keys`, body: { raw: 'number=1', contentType: 'application/x-www-form-urlencoded' } }),
  (slave) => ({ method: 'GET', path: `/api/v1/keys/${slave}/enc_keys?number=abc` }),
  (slave) => ({ method: 'POST', path: `/api/v1/keys/${slave}/enc_keys`, body: '{"extension_mandatory":[{"kmesim_no_such_extension":true}]}' }),
  (_slave, master) => ({ method: 'POST', path: `/api/v1/keys/${master}/dec_keys`, body: '{"key_IDs":[]}' }),
  (_slave, master) => ({ method: 'POST', path: `/api/v1/keys/${master}/dec_keys`, body: '{"key_IDs":"nope"}' }),
  (_slave, master) => ({ method: 'POST', path: `/api/v1/keys/${master}/dec_keys`, body: '{"key_IDs":[{"key_ID":"not-a-uuid"}]}' }),
  (_slave, master) => ({ method: 'POST', path: `/api/v1/keys/${master}/dec_keys`, body: '{}' }),
  (_slave, master) => ({ method: 'GET', path: `/api/v1/keys/${master}/dec_keys` }),
  (slave) => ({ method: 'GET', path: `/api/v1/keys/${encodeURIComponent(`${slave}/../x`)}/status` }),
];

export function actionArb(withAdmin: boolean, maxBurst: number): fc.Arbitrary<Action> {
  const pair = fc.nat({ max: 63 });
  const key = fc.nat({ max: 63 });
  const choices: Array<fc.WeightedArbitrary<Action>> = [
    { weight: 6, arbitrary: fc.record({ t: fc.constant('enc' as const), pair, number: fc.integer({ min: 1, max: 4 }), size: fc.constantFrom('default' as const, 'default' as const, 'double' as const, 'odd' as const), get: fc.boolean() }) },
    {
      weight: 8,
      arbitrary: fc.record({ t: fc.constant('dec' as const), key, who: fc.constantFrom('slave' as const, 'slave' as const, 'slave' as const, 'master' as const, 'third' as const), otherEnd: fc.boolean(), unknown: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }), get: fc.boolean() }),
    },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('status' as const), pair }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('burstEnc' as const), pair, width: fc.integer({ min: 2, max: Math.max(2, maxBurst) }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('burstDec' as const), key, width: fc.integer({ min: 2, max: Math.max(2, maxBurst) }), otherEnd: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('malformed' as const), pair, kind: fc.nat({ max: MALFORMED.length - 1 }) }) },
  ];
  if (withAdmin) {
    choices.push({ weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), kme: fc.nat({ max: 1 }) }) });
    choices.push({ weight: 1, arbitrary: fc.record({ t: fc.constant('outage' as const), pair }) });
  }
  return fc.oneof(...choices);
}

/** Master/slave pairs: each SAE with each other SAE. */
function pairsOf(target: Target): Array<{ master: string; slave: string }> {
  const ids = target.saes.map((sae) => sae.id);
  return ids.flatMap((master) => ids.filter((slave) => slave !== master).map((slave) => ({ master, slave })));
}

export async function adminCall(session: CheckSession, path: string, body: unknown, meaning?: Meaning): Promise<TranscriptEntry | null> {
  const admin = session.target.admin;
  if (admin === undefined) return null;
  const url = new URL(admin);
  // Over mTLS the admin API sits behind the same handshake: present an SAE's certificate, trust its CA.
  const tls = session.target.saes.find((sae) => sae.cert !== undefined);
  const token = session.target.adminToken;
  const caller = {
    id: 'admin',
    kme: '',
    insecure: tls?.insecure ?? false,
    ...(tls === undefined ? {} : { cert: tls.cert, key: tls.key, ca: tls.ca }),
    ...(token === undefined ? {} : { header: 'authorization', value: `Bearer ${token}` }),
  };
  return session.send({
    kmeUrl: `${url.protocol}//${url.host}`,
    sae: tls === undefined && token === undefined ? null : caller,
    method: 'POST',
    path: `${url.pathname.replace(/\/$/, '')}${path}`,
    body: JSON.stringify(body),
  }, meaning);
}

function pickKey(session: CheckSession, index: number): KeyHandle | undefined {
  const keys = session.keys;
  return keys.length === 0 ? undefined : keys[keys.length - 1 - (index % keys.length)];
}

export async function runAction(session: CheckSession, action: Action): Promise<void> {
  const pairs = pairsOf(session.target);
  const pairOf = (index: number) => pairs[index % pairs.length] as { master: string; slave: string };
  switch (action.t) {
    case 'enc': {
      const { master, slave } = pairOf(action.pair);
      const keySize = (await session.keySize(master, slave)) ?? 256;
      const size = action.size === 'default' ? undefined : action.size === 'double' ? keySize * 2 : keySize + 4;
      await session.enc(master, slave, { ...(action.number === 1 ? {} : { number: action.number }), ...(size === undefined ? {} : { size }) }, action.get ? 'GET' : 'POST');
      return;
    }
    case 'status': {
      const { master, slave } = pairOf(action.pair);
      await session.status(master, slave);
      return;
    }
    case 'dec': {
      const key = pickKey(session, action.key);
      if (key === undefined) return;
      const slave = key.slaves[0] as string;
      const others = session.target.saes.filter((sae) => sae.id !== key.master && !key.slaves.includes(sae.id));
      const third = others.find((sae) => sae.kme === session.sae(slave).kme) ?? others[0];
      const caller = action.who === 'slave' ? slave : action.who === 'master' ? key.master : third?.id;
      if (caller === undefined) return;
      const masterKme = session.sae(key.master).kme;
      const kme = action.otherEnd && action.who === 'slave' && masterKme !== session.sae(slave).kme ? masterKme : session.sae(caller).kme;
      const ids = action.unknown ? [key.keyId, UNKNOWN_KEY_ID] : [key.keyId];
      await session.dec(caller, key.master, ids, { kme, method: action.get && ids.length === 1 ? 'GET' : 'POST' });
      return;
    }
    case 'burstEnc': {
      const { master, slave } = pairOf(action.pair);
      await session.burst(Array.from({ length: action.width }, () => ({ kind: 'enc' as const, master, slave, request: {} })));
      return;
    }
    case 'burstDec': {
      const key = pickKey(session, action.key);
      if (key === undefined) return;
      const slave = key.slaves[0] as string;
      const masterKme = session.sae(key.master).kme;
      const slaveKme = session.sae(slave).kme;
      // Half the burst through the slave's KME, half (when there are two) through the master's.
      await session.burst(
        Array.from({ length: action.width }, (_, i) => ({ kind: 'dec' as const, caller: slave, master: key.master, keyIds: [key.keyId], kme: action.otherEnd && i % 2 === 1 ? masterKme : slaveKme })),
      );
      return;
    }
    case 'malformed': {
      const { master, slave } = pairOf(action.pair);
      const shape = (MALFORMED[action.kind % MALFORMED.length] as (typeof MALFORMED)[number])(slave, master);
      const sender = shape.path.includes('/dec_keys') ? session.sae(slave) : session.sae(master);
      await session.send({ kmeUrl: session.kmeUrl(sender.kme), sae: sender, ...shape });
      return;
    }
    case 'restart': {
      const kme = session.target.kmes[action.kme % session.target.kmes.length] as { id: string };
      const entry = await adminCall(session, '/faults', { restart: { kme: kme.id, downtimeMs: 0 } }, { op: 'restart', kme: kme.id });
      if (entry === null || entry.response.status !== 200) return;
      session.restarted(kme.id);
      // A restart must keep every delivered key retrievable (I2): ask for the latest waiting one at once,
      // by its slave, so that what a restart loses is seen before later traffic hides it.
      const waiting = session.waitingKeys().at(-1);
      const slave = waiting?.waitingFor[0];
      if (waiting !== undefined && slave !== undefined) await session.dec(slave, waiting.master, [waiting.keyId]);
      return;
    }
    case 'outage':
      await runOutage(session, pairOf(action.pair));
      return;
  }
}

/**
 * With the remote key manager offline, a pool can only shrink: drain it, and once status says it holds
 * fewer keys than asked for, enc_keys must refuse. Keys delivered past that are made up locally (I10).
 */
async function runOutage(session: CheckSession, pair: { master: string; slave: string }): Promise<void> {
  if ((await adminCall(session, '/faults', { remote: 'offline' })) === null) return;
  try {
    for (let round = 0; round < 40; round++) {
      const statusEntry = await session.status(pair.master, pair.slave);
      const status = statusEntry.response.json as { stored_key_count?: unknown; max_key_per_request?: unknown } | undefined;
      const stored = typeof status?.stored_key_count === 'number' ? status.stored_key_count : null;
      const perRequest = typeof status?.max_key_per_request === 'number' ? Math.max(1, status.max_key_per_request) : 1;
      if (stored === null) return;
      const ask = stored === 0 ? 1 : Math.min(stored, perRequest);
      const entry = await session.enc(pair.master, pair.slave, ask === 1 ? {} : { number: ask });
      if (stored === 0) {
        if (entry.response.status === 200) {
          const message = `with the remote key manager offline and ${pair.slave}'s pool empty by its own status, enc_keys still delivered keys`;
          session.violations.push({ ...violation('I10', message, { status: statusEntry.id, enc: entry.id }), entries: [statusEntry.id, entry.id] });
        }
        return;
      }
      if (entry.response.status !== 200) return;
    }
  } finally {
    await adminCall(session, '/faults', { remote: 'online' });
  }
}

