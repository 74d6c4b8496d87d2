// The history checker on hand-made histories: where the spec leaves a KME a choice it raises nothing, and
// where a key is lost it names the cause only when the history singles one out (docs/checker-latitude.md).
import { expect, it } from 'vitest';
import { createHistoryChecker, type Exchange, type ObservedKey } from '../../../src/model/historyChecker.js';

const K1 = '11111111-1111-4111-8111-111111111111';
const K2 = '22222222-2222-4222-8222-222222222222';
const K3 = '33333333-3333-4333-8333-333333333333';
const key = (keyId: string, materialHash = `h:${keyId}`): ObservedKey => ({ keyId, materialHash, sizeBits: 256 });

let next = 0;
const enc = (keys: readonly ObservedKey[], master = 'A', slave = 'B', status = 200): Exchange => ({
  op: 'enc', id: ++next, atMs: next, kmeId: 'KME_A', callerSaeId: master, slaveSaeId: slave, additionalSlaveSaeIds: [], expectedSizeBits: 256, status, keys: status === 200 ? keys : [],
});
const dec = (keyIds: readonly string[], options: { caller?: string; master?: string; status?: number; keys?: readonly ObservedKey[]; obliged?: boolean } = {}): Exchange => ({
  op: 'dec', id: ++next, atMs: next, kmeId: 'KME_B', callerSaeId: options.caller ?? 'B', masterSaeId: options.master ?? 'A', keyIds, status: options.status ?? 200, keys: options.keys ?? [],
  ...(options.obliged === undefined ? {} : { obliged: options.obliged }),
});

function judge(history: readonly Exchange[], attributeLosses = true, masterMayReadBack = true): string[] {
  const checker = createHistoryChecker({ attributeLosses, masterMayReadBack });
  return history.flatMap((exchange) => checker.observe(exchange)).map((found) => `${found.invariant} ${found.message}`);
}

it('accepts the keys of a dec_keys answer in any order (the spec fixes none)', () => {
  expect(judge([enc([key(K1), key(K2), key(K3)]), dec([K3, K1, K2], { keys: [key(K1), key(K2), key(K3)] })])).toEqual([]);
});

it('still flags a dec_keys answer whose keys are not the ones asked for (I2)', () => {
  expect(judge([enc([key(K1), key(K2)]), dec([K1, K2], { keys: [key(K1), key(K1)] })])).toContainEqual(expect.stringMatching(/^I2 dec_keys answered 200 with other keys/));
});

it('raises nothing when a KME the slave is not attached to refuses it (obliged: false), and the slave then gets the key', () => {
  expect(judge([enc([key(K1)]), dec([K1], { status: 401, obliged: false }), dec([K1], { keys: [key(K1)] })])).toEqual([]);
});

it('counts a refusal at the slave’s own KME (obliged) as a loss (I2)', () => {
  expect(judge([enc([key(K1)]), dec([K1], { status: 401 })])).toEqual([expect.stringMatching(/^I2 key .* could not be retrieved \(status 401\)$/)]);
});

it('lets a master read back its own key without an I5, and its slave still must get the key once', () => {
  expect(judge([enc([key(K1)]), dec([K1], { caller: 'A', keys: [key(K1)] }), dec([K1], { keys: [key(K1)] })])).toEqual([]);
  // A KME whose master read took the key from its slave loses it (I2).
  expect(judge([enc([key(K1)]), dec([K1], { caller: 'A', keys: [key(K1)] }), dec([K1], { status: 400 })])).toEqual([expect.stringMatching(/^I2 /)]);
  // Other bytes for the master are I4.
  expect(judge([enc([key(K1)]), dec([K1], { caller: 'A', keys: [key(K1, 'h:other')] })])).toEqual([expect.stringMatching(/^I4 .* came back to its master/)]);
  // Where the KME promised to refuse it (kmesim's own profiles), a master that got its key back is an I5.
  expect(judge([enc([key(K1)]), dec([K1], { caller: 'A', keys: [key(K1)] })], true, false)).toEqual([expect.stringMatching(/^I5 /)]);
});

it('blames a loss on a refused dec_keys (I7) only when no later enc_keys of the pair could have dropped the key', () => {
  const refusedThenLost = [enc([key(K1)]), dec([K1, K3], { status: 400 }), dec([K1], { status: 400 })];
  expect(judge(refusedThenLost)).toEqual([expect.stringMatching(/^I7 key .* was lost by the refused dec_keys/)]);
  // A later delivery to the same pair came in between: the loss is reported as such, not blamed on the refusal.
  const droppedByLaterEnc = [enc([key(K1)]), dec([K1, K3], { status: 400 }), enc([key(K2)]), dec([K1], { status: 400 })];
  expect(judge(droppedByLaterEnc)).toEqual([expect.stringMatching(/^I2 key .* could not be retrieved after a later enc_keys for the same pair/)]);
  // Without counting pairs (the simulator's setting) the refusal keeps the blame.
  expect(judge(droppedByLaterEnc, false)).toEqual([expect.stringMatching(/^I7 /)]);
});

it('names a restart since the key was issued as the context of its loss', () => {
  const checker = createHistoryChecker({ attributeLosses: true });
  checker.observe(enc([key(K1)]));
  checker.observe({ op: 'restart', id: ++next, atMs: next, kmeId: 'KME_B' });
  expect(checker.observe(dec([K1], { status: 400 })).map((found) => found.message)).toEqual([expect.stringMatching(/could not be retrieved after a KME restart/)]);
});
