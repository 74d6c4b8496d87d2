/**
 * `testing`: how fast a key consumer's property runs with kmesim/testing. The mail property of
 * examples/otp-client (1–3 messages across key boundaries, each sealed and opened, the run judged: U1–U6 and
 * the KMEs' invariants) in runs per second, beside the same property with no recording and no judging (the
 * baseline: what the mock and the client cost alone); and 100 runs of an exhaustion property (pools of 4 keys,
 * the client writes until the KME refuses) in milliseconds; and runs per second of the model-based property
 * (clientCommands under fc.scheduler: up to 12 commands of sealing, racing, opening, clock and faults).
 */
import { createOtpClient, OtpClientError } from '../examples/otp-client/otpClient.js';
import { clientCommands, fc, messageArb, runClientCommands, startClientHarness, type ClientRun } from '../src/testing/index.js';
import type { Envelope } from '../examples/otp-client/otpClient.js';
import type { BenchFigures, BenchSection } from './main.js';
import { round } from './processes.js';

const KEY_BYTES = 8;
const RUNS = 200;

function clientOf(run: ClientRun, judged: boolean) {
  const urlOf = new Map(run.kmes.map((kme) => [kme.id, kme.url]));
  return createOtpClient({
    fetch: judged ? run.fetch : globalThis.fetch,
    kmeOf: (sae) => urlOf.get(run.saes.find((entry) => entry.id === sae)?.kme ?? '') ?? '',
    keyBytes: KEY_BYTES,
    maxKeysPerRequest: 8,
    ...(judged ? { onSeal: (m: string, s: string, k: readonly string[]) => run.ledger.sealed(m, s, k), onOpen: (m: string, r: string, k: readonly string[]) => run.ledger.opened(m, r, k) } : {}),
  });
}

async function mailRunsPerSecond(judged: boolean): Promise<number> {
  const harness = await startClientHarness({ kmes: 2, poolCapacity: 64, keySizeBits: KEY_BYTES * 8, maxKeysPerRequest: 8 });
  try {
    const property = fc.asyncProperty(fc.array(messageArb({ keyBytes: KEY_BYTES, maxKeys: 4 }), { minLength: 1, maxLength: 3 }), async (messages) => {
      const run = await harness.run();
      const client = clientOf(run, judged);
      const body = async (): Promise<void> => {
        for (const [i, message] of messages.entries()) await client.open(await client.seal(`m${i}`, 'SAE_A1', 'SAE_B1', message), 'SAE_B1');
      };
      if (judged) await run.judged(body);
      else await body();
    });
    const started = performance.now();
    await fc.assert(property, { numRuns: RUNS, seed: 1 });
    return RUNS / ((performance.now() - started) / 1000);
  } finally {
    await harness.close();
  }
}

async function exhaustionMs(): Promise<number> {
  const harness = await startClientHarness({ kmes: 2, poolCapacity: 4, keySizeBits: KEY_BYTES * 8, maxKeysPerRequest: 8 });
  try {
    const property = fc.asyncProperty(fc.integer({ min: 1, max: 3 }), async (keysEach) => {
      const run = await harness.run();
      const client = clientOf(run, true);
      await run.judged(async () => {
        // Write until the KME refuses: every message sealed before the refusal opens, none after.
        for (let i = 0; ; i++) {
          let envelope;
          try {
            envelope = await client.seal(`m${i}`, 'SAE_A1', 'SAE_B1', new Uint8Array(keysEach * KEY_BYTES));
          } catch (error) {
            if (error instanceof OtpClientError) return;
            throw error;
          }
          await client.open(envelope, 'SAE_B1');
        }
      });
    });
    const started = performance.now();
    await fc.assert(property, { numRuns: 100, seed: 1 });
    return performance.now() - started;
  } finally {
    await harness.close();
  }
}

async function commandRunsPerSecond(): Promise<number> {
  const harness = await startClientHarness({ kmes: 2, poolCapacity: 16, keySizeBits: KEY_BYTES * 8, maxKeysPerRequest: 8 });
  try {
    const commands = clientCommands<Envelope>({
      senders: ['SAE_A1', 'SAE_A2'],
      readers: ['SAE_B1', 'SAE_B2'],
      keyBytes: KEY_BYTES,
      maxKeys: 3,
      faults: [{ type: 'kme-restart', kme: 'KME_B', downtime: '1s' }, { type: 'fail-next', count: 1, status: 503, route: 'dec_keys' }],
    });
    const property = fc.asyncProperty(fc.scheduler(), commands, async (scheduler, cmds) => {
      const run = await harness.run();
      await runClientCommands(run, (fetch) => ({ ...clientOf({ ...run, fetch }, true), ciphertextOf: (envelope: Envelope) => envelope.ciphertext }), cmds, { scheduler });
    });
    const started = performance.now();
    await fc.assert(property, { numRuns: RUNS, seed: 1 });
    return RUNS / ((performance.now() - started) / 1000);
  } finally {
    await harness.close();
  }
}

export const testingSection: BenchSection = {
  name: 'testing',
  async run(): Promise<BenchFigures> {
    // Alternated, twice each, each on its own freshly started pair; the better of each pair of rounds (the
    // first rounds also warm the code both share).
    const bare = await mailRunsPerSecond(false);
    const judged = await mailRunsPerSecond(true);
    const bareAgain = await mailRunsPerSecond(false);
    const judgedAgain = await mailRunsPerSecond(true);
    return {
      mailRunsPerSec: round(Math.max(judged, judgedAgain), 1),
      mailRunsPerSecUnjudged: round(Math.max(bare, bareAgain), 1),
      judgedRatio: round(Math.max(judged, judgedAgain) / Math.max(bare, bareAgain), 3),
      exhaustion100RunsMs: round(await exhaustionMs(), 0),
      commandRunsPerSec: round(await commandRunsPerSecond(), 1),
    };
  },
};
