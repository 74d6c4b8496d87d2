// A scenario's expected outcomes, judged at the end of a run against what the run counted.
import { formatDuration } from '../engine/duration.js';
import type { ExpectationResult } from './runReport.js';
import type { Expectation, Scenario } from './scenarioSchema.js';

export interface RunTally {
  messagesSent: number;
  messagesDecrypted: number;
  encRefused: Record<string, number>;
  decRefused: Record<string, number>;
  syncsRequested: number;
  syncsCompleted: number;
  syncsFailed: number;
  syncReasons: Record<string, number>;
  keysDelivered: number;
  keysExpired: number;
  maxDeliveryMs: number;
  /** Messages that waited for their keys at least each of KEY_WAIT_EDGES_MS (from writing to sending). */
  keyWaitOver: number[];
  /** Messages refused at their first attempt to send, and queued again. */
  messagesDeferred: number;
  /** Per user name: the worst level any of its pools reached (0 healthy … 3 exhausted). */
  worstLevel: Map<string, number>;
  /** Users one of whose pools ran empty during the safety phase. */
  exhaustedUsers: Set<string>;
  undelivered: number;
}

const LEVELS = ['healthy', 'low', 'critical', 'exhausted'] as const;

/** The key-wait thresholds every run counts: 1 s, 10 s, 1 min, 10 min, 1 h. */
export const KEY_WAIT_EDGES_MS: readonly number[] = [1_000, 10_000, 60_000, 600_000, 3_600_000];

function sum(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function judge(expectation: Expectation, tally: RunTally): ExpectationResult {
  if ('pool' in expectation) {
    const worst = tally.worstLevel.get(expectation.pool) ?? 0;
    const wanted = LEVELS.indexOf(expectation.reaches);
    return {
      description: `pool of ${expectation.pool} reaches ${expectation.reaches}`,
      passed: worst >= wanted,
      detail: `worst level reached: ${LEVELS[worst]}`,
    };
  }
  if ('everyMessageDecryptedWithin' in expectation) {
    const bound = expectation.everyMessageDecryptedWithin;
    return {
      description: `every message decrypted within ${formatDuration(bound)}`,
      passed: tally.undelivered === 0 && tally.maxDeliveryMs <= bound && tally.messagesDecrypted > 0,
      detail: `slowest ${formatDuration(tally.maxDeliveryMs)}, ${tally.undelivered} not decrypted, ${tally.messagesDecrypted} decrypted`,
    };
  }
  if ('minMessagesDecrypted' in expectation) {
    return {
      description: `at least ${expectation.minMessagesDecrypted} messages decrypted`,
      passed: tally.messagesDecrypted >= expectation.minMessagesDecrypted,
      detail: `${tally.messagesDecrypted} decrypted`,
    };
  }
  if ('encRefused' in expectation) {
    const refused = sum(tally.encRefused);
    const { min, max } = expectation.encRefused;
    return {
      description: `enc_keys refused ${min ?? 0}…${max ?? '∞'} times`,
      passed: refused >= (min ?? 0) && refused <= (max ?? Infinity),
      detail: `${refused} refusals ${JSON.stringify(tally.encRefused)}`,
    };
  }
  if ('syncs' in expectation) {
    const { reason, failedMin, completedMin } = expectation.syncs;
    const byReason = reason === undefined ? tally.syncsRequested : (tally.syncReasons[reason] ?? 0);
    const passed = byReason > 0 && tally.syncsFailed >= (failedMin ?? 0) && tally.syncsCompleted >= (completedMin ?? 0);
    return {
      description: `syncs${reason === undefined ? '' : ` for reason ${reason}`}${failedMin === undefined ? '' : `, ≥ ${failedMin} failed`}${completedMin === undefined ? '' : `, ≥ ${completedMin} completed`}`,
      passed,
      detail: `requested ${tally.syncsRequested} ${JSON.stringify(tally.syncReasons)}, completed ${tally.syncsCompleted}, failed ${tally.syncsFailed}`,
    };
  }
  return {
    description: `at least ${expectation.keysExpiredMin} keys expire`,
    passed: tally.keysExpired >= expectation.keysExpiredMin,
    detail: `${tally.keysExpired} expired`,
  };
}

export function evaluateExpectations(scenario: Scenario, tally: RunTally, stoppedEarly: boolean): ExpectationResult[] {
  return scenario.expect.map((expectation) => {
    const result = judge(expectation, tally);
    return stoppedEarly && !result.passed ? { ...result, detail: `${result.detail} (run stopped at the first violation)` } : result;
  });
}
