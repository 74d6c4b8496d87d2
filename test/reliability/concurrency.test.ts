// Concurrency: `clients` concurrent clients × `opsPerClient` mixed operations (reliabilityScale) against two
// KMEs over real HTTP (startServer in-process, real clock, so pools drain, run dry and refill by sync while
// the clients race); support/concurrencyWorkload.ts says what they do. Every enc_keys and dec_keys is
// judged by the shared history checker with overlapping requests linearized as decision 0010 says
// (support/concurrentHistory.ts); then the server's live verdict, and its pool counts, which must agree
// with the answers exactly. The same workload on servers with a concurrency bug shows the judge can fail.
import { afterAll, expect, it } from 'vitest';
import type { BugName } from '../../src/model/bugs.js';
import { startServer, type RunningServer } from '../../src/http/startServer.js';
import { judgeConcurrentHistory } from './support/concurrentHistory.js';
import { runConcurrentWorkload, type OpKind } from './support/concurrencyWorkload.js';
import { recordReliability } from './record.js';
import { reliabilityScale } from './scale.js';

const scale = reliabilityScale();
const SEED = 64;
const KEY_TTL_MS = 24 * 3_600_000;

const servers: RunningServer[] = [];

afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(bugs: readonly BugName[] = []): Promise<RunningServer> {
  const server = await startServer({ kmes: 2, port: 0, seed: SEED, bugs });
  servers.push(server);
  return server;
}

it(
  `runs ${scale.clients} concurrent clients × ${scale.opsPerClient} mixed operations across two KMEs with zero invariant violations`,
  async () => {
    const wallStart = performance.now();
    const server = await start();
    expect(server.saes.map((sae) => sae.id)).toEqual(['SAE_A1', 'SAE_A2', 'SAE_B1', 'SAE_B2']);
    const run = await runConcurrentWorkload(server, { clients: scale.clients, opsPerClient: scale.opsPerClient, seed: SEED });
    const { exchanges, statuses, transportFailures, keysRetrieved, deliveredPerPool, retrievedPerPool, raceWinners, decThroughMasterKme, loadMs, count } = run;

    const judged = judgeConcurrentHistory(exchanges, { keyTtlMs: KEY_TTL_MS, consumeOnDecrypt: true });
    expect(transportFailures).toEqual([]);
    expect(judged.violations).toEqual([]);
    expect(judged.pendingKeys).toBe(0);

    const verdict = (await (await fetch(`${server.admin}/invariants`)).json()) as { holds: boolean; violations: unknown[] };
    expect(verdict.violations).toEqual([]);
    expect(verdict.holds).toBe(true);
    const state = (await (await fetch(`${server.admin}/state`)).json()) as {
      pools: Array<{ id: string; stored: number; reserved: number; consumed: number; expired: number; discarded: number; generated: number }>;
    };
    // Nothing was lost in flight, so the counts must match the answers exactly (I8).
    for (const pool of state.pools) {
      expect(pool.generated, pool.id).toBe(pool.stored + pool.reserved + pool.consumed + pool.expired + pool.discarded);
      expect({ pool: pool.id, reserved: pool.reserved, consumed: pool.consumed }).toEqual({ pool: pool.id, reserved: 0, consumed: retrievedPerPool.get(pool.id) ?? 0 });
      expect(deliveredPerPool.get(pool.id) ?? 0, pool.id).toBe(pool.consumed);
    }

    // Every answer is the one its operation calls for.
    const allowed: Record<OpKind, number[]> = { status: [200], enc: [200, 503], encBadSize: [400], dec: [200], race: [200, 400], wrongSae: [400, 401], repeat: [400], unknown: [400], drain: [200] };
    for (const [kind, byStatus] of statuses) expect({ kind, statuses: [...byStatus.keys()].filter((status) => !allowed[kind].includes(status)) }).toEqual({ kind, statuses: [] });
    expect(raceWinners.filter((winners) => winners !== 1)).toEqual([]);

    // And the run exercised what it claims: pools ran dry, keys flowed, every kind of misuse happened.
    expect(count('enc', 503), 'enc_keys refused for an exhausted pool').toBeGreaterThan(0);
    // How many succeed depends on how fast the clients drain the pools against the real-clock refills, so
    // the bound is on flow, not on its share: well over one success per client.
    expect(count('enc', 200)).toBeGreaterThan(scale.clients * 2);
    expect(keysRetrieved).toBeGreaterThan(scale.clients * scale.opsPerClient);
    expect(count('dec', 200)).toBeGreaterThan(scale.clients * scale.opsPerClient * 0.2);
    expect(raceWinners.length).toBeGreaterThan(scale.clients / 4);
    expect(count('race', 400)).toBeGreaterThanOrEqual(raceWinners.length);
    expect(count('wrongSae', 401)).toBeGreaterThan(0);
    expect(count('repeat', 400)).toBeGreaterThan(0);
    expect(count('unknown', 400)).toBeGreaterThan(0);
    expect(count('encBadSize', 400)).toBeGreaterThan(0);
    expect(decThroughMasterKme).toBeGreaterThan(0);
    const wallMs = performance.now() - wallStart;

    const operations = scale.clients * scale.opsPerClient;
    const summary = (kind: OpKind): string =>
      [...(statuses.get(kind) ?? new Map<number, number>())]
        .sort(([a], [b]) => a - b)
        .map(([status, n]) => `${n}×${status}`)
        .join(', ');
    recordReliability('concurrency', [
      {
        area: 'concurrency',
        tried: `${scale.clients} concurrent clients × ${scale.opsPerClient} mixed operations on two KMEs (4 SAEs, one hot pool), real HTTP, real clock`,
        count: operations,
        result: `0 violations from the history checker (${exchanges.length} enc_keys and dec_keys judged) and the live verdict; ${Math.round(operations / (loadMs / 1000))} operations/s, ${(wallMs / 1000).toFixed(1)} s in all`,
      },
      {
        area: 'concurrency',
        tried: 'enc_keys racing for the same pools (GET and POST, 1–128 keys, several sizes)',
        count: count('enc') + count('encBadSize'),
        result: `${summary('enc')}; bad sizes ${summary('encBadSize')}; no key ID or material delivered twice (I1)`,
      },
      {
        area: 'concurrency',
        tried: 'dec_keys by the right slave through either KME, and races of 2–3 dec_keys for one key',
        count: count('dec') + count('race') + count('drain'),
        result: `${keysRetrieved} keys retrieved once each, the same bytes as their masters got (I3, I4); every one of ${raceWinners.length} races won exactly once; pool counts equal the answers (I8)`,
      },
      {
        area: 'concurrency',
        tried: 'dec_keys by another SAE, repeats of retrieved IDs, unknown IDs (alone and beside a waiting key)',
        count: count('wrongSae') + count('repeat') + count('unknown'),
        result: `other SAE ${summary('wrongSae')}; repeats ${summary('repeat')}; unknown ${summary('unknown')}; nothing delivered or consumed (I5, I7)`,
      },
    ]);
  },
  scale.name === 'full' ? 900_000 : 120_000,
);

// The same workload and judge against servers with a concurrency bug: each is found by the invariant it breaks.
it.each([
  ['check-then-act', 'I1'],
  ['double-delivery', 'I3'],
  ['partial-consume', 'I7'],
] as const)('finds the %s bug with the same workload and judge (%s)', async (bug, invariant) => {
  const server = await start([bug]);
  const run = await runConcurrentWorkload(server, { clients: 24, opsPerClient: 25, seed: SEED });
  expect(run.transportFailures).toEqual([]);
  const judged = judgeConcurrentHistory(run.exchanges, { keyTtlMs: KEY_TTL_MS, consumeOnDecrypt: true });
  expect(judged.violations.map((violation) => violation.invariant)).toContain(invariant);
});
