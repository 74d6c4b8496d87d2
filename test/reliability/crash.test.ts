// Crashes: `kmesim serve --db FILE` (the real CLI, a real SQLite file) under concurrent load from a separate
// process, SIGKILLed at seeded moments and started again on the same file, `kills` times (reliabilityScale);
// support/crashCampaign.ts runs it. Then the audit: no key delivered twice (I1), every key answered to a
// master retrievable by its slave (I2), the same bytes at both ends (I4), counts that add up, never fall
// across a restart and agree with the answers (I8), and the server's live verdict clean before every kill,
// after every start and at the end. A campaign against a server that loses reservations on restart shows
// the same audit failing.
import { afterAll, expect, it } from 'vitest';
import { MIN_ANSWERS_PER_START, runCrashCampaign, stopCrashProcesses } from './support/crashCampaign.js';
import { recordReliability } from './record.js';
import { reliabilityScale } from './scale.js';

const scale = reliabilityScale();
const SEED = 2607;
const LOAD_WORKERS = 16;

afterAll(stopCrashProcesses);

it(
  `loses no key and delivers none twice across ${scale.kills} SIGKILLs of serve --db under load from another process (I1, I2, I4, I8)`,
  async () => {
    const run = await runCrashCampaign({ kills: scale.kills, seed: SEED, loadWorkers: LOAD_WORKERS });
    const { audit, records, client } = run;
    expect(run.findings).toEqual([]);
    expect(run.verdicts.filter((verdict) => !verdict.holds || verdict.violations.length > 0)).toEqual([]);
    expect(run.verdicts).toHaveLength(2 * scale.kills + 2);

    // The run did what it claims: load reached every start, kills cut requests in flight, keys crossed kills.
    const loadRecords = records.filter((record) => record.phase === 'load');
    const finalRecords = records.filter((record) => record.phase === 'final');
    for (let gen = 0; gen <= scale.kills; gen++) {
      expect(loadRecords.filter((record) => record.gen === gen && record.outcome.answered).length, `answers from start ${gen}`).toBeGreaterThanOrEqual(MIN_ANSWERS_PER_START);
    }
    expect(client.unanswered, 'requests cut by the kills').toBeGreaterThan(0);
    expect(audit.keysDelivered).toBeGreaterThan(100);
    expect(finalRecords.filter((record) => !record.outcome.answered)).toEqual([]);
    const retrievedInFinalPass = finalRecords.filter((record) => record.outcome.answered && record.outcome.status === 200).length;
    expect(retrievedInFinalPass, 'keys that waited across the last kill').toBeGreaterThan(0);
    expect(run.startupKills.length).toBe(Math.floor((scale.kills + 2) / 4));

    const statusCounts = (op: string): string => {
      const tally = new Map<number, number>();
      for (const record of loadRecords) if (record.request.op === op && record.outcome.answered) tally.set(record.outcome.status, (tally.get(record.outcome.status) ?? 0) + 1);
      return [...tally].sort(([a], [b]) => a - b).map(([status, count]) => `${count}×${status}`).join(', ');
    };
    const meanStartMs = Math.round(run.startTimesMs.reduce((sum, ms) => sum + ms, 0) / run.startTimesMs.length);
    const beforeReady = run.startupKills.filter((when) => when === 'before its ready line').length;
    recordReliability('crash', [
      {
        area: 'crash',
        tried: `SIGKILL of \`serve --db\` at seeded moments (0.3–1.5 s into the load each start serves) under load from a separate process (${LOAD_WORKERS} workers), restarted on the same file`,
        count: scale.kills,
        result: `plus ${run.startupKills.length} ${run.startupKills.length === 1 ? 'kill' : 'kills'} of a start in progress (${beforeReady} before its ready line); every start replayed cleanly (live verdict holds, counts add up, nothing fell); mean time to ready ${meanStartMs} ms; ${Math.round(run.loadMs / 1000)} s of load, ${Math.round(run.wallMs / 1000)} s in all`,
      },
      {
        area: 'crash',
        tried: 'requests from the load client across the kills (enc_keys, dec_keys, status; GET and POST; both KMEs)',
        count: client.requests,
        result: `${client.answered} answered (enc_keys ${statusCounts('enc')}; dec_keys ${statusCounts('dec')}; status ${statusCounts('status')}), ${client.unanswered} cut by a kill, ${client.refused} refused while down`,
      },
      {
        area: 'crash',
        tried: 'keys answered by enc_keys, audited after the last start (I1, I2, I4)',
        count: audit.keysDelivered,
        result: `none delivered twice, none lost: ${audit.keysRetrieved} retrieved once by their slaves (${retrievedInFinalPass} in the final pass), ${audit.keysConsumedUnanswered} consumed by a dec_keys whose answer a kill cut`,
      },
      {
        area: 'crash',
        tried: 'pool counts after every start and after the final pass (I8)',
        count: run.pools.length * (scale.kills + 2),
        result: `conserved and never falling across a restart; ${audit.reservedUnknown} keys reserved by ${audit.unansweredEnc} enc_keys whose answer a kill cut, within what they asked for`,
      },
    ]);
  },
  scale.name === 'full' ? 600_000 : 120_000,
);

it('fails the same audit against a server that forgets reservations on restart (restart-loses-keys: I2)', async () => {
  const run = await runCrashCampaign({ kills: 1, seed: SEED, loadWorkers: LOAD_WORKERS, bugs: ['restart-loses-keys'] });
  const invariants = new Set(run.findings.map((finding) => finding.invariant));
  expect(invariants).toContain('I2');
  expect(run.findings.some((finding) => finding.invariant === 'I2' && /was refused to its slave/.test(finding.message))).toBe(true);
  expect(run.verdicts.find((verdict) => verdict.when === 'after start 1')?.holds).toBe(false);
}, 120_000);
