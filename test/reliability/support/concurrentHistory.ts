// Judging a history of overlapping requests with the shared history checker, without false alarms.
// Decision 0010 judges a concurrent burst once all of it has answered, successes before refusals. Many
// clients running at once are one long burst, so the same rule is applied per refusal: a refusal is fed
// to the checker only once every exchange that overlapped it (sent before it was answered) has answered
// and been fed. A success is fed when it is answered. So a refusal that raced a success on the same key
// is judged after that success (no loss), while two successes for one key, or a refusal that nothing
// explains, are still caught.
import { createHistoryChecker, type Exchange, type HistoryCheckerOptions } from '../../../src/model/historyChecker.js';
import type { Violation } from '../../../src/model/violation.js';

export interface TimedExchange {
  readonly exchange: Exchange;
  /** Ticks of one counter shared by every client: taken when the request was sent and when it was answered. */
  readonly sentTick: number;
  readonly answeredTick: number;
}

/** The order the checker sees the exchanges in: successes when answered, refusals after all that overlapped them. */
export function linearizeGenerously(exchanges: readonly TimedExchange[]): TimedExchange[] {
  const bySent = [...exchanges].sort((a, b) => a.sentTick - b.sentTick);
  // latestAnswer[i]: the last answer among the first i + 1 exchanges sent.
  const latestAnswer: number[] = [];
  for (const [i, item] of bySent.entries()) latestAnswer.push(Math.max(item.answeredTick, i === 0 ? -Infinity : (latestAnswer[i - 1] as number)));
  const releaseOf = (item: TimedExchange): number => {
    if (item.exchange.op === 'dec' && item.exchange.status !== 200) {
      // The exchanges sent before this one was answered: a binary search over the send order.
      let low = 0;
      let high = bySent.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if ((bySent[mid] as TimedExchange).sentTick < item.answeredTick) low = mid + 1;
        else high = mid;
      }
      return low === 0 ? item.answeredTick : Math.max(item.answeredTick, latestAnswer[low - 1] as number);
    }
    return item.answeredTick;
  };
  const keyed = exchanges.map((item) => ({ item, release: releaseOf(item), success: item.exchange.op !== 'dec' || item.exchange.status === 200 }));
  // At one release tick successes go first, then by answer.
  keyed.sort((a, b) => a.release - b.release || Number(b.success) - Number(a.success) || a.item.answeredTick - b.item.answeredTick);
  return keyed.map(({ item }) => item);
}

/** The violations the history shows, and how many delivered keys still wait for a slave at its end. */
export function judgeConcurrentHistory(exchanges: readonly TimedExchange[], options: HistoryCheckerOptions): { violations: Violation[]; pendingKeys: number } {
  const checker = createHistoryChecker(options);
  const violations = linearizeGenerously(exchanges).flatMap((item) => checker.observe(item.exchange));
  return { violations, pendingKeys: checker.pendingKeys().length };
}
