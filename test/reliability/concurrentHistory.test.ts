// The concurrency suite's judge: overlapping requests are linearized generously (decision 0010), so a
// refusal that raced a success is no alarm, yet a double delivery or an unexplained refusal still is.
import { expect, it } from 'vitest';
import type { Exchange } from '../../src/model/historyChecker.js';
import { judgeConcurrentHistory, linearizeGenerously, type TimedExchange } from './support/concurrentHistory.js';

const KEY = { keyId: '11111111-1111-4111-8111-111111111111', materialHash: 'sha256:aa', sizeBits: 256 };

function enc(id: number, sent: number, answered: number, keys = [KEY]): TimedExchange {
  const exchange: Exchange = { op: 'enc', id, atMs: answered, kmeId: 'KME_A', callerSaeId: 'SAE_A1', slaveSaeId: 'SAE_B1', additionalSlaveSaeIds: [], expectedSizeBits: 256, status: 200, keys };
  return { exchange, sentTick: sent, answeredTick: answered };
}

function dec(id: number, sent: number, answered: number, status: number, caller = 'SAE_B1'): TimedExchange {
  const exchange: Exchange = { op: 'dec', id, atMs: answered, kmeId: 'KME_B', callerSaeId: caller, masterSaeId: 'SAE_A1', keyIds: [KEY.keyId], status, keys: status === 200 ? [KEY] : [] };
  return { exchange, sentTick: sent, answeredTick: answered };
}

it('judges a refusal that raced a success on the same key after that success: no alarm', () => {
  // Two dec_keys for one key at once: the refusal is answered first, the success a moment later.
  const history = [enc(1, 1, 2), dec(2, 3, 6, 200), dec(3, 4, 5, 400)];
  expect(linearizeGenerously(history).map((item) => item.exchange.id)).toEqual([1, 2, 3]);
  expect(judgeConcurrentHistory(history, {})).toEqual({ violations: [], pendingKeys: 0 });
  // Fed in the order the answers arrived, the same history would read as a lost key.
  expect(judgeConcurrentHistory(history.map((item) => ({ ...item, sentTick: item.answeredTick })), {}).violations.map((v) => v.invariant)).toEqual(['I2']);
});

it('still finds two successes for one key, however they overlap (I3)', () => {
  const history = [enc(1, 1, 2), dec(2, 3, 6, 200), dec(3, 4, 5, 200)];
  expect(judgeConcurrentHistory(history, {}).violations.map((v) => v.invariant)).toEqual(['I3']);
});

it('still finds a refusal nothing explains (I2), and a key ID delivered twice (I1)', () => {
  expect(judgeConcurrentHistory([enc(1, 1, 2), dec(2, 3, 4, 400), dec(3, 3, 7, 401, 'SAE_A2')], {}).violations.map((v) => v.invariant)).toEqual(['I2']);
  expect(judgeConcurrentHistory([enc(1, 1, 4), enc(2, 2, 3)], {}).violations.map((v) => v.invariant)).toEqual(['I1']);
});

it('holds a refusal back until every exchange that overlapped it has answered, and no longer', () => {
  // Refusal 5 is answered at 4 while enc_keys 4 (sent at 3.5) runs until 10; enc_keys 6 is sent after 4.
  const history = [enc(1, 1, 2), dec(5, 3, 4, 400, 'SAE_A2'), enc(4, 3.5, 10, []), enc(6, 5, 8, [])];
  expect(linearizeGenerously(history).map((item) => item.exchange.id)).toEqual([1, 6, 4, 5]);
});
