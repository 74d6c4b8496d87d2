// The crash audit must be able to fail, and must not fail on what a kill legitimately leaves behind:
// fabricated histories with a double delivery, a lost key, wrong bytes and counts that do not add up are
// caught; lost answers, keys reserved by an enc_keys whose answer was lost and keys consumed by a dec_keys
// whose answer was lost are not held against the server.
import { expect, it } from 'vitest';
import { auditCrashHistory, compareAcrossRestart, keysToRetrieve, type PoolCounts } from './support/crashAudit.js';
import { decRequest, encRequest, type CrashOutcome, type CrashRecord, type CrashRequest } from './support/crashHistory.js';

const KME_OF = new Map([
  ['SAE_A1', 'KME_A'],
  ['SAE_B1', 'KME_B'],
]);
const POOL = 'KME_A~KME_B/SAE_B1';
const K1 = '11111111-1111-4111-8111-111111111111';
const K2 = '22222222-2222-4222-8222-222222222222';
const K3 = '33333333-3333-4333-8333-333333333333';
const BYTES1 = Buffer.alloc(32, 1).toString('base64');
const BYTES2 = Buffer.alloc(32, 2).toString('base64');

let seq = 0;
function record(request: CrashRequest, outcome: CrashOutcome, phase: 'load' | 'final' = 'load'): CrashRecord {
  return { seq: ++seq, phase, gen: 0, request, outcome };
}
const enc = (number = 1): CrashRequest => encRequest('KME_A', 'SAE_A1', 'SAE_B1', { method: 'POST', number });
const dec = (...ids: string[]): CrashRequest => decRequest('KME_B', 'SAE_B1', 'SAE_A1', ids, 'POST');
const keys = (...pairs: Array<[string, string]>): CrashOutcome => ({ answered: true, status: 200, body: { keys: pairs.map(([key_ID, key]) => ({ key_ID, key })) } });
const notFound: CrashOutcome = { answered: true, status: 400, body: { message: 'one or more keys specified are not found on KME' } };
const lost: CrashOutcome = { answered: false, error: 'fetch failed ECONNRESET', refused: false };

function pool(counts: Partial<PoolCounts>): PoolCounts {
  const base = { id: POOL, stored: 0, reserved: 0, consumed: 0, expired: 0, discarded: 0, generated: 0, ...counts };
  return { ...base, generated: counts.generated ?? base.stored + base.reserved + base.consumed + base.expired + base.discarded };
}

it('passes a history where kills cut answers: a lost enc_keys answer reserves unknown keys, a lost dec_keys answer may have consumed its key', () => {
  const history = [
    record(enc(), keys([K1, BYTES1])),
    record(enc(), keys([K2, BYTES2])),
    record(enc(3), lost),
    record(dec(K1), lost),
    record(dec(K1), notFound, 'final'),
    record(dec(K2), keys([K2, BYTES2]), 'final'),
  ];
  const audit = auditCrashHistory(history, KME_OF, [pool({ stored: 990, reserved: 3, consumed: 2 })]);
  expect(audit.findings).toEqual([]);
  expect(audit).toMatchObject({ keysDelivered: 2, keysRetrieved: 1, keysConsumedUnanswered: 1, unansweredEnc: 1, unansweredDec: 1, reservedUnknown: 3 });
});

it('finds a key ID answered by enc_keys twice (I1)', () => {
  const history = [record(enc(), keys([K1, BYTES1])), record(enc(), keys([K1, BYTES2])), record(dec(K1), keys([K1, BYTES1]), 'final')];
  const audit = auditCrashHistory(history, KME_OF, [pool({ stored: 998, consumed: 1, reserved: 0, generated: 1000 })]);
  expect(audit.findings.map((finding) => finding.invariant)).toContain('I1');
  expect(audit.findings.find((finding) => finding.invariant === 'I1')?.message).toMatch(/answered by enc_keys twice/);
});

it('finds a key answered to its slave twice, even across a lost answer (I1)', () => {
  const history = [record(enc(), keys([K1, BYTES1])), record(dec(K1), keys([K1, BYTES1])), record(dec(K1), lost), record(dec(K1), keys([K1, BYTES1]), 'final')];
  const audit = auditCrashHistory(history, KME_OF, [pool({ stored: 999, consumed: 1 })]);
  expect(audit.findings).toEqual([expect.objectContaining({ invariant: 'I1', message: expect.stringMatching(/answered to its slave SAE_B1 twice/) })]);
});

it('finds two keys with the same material (I1)', () => {
  const history = [record(enc(2), keys([K1, BYTES1], [K2, BYTES1])), record(dec(K1, K2), keys([K1, BYTES1], [K2, BYTES1]), 'final')];
  const audit = auditCrashHistory(history, KME_OF, [pool({ stored: 998, consumed: 2 })]);
  expect(audit.findings).toEqual([expect.objectContaining({ invariant: 'I1', message: expect.stringMatching(/same material/) })]);
});

it('finds a reserved key its slave can no longer retrieve (I2), and counts that miss it (I8)', () => {
  const history = [record(enc(), keys([K1, BYTES1])), record(enc(), keys([K2, BYTES2])), record(dec(K2), keys([K2, BYTES2])), record(dec(K1), notFound, 'final')];
  // The server lost K1: it is neither reserved nor consumed any more.
  const audit = auditCrashHistory(history, KME_OF, [pool({ stored: 998, consumed: 1, generated: 1000 })]);
  const invariants = audit.findings.map((finding) => finding.invariant);
  expect(invariants).toContain('I2');
  expect(invariants).toContain('I8');
  expect(audit.findings.find((finding) => finding.invariant === 'I2')?.message).toMatch(new RegExp(`key ${K1}.*refused to its slave with 400`));
});

it('finds a key that was never shown retrievable (I2)', () => {
  const history = [record(enc(), keys([K1, BYTES1]))];
  const audit = auditCrashHistory(history, KME_OF, [pool({ stored: 999, reserved: 1 })]);
  expect(audit.findings).toContainEqual(expect.objectContaining({ invariant: 'I2', message: expect.stringMatching(/never retrieved/) }));
});

it('finds a retrieved key with other bytes (I4) and a 200 with other keys than asked for (I2)', () => {
  const history = [record(enc(2), keys([K1, BYTES1], [K2, BYTES2])), record(dec(K1), keys([K1, BYTES2])), record(dec(K2), keys([K3, BYTES2]), 'final'), record(dec(K2), keys([K2, BYTES2]), 'final')];
  const audit = auditCrashHistory(history, KME_OF, [pool({ stored: 998, consumed: 2 })]);
  expect(audit.findings.map((finding) => finding.invariant).sort()).toEqual(['I2', 'I4']);
});

it('finds reserved keys that no unanswered enc_keys can explain, and counts that do not add up (I8)', () => {
  const history = [record(enc(2), lost), record(enc(), keys([K1, BYTES1])), record(dec(K1), keys([K1, BYTES1]), 'final')];
  expect(auditCrashHistory(history, KME_OF, [pool({ stored: 997, reserved: 2, consumed: 1 })]).findings).toEqual([]);
  const tooMany = auditCrashHistory(history, KME_OF, [pool({ stored: 996, reserved: 3, consumed: 1 })]);
  expect(tooMany.findings).toEqual([expect.objectContaining({ invariant: 'I8', message: expect.stringMatching(/3 keys still reserved, but unanswered enc_keys asked for only 2/) })]);
  const drift = auditCrashHistory(history, KME_OF, [{ ...pool({ stored: 997, reserved: 2, consumed: 1 }), generated: 1001 }]);
  expect(drift.findings).toEqual([expect.objectContaining({ invariant: 'I8', message: expect.stringMatching(/generated 1001/) })]);
  const consumedTooFew = auditCrashHistory(history, KME_OF, [pool({ stored: 997, reserved: 2, consumed: 0, discarded: 1 })]);
  expect(consumedTooFew.findings.map((finding) => finding.invariant)).toContain('I8');
});

it('treats a refused connection as a request that never arrived: it explains nothing', () => {
  const refused: CrashOutcome = { answered: false, error: 'fetch failed ECONNREFUSED', refused: true };
  const history = [record(enc(2), refused), record(enc(), keys([K1, BYTES1])), record(dec(K1), refused), record(dec(K1), notFound, 'final')];
  const audit = auditCrashHistory(history, KME_OF, [pool({ stored: 997, reserved: 2, consumed: 1 })]);
  const invariants = audit.findings.map((finding) => finding.invariant);
  expect(invariants).toContain('I2');
  expect(invariants).toContain('I8');
});

it('lists for the final pass every key answered to a master and not yet to its slave', () => {
  const history = [record(enc(2), keys([K1, BYTES1], [K2, BYTES2])), record(dec(K1), keys([K1, BYTES1])), record(dec(K2), lost)];
  expect(keysToRetrieve(history)).toEqual([{ keyId: K2, master: 'SAE_A1', slave: 'SAE_B1' }]);
});

it('finds counts that fell across a restart (I8)', () => {
  const before = [pool({ stored: 900, reserved: 60, consumed: 40 })];
  expect(compareAcrossRestart(before, [pool({ stored: 880, reserved: 70, consumed: 50 })])).toEqual([]);
  expect(compareAcrossRestart(before, [pool({ stored: 920, reserved: 40, consumed: 40 })]).map((finding) => finding.message)).toEqual([
    `pool ${POOL}: keys out of the store fell from 100 to 80 across the restart (a delivered key returned to the pool)`,
  ]);
  expect(compareAcrossRestart(before, [pool({ stored: 900, reserved: 70, consumed: 30 })]).map((finding) => finding.message)).toEqual([`pool ${POOL}: consumed fell from 40 to 30 across the restart`]);
  expect(compareAcrossRestart(before, [])).toEqual([{ invariant: 'I8', message: `pool ${POOL} is gone after the restart` }]);
});
