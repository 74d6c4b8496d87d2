// The testing kit's command set against a real mock pair: it reaches the situations it names (races for one
// reader's pool, refusals, restarts, time), a failure the KMEs did not cause is never excused, an opened
// message with other bytes fails even when the client's hooks say nothing, and concurrent requests reach the
// KMEs in the order fast-check's scheduler released them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startClientHarness, type ClientHarness, type ClientRun } from '../../src/testing/clientHarness.js';
import { keyRequestArb } from '../../src/testing/arbitraries.js';
import { clientCommands, runClientCommands, scheduledFetch, type KeyConsumer } from '../../src/testing/clientCommands.js';

const KEY_BYTES = 8;
let harness: ClientHarness;

beforeAll(async () => {
  harness = await startClientHarness({ kmes: 2, poolCapacity: 8, keySizeBits: KEY_BYTES * 8, maxKeysPerRequest: 4 });
});

afterAll(async () => {
  await harness.close();
});

interface Envelope {
  readonly id: string;
  readonly from: string;
  readonly keyIds: string[];
  readonly data: Uint8Array;
}

/** A minimal correct OTP consumer (one request per message), with ways to break it. */
type Flaw = 'throws' | 'silent-garble' | 'bare-key-ids' | 'wrong-peer';

function consumer(run: ClientRun, fetch: typeof globalThis.fetch, flaw?: Flaw): KeyConsumer<Envelope> {
  const urlOf = (sae: string) => run.kmes.find((kme) => kme.id === run.saes.find((entry) => entry.id === sae)?.kme)?.url ?? '';
  const post = async (url: string, sae: string, body: unknown) => {
    const response = await fetch(url, { method: 'POST', headers: { 'X-SAE-ID': sae, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status !== 200) throw new Error(`answered ${response.status}`);
    return ((await response.json()) as { keys: Array<{ key_ID: string; key: string }> }).keys.map((key) => ({ id: key.key_ID, bytes: Buffer.from(key.key, 'base64') }));
  };
  const xor = (data: Uint8Array, keys: ReadonlyArray<{ bytes: Uint8Array }>) => data.map((byte, i) => byte ^ (keys[Math.floor(i / KEY_BYTES)]?.bytes[i % KEY_BYTES] ?? 0));
  return {
    async seal(id, sender, receiver, bytes) {
      if (flaw === 'throws') throw new Error('the client fell over on its own');
      // The wrong-peer flaw asks for keys for someone else than the reader.
      const slave = flaw === 'wrong-peer' ? run.saes.find((sae) => sae.id !== receiver && sae.id !== sender && sae.kme !== run.saes.find((s) => s.id === sender)?.kme)?.id : receiver;
      const keys = await post(`${urlOf(sender)}/api/v1/keys/${slave}/enc_keys`, sender, { number: Math.ceil(bytes.length / KEY_BYTES) });
      run.ledger.sealed(id, sender, keys.map((key) => key.id));
      return { id, from: sender, keyIds: keys.map((key) => key.id), data: xor(bytes, keys) };
    },
    async open(envelope, reader) {
      // The bare-key-ids flaw sends the IDs as strings, not as {"key_ID": …} objects: a malformed body.
      const keyIds = flaw === 'bare-key-ids' ? envelope.keyIds : envelope.keyIds.map((key_ID) => ({ key_ID }));
      const keys = await post(`${urlOf(reader)}/api/v1/keys/${envelope.from}/dec_keys`, reader, { key_IDs: keyIds });
      run.ledger.opened(envelope.id, reader, keys.map((key) => key.id));
      const opened = xor(envelope.data, keys);
      if (flaw === 'silent-garble' && opened.length > 0) opened[0] = (opened[0] as number) ^ 1;
      return opened;
    },
  };
}

const commands = clientCommands<Envelope>({
  senders: ['SAE_A1', 'SAE_A2'],
  readers: ['SAE_B1'],
  keyBytes: KEY_BYTES,
  maxKeys: 3,
  faults: [
    { type: 'kme-restart', kme: 'KME_B', downtime: '1s' },
    { type: 'fail-next', count: 1, status: 503, route: 'dec_keys' },
  ],
});

describe('the command set', () => {
  it('races senders for one pool, meets refusals and restarts, and a correct consumer passes', async () => {
    const seen = { concurrent: 0, refused: 0, exhausted: 0, restarted: 0 };
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), commands, async (scheduler, cmds) => {
        const run = await harness.run();
        await runClientCommands(run, (fetch) => consumer(run, fetch), cmds, { scheduler });
        // What ran (fast-check shows the commands that ran).
        const shown = String(cmds);
        if (shown.includes('sealAtOnce')) seen.concurrent++;
        if (shown.includes('kme-restart')) seen.restarted++;
        const refused = run.exchanges().filter((exchange) => exchange.route !== null && exchange.status !== 200);
        if (refused.length > 0) seen.refused++;
        // The pool of eight runs dry: enc_keys refused for want of keys (ETSI answers 400 there, or 503).
        if (refused.some((exchange) => exchange.route === 'enc_keys')) seen.exhausted++;
      }),
      { numRuns: 80, seed: 5 },
    );
    expect(seen.concurrent).toBeGreaterThan(5);
    expect(seen.refused).toBeGreaterThan(5);
    expect(seen.exhausted).toBeGreaterThan(0);
    expect(seen.restarted).toBeGreaterThan(5);
  });

  it('does not excuse a failure the KMEs did not cause', async () => {
    const result = await fc.check(
      fc.asyncProperty(commands, async (cmds) => {
        const run = await harness.run();
        await runClientCommands(run, (fetch) => consumer(run, fetch, 'throws'), cmds);
      }),
      { numRuns: 20, seed: 5 },
    );
    expect(result.failed).toBe(true);
    expect(String((result.errorInstance as Error).message)).toContain('the client fell over on its own');
  });

  for (const flaw of ['bare-key-ids', 'wrong-peer'] as const) {
    it(`does not take the KME's answer to the client's own mistake (${flaw}) for a refusal to excuse`, async () => {
      const result = await fc.check(
        fc.asyncProperty(commands, async (cmds) => {
          const run = await harness.run();
          await runClientCommands(run, (fetch) => consumer(run, fetch, flaw), cmds);
        }),
        { numRuns: 40, seed: 5 },
      );
      expect(result.failed).toBe(true);
      expect(String((result.errorInstance as Error).message)).toMatch(/answered (400|401)/);
    });
  }

  it('fails a message opened to other bytes, though the hooks report the right keys', async () => {
    const result = await fc.check(
      fc.asyncProperty(commands, async (cmds) => {
        const run = await harness.run();
        await runClientCommands(run, (fetch) => consumer(run, fetch, 'silent-garble'), cmds);
      }),
      { numRuns: 40, seed: 5 },
    );
    expect(result.failed).toBe(true);
    expect(String((result.errorInstance as Error).message)).toMatch(/opened message m\d+ \(from SAE_A\d\) to other bytes than were sealed/);
  });

  it('sends concurrent requests one at a time, in the order the scheduler released them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 5 }), async (scheduler, count) => {
        const run = await harness.run();
        const fetch = scheduledFetch(scheduler, run.fetch);
        const url = (i: number) => `${run.kmes[0]?.url}/api/v1/keys/SAE_B1/status?n=${i}`;
        const all = Promise.all(Array.from({ length: count }, (_, i) => fetch(url(i), { headers: { 'X-SAE-ID': 'SAE_A1' } })));
        await scheduler.waitFor(all);
        const released = scheduler.report().map((task) => Number(/n=(\d+)/.exec(task.label)?.[1] ?? 'NaN'));
        const sent = run.exchanges().map((exchange) => Number(/n=(\d+)/.exec(exchange.path)?.[1]));
        expect(sent).toEqual(released);
      }),
      { numRuns: 30, seed: 5 },
    );
  });

  it('gives each concurrent seal a sender of its own, so that a refusal belongs to one seal', async () => {
    const shown: string[] = [];
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        const run = await harness.run();
        await runClientCommands(run, (fetch) => consumer(run, fetch), cmds);
        shown.push(...[...cmds].map(String).filter((command) => command.startsWith('sealAtOnce')));
      }),
      { numRuns: 40, seed: 6 },
    );
    expect(shown.length).toBeGreaterThan(5);
    for (const command of shown) {
      const senders = [...command.matchAll(/(SAE_A\d):/g)].map((match) => match[1]);
      expect(new Set(senders).size).toBe(senders.length);
    }
  });

  it('refuses a command set without senders or readers', () => {
    expect(() => clientCommands({ senders: ['SAE_A1'], readers: ['SAE_B1'], keyBytes: 8, faults: [{ type: 'latency', ms: 1_000 }] })).toThrow(/latency fault would hang/);
    expect(() => clientCommands({ senders: [], readers: ['SAE_B1'], keyBytes: 8 })).toThrow(/at least one sender/);
    expect(() => clientCommands({ senders: ['SAE_A1'], readers: ['SAE_B1'], keyBytes: 8, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => keyRequestArb({ maxKeysPerRequest: 0 })).toThrow(/maxKeysPerRequest must be a positive integer/);
    expect(() => keyRequestArb({ maxKeysPerRequest: 4, sizes: [64, 12] })).toThrow(/multiples of 8 bits, got 12/);
  });
});

// The same refusals are worded otherwise by other profiles: next-door answers an empty pool 400 `Insufficient
// keys available`, lenient answers keys past their lifetime 404. A correct consumer is excused under each.
describe('the command set under other profiles', () => {
  for (const [profile, advanceMs] of [
    ['next-door', [1_000]],
    ['lenient', [2 * 86_400_000]],
  ] as const) {
    it(`excuses the refusals ${profile} gives a correct consumer, and meets them`, async () => {
      const other = await startClientHarness({ kmes: 2, profile, poolCapacity: 8, keySizeBits: KEY_BYTES * 8, maxKeysPerRequest: 4 });
      try {
        const statuses = new Set<number>();
        await fc.assert(
          fc.asyncProperty(clientCommands<Envelope>({ senders: ['SAE_A1', 'SAE_A2'], readers: ['SAE_B1'], keyBytes: KEY_BYTES, maxKeys: 3, advanceMs }), async (cmds) => {
            const run = await other.run();
            await runClientCommands(run, (fetch) => consumer(run, fetch), cmds);
            for (const exchange of run.exchanges()) if (exchange.status !== 200) statuses.add(exchange.status);
          }),
          { numRuns: 60, seed: 8 },
        );
        expect([...statuses]).toContain(profile === 'next-door' ? 400 : 404);
      } finally {
        await other.close();
      }
    });
  }
});
