// The concurrency suite's workload: `clients` clients at once, each running `opsPerClient` seeded mixed
// operations against a running server (two KMEs, SAE_A1, SAE_A2, SAE_B1, SAE_B2): status, enc_keys by GET
// and POST (sizes, numbers, half of them on one hot pool, a few with a size that is not a multiple of 8),
// dec_keys by the right slave through either KME, races of two or three dec_keys for one key, dec_keys by
// a SAE that is not the slave, repeats of retrieved IDs and unknown IDs (alone and beside a waiting key).
// At the end every key still waiting is retrieved by its slave. Every enc_keys and dec_keys is recorded
// with the ticks of one shared counter when it was sent and answered, for support/concurrentHistory.ts.
import { createHash, type BinaryLike } from 'node:crypto';
import { Agent, request } from 'node:http';
import seedrandom from 'seedrandom';
import type { RunningServer } from '../../../src/http/startServer.js';
import type { ObservedKey } from '../../../src/model/historyChecker.js';
import { linkIdOf, poolIdOf } from '../../../src/model/world.js';
import type { TimedExchange } from './concurrentHistory.js';

export type OpKind = 'status' | 'enc' | 'encBadSize' | 'dec' | 'race' | 'wrongSae' | 'repeat' | 'unknown' | 'drain';

export interface HeldKey {
  readonly keyId: string;
  readonly master: string;
  readonly slave: string;
  readonly poolId: string;
}

interface Answer {
  readonly status: number;
  readonly json: unknown;
  readonly sentTick: number;
  readonly answeredTick: number;
}

export interface WorkloadResult {
  readonly exchanges: readonly TimedExchange[];
  readonly statuses: ReadonlyMap<OpKind, ReadonlyMap<number, number>>;
  readonly transportFailures: readonly string[];
  readonly keysRetrieved: number;
  readonly deliveredPerPool: ReadonlyMap<string, number>;
  readonly retrievedPerPool: ReadonlyMap<string, number>;
  /** For each race: how many of its dec_keys got the key. */
  readonly raceWinners: readonly number[];
  readonly decThroughMasterKme: number;
  readonly loadMs: number;
  /** Answers of one kind (and status). */
  count(kind: OpKind, status?: number): number;
}

const DEFAULT_KEY_SIZE_BITS = 256;
const IDLE_CONNECTION_MS = 2_000;

function materialHash(bytes: BinaryLike): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}`;
}

function observedKeys(json: unknown): ObservedKey[] {
  const keys = (json as { keys?: Array<{ key_ID: string; key: string }> } | null)?.keys ?? [];
  return keys.map((key) => {
    const bytes = Buffer.from(key.key, 'base64');
    return { keyId: key.key_ID, materialHash: materialHash(bytes), sizeBits: bytes.length * 8 };
  });
}

function sendHttp(agent: Agent, url: string, method: string, headers: Record<string, string>, body: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export async function runConcurrentWorkload(server: RunningServer, options: { readonly clients: number; readonly opsPerClient: number; readonly seed: number }): Promise<WorkloadResult> {
  const started = performance.now();
  const urlOf = new Map(server.kmes.map((kme) => [kme.id, kme.url]));
  const kmeOf = new Map(server.saes.map((sae) => [sae.id, sae.kme]));
  const saeIds = [...kmeOf.keys()];
  const poolOf = (master: string, slave: string): string => poolIdOf(linkIdOf(kmeOf.get(master) as string, kmeOf.get(slave) as string), slave);

  let tick = 0;
  let exchangeId = 0;
  const exchanges: TimedExchange[] = [];
  const statuses = new Map<OpKind, Map<number, number>>();
  const transportFailures: string[] = [];
  const pending: HeldKey[] = [];
  const retrieved: HeldKey[] = [];
  const deliveredPerPool = new Map<string, number>();
  const retrievedPerPool = new Map<string, number>();
  const raceWinners: number[] = [];
  let decThroughMasterKme = 0;

  const tally = (kind: OpKind, status: number): void => {
    const byStatus = statuses.get(kind) ?? new Map<number, number>();
    statuses.set(kind, byStatus);
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  };
  const count = (kind: OpKind, status?: number): number => [...(statuses.get(kind) ?? new Map<number, number>())].filter(([s]) => status === undefined || s === status).reduce((sum, [, n]) => sum + n, 0);

  async function call(agent: Agent, kind: OpKind, kme: string, caller: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer | null> {
    const sentTick = ++tick;
    try {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const headers = { 'X-SAE-ID': caller, ...(text === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) }) };
      const response = await sendHttp(agent, `${urlOf.get(kme) as string}${path}`, method, headers, text);
      const json = JSON.parse(response.body) as unknown;
      tally(kind, response.status);
      return { status: response.status, json, sentTick, answeredTick: ++tick };
    } catch (error) {
      transportFailures.push(`${method} ${path} (${kind}, sent at tick ${sentTick}, failed at ${tick}): ${String(error)}`);
      return null;
    }
  }

  async function enc(agent: Agent, kind: OpKind, master: string, slave: string, number: number | undefined, sizeBits: number | undefined, method: 'GET' | 'POST'): Promise<void> {
    const kme = kmeOf.get(master) as string;
    const params = { ...(number === undefined ? {} : { number }), ...(sizeBits === undefined ? {} : { size: sizeBits }) };
    const base = `/api/v1/keys/${slave}/enc_keys`;
    const query = new URLSearchParams(Object.entries(params).map(([name, value]): [string, string] => [name, String(value)])).toString();
    const answer = method === 'GET' ? await call(agent, kind, kme, master, 'GET', query === '' ? base : `${base}?${query}`) : await call(agent, kind, kme, master, 'POST', base, params);
    if (answer === null) return;
    const keys = answer.status === 200 ? observedKeys(answer.json) : [];
    exchanges.push({
      sentTick: answer.sentTick,
      answeredTick: answer.answeredTick,
      exchange: { op: 'enc', id: ++exchangeId, atMs: answer.answeredTick, kmeId: kme, callerSaeId: master, slaveSaeId: slave, additionalSlaveSaeIds: [], expectedSizeBits: sizeBits ?? DEFAULT_KEY_SIZE_BITS, status: answer.status, keys },
    });
    const poolId = poolOf(master, slave);
    for (const key of keys) pending.push({ keyId: key.keyId, master, slave, poolId });
    deliveredPerPool.set(poolId, (deliveredPerPool.get(poolId) ?? 0) + keys.length);
  }

  async function dec(agent: Agent, kind: OpKind, caller: string, master: string, keyIds: readonly string[], kme: string, method: 'GET' | 'POST'): Promise<Answer | null> {
    const base = `/api/v1/keys/${master}/dec_keys`;
    const answer =
      method === 'GET' && keyIds.length === 1
        ? await call(agent, kind, kme, caller, 'GET', `${base}?key_ID=${encodeURIComponent(keyIds[0] as string)}`)
        : await call(agent, kind, kme, caller, 'POST', base, { key_IDs: keyIds.map((id) => ({ key_ID: id })) });
    if (answer === null) return null;
    exchanges.push({
      sentTick: answer.sentTick,
      answeredTick: answer.answeredTick,
      exchange: { op: 'dec', id: ++exchangeId, atMs: answer.answeredTick, kmeId: kme, callerSaeId: caller, masterSaeId: master, keyIds, status: answer.status, keys: answer.status === 200 ? observedKeys(answer.json) : [] },
    });
    return answer;
  }

  const noteRetrieved = (keys: readonly HeldKey[]): void => {
    for (const key of keys) {
      retrieved.push(key);
      retrievedPerPool.set(key.poolId, (retrievedPerPool.get(key.poolId) ?? 0) + 1);
    }
  };

  async function runClient(client: number, agent: Agent): Promise<void> {
    const random = seedrandom(`concurrency:${options.seed}:${client}`);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const takeFromPending = (): HeldKey => pending.splice(Math.floor(random() * pending.length), 1)[0] as HeldKey;
    const randomUuid = (): string => {
      const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    };
    /** The slave asks through its own KME, or (keys across the link) through the master's. */
    const decKmeFor = (key: HeldKey): string => {
      const masterKme = kmeOf.get(key.master) as string;
      if (masterKme !== kmeOf.get(key.slave) && random() < 0.3) {
        decThroughMasterKme += 1;
        return masterKme;
      }
      return kmeOf.get(key.slave) as string;
    };

    for (let op = 0; op < options.opsPerClient; op++) {
      const roll = random();
      if (roll < 0.08) {
        const master = pick(saeIds);
        const slave = pick(saeIds.filter((id) => id !== master));
        await call(agent, 'status', kmeOf.get(master) as string, master, 'GET', `/api/v1/keys/${slave}/status`);
      } else if (roll < 0.45 || pending.length === 0) {
        // Half of all enc_keys go to one hot pool (SAE_B1's on the link), from two masters at once.
        const hot = random() < 0.5;
        const master = hot ? pick(['SAE_A1', 'SAE_A2']) : pick(saeIds);
        const slave = hot ? 'SAE_B1' : pick(saeIds.filter((id) => id !== master));
        const sizeRoll = random();
        const badSize = sizeRoll < 0.04;
        const sizeBits = badSize ? 12 : sizeRoll < 0.6 ? undefined : pick([64, 128, 512, 1024]);
        const numberRoll = random();
        const number = numberRoll < 0.15 ? undefined : numberRoll < 0.75 ? 1 + Math.floor(random() * 8) : numberRoll < 0.93 ? 9 + Math.floor(random() * 24) : 64 + Math.floor(random() * 65);
        await enc(agent, badSize ? 'encBadSize' : 'enc', master, slave, number, sizeBits, random() < 0.5 ? 'GET' : 'POST');
      } else if (roll < 0.75) {
        const first = takeFromPending();
        const batch = [first];
        const extra = Math.floor(random() * 4);
        for (let i = pending.length - 1; i >= 0 && batch.length <= extra; i--) {
          const other = pending[i] as HeldKey;
          if (other.master === first.master && other.slave === first.slave) batch.push(...pending.splice(i, 1));
        }
        const answer = await dec(agent, 'dec', first.slave, first.master, batch.map((key) => key.keyId), decKmeFor(first), random() < 0.5 ? 'GET' : 'POST');
        if (answer?.status === 200) noteRetrieved(batch);
      } else if (roll < 0.8) {
        // Two or three dec_keys for one key at once, by its slave, through both KMEs when there are two.
        const key = takeFromPending();
        const width = 2 + Math.floor(random() * 2);
        const answers = await Promise.all(
          Array.from({ length: width }, (_, i) => dec(agent, 'race', key.slave, key.master, [key.keyId], i % 2 === 0 ? (kmeOf.get(key.slave) as string) : (kmeOf.get(key.master) as string), 'POST')),
        );
        const winners = answers.filter((answer) => answer?.status === 200).length;
        raceWinners.push(winners);
        if (winners > 0) noteRetrieved([key]);
      } else if (roll < 0.87) {
        // Someone other than the slave asks for a waiting key: its master, or an SAE not named at all.
        const key = pick(pending);
        const caller = random() < 0.5 ? key.master : pick(saeIds.filter((id) => id !== key.master && id !== key.slave));
        await dec(agent, 'wrongSae', caller, key.master, [key.keyId], kmeOf.get(caller) as string, random() < 0.5 ? 'GET' : 'POST');
      } else if (roll < 0.93 && retrieved.length > 0) {
        const key = pick(retrieved);
        await dec(agent, 'repeat', key.slave, key.master, [key.keyId], decKmeFor(key), random() < 0.5 ? 'GET' : 'POST');
      } else {
        // An unknown ID alone, or beside a waiting key that must stay retrievable (I7).
        const key = pick(pending);
        const ids = random() < 0.5 ? [randomUuid()] : [key.keyId, randomUuid()];
        await dec(agent, 'unknown', key.slave, key.master, ids, kmeOf.get(key.slave) as string, 'POST');
      }
    }
  }

  // Each client has its own connections, as separate programs would. An idle connection is dropped by the
  // client after 2 s, well before the server's 5 s keep-alive timeout: reusing one just as the server closes
  // it would lose the request to a reset (the usual HTTP/1.1 keep-alive race), which says nothing of the KME.
  const newAgent = (): Agent => new Agent({ keepAlive: true, timeout: IDLE_CONNECTION_MS });
  await Promise.all(
    Array.from({ length: options.clients }, async (_, client) => {
      const agent = newAgent();
      try {
        await runClient(client, agent);
      } finally {
        agent.destroy();
      }
    }),
  );
  const loadMs = performance.now() - started;
  const drainAgent = newAgent();

  // Every key still waiting is retrieved by its slave: none may be missing (I2).
  const groups = new Map<string, HeldKey[]>();
  for (const key of pending.splice(0)) groups.set(`${key.master}>${key.slave}`, [...(groups.get(`${key.master}>${key.slave}`) ?? []), key]);
  const batches = [...groups.values()].flatMap((keys) => Array.from({ length: Math.ceil(keys.length / 64) }, (_, i) => keys.slice(i * 64, i * 64 + 64)));
  for (let i = 0; i < batches.length; i += 8) {
    await Promise.all(
      batches.slice(i, i + 8).map(async (batch) => {
        const first = batch[0] as HeldKey;
        const answer = await dec(drainAgent, 'drain', first.slave, first.master, batch.map((key) => key.keyId), kmeOf.get(first.slave) as string, 'POST');
        if (answer?.status === 200) noteRetrieved(batch);
      }),
    );
  }

  drainAgent.destroy();
  return { exchanges, statuses, transportFailures, keysRetrieved: retrieved.length, deliveredPerPool, retrievedPerPool, raceWinners, decThroughMasterKme, loadMs, count };
}
