// The liveness phase: at the end of the safety phase every fault heals and no new mail is written; when
// the liveness bound has passed, the clock ticks to the end, a last audit runs, and I16 asks whether the
// pending work finished: every message written in time was sent, every message sent in time whose keys
// still live is decrypted by every reader, and no pool stayed below its low threshold for the whole bound.
import { formatDuration } from '../engine/duration.js';
import type { Profile } from '../model/profiles.js';
import { violation, type Violation } from '../model/violation.js';
import { fedContinuously } from '../model/poolOps.js';
import { availableKeys } from '../model/world.js';
import { healFaults } from './faults.js';
import { healProduction } from './supplyChanges.js';
import type { Message } from './mailMessage.js';
import { recordViolations, type RunState } from './runState.js';
import type { Scenario } from './scenarioSchema.js';
import type { SimKme } from './simKme.js';

export function startLiveness(state: RunState): void {
  state.trace.record({ t: state.nowMs, k: 'phase.liveness' });
  state.phase = 'liveness';
  healFaults(state);
  healProduction(state);
}

/** After the last event: the clock moves to the end of the run, a last audit, then the I16 verdict. Only for a run not stopped. */
export function finishLiveness(state: RunState): void {
  if (!state.stopped) {
    state.nowMs = Math.max(state.nowMs, state.endOfRun);
    for (const sim of state.sims) {
      sim.run({ type: 'clock.tick' }, state.nowMs);
      const audit = sim.audit();
      if (audit.length > 0) recordViolations(state, audit);
    }
  }
  if (!state.stopped) state.liveness.push(...checkLiveness(state.scenario, state.profile, state.sims, state.inFlight, state.belowSince, state.nowMs));
}

/** I16: faults healed and the bound passed, every delivered message whose keys live is decrypted and no pool is left below its low threshold. */
function checkLiveness(
  scenario: Scenario,
  profile: Profile,
  sims: readonly SimKme[],
  inFlight: ReadonlySet<Message>,
  belowSince: ReadonlyMap<string, number>,
  nowMs: number,
): Violation[] {
  const found: Violation[] = [];
  for (const message of inFlight) {
    if (message.lost) continue;
    const sentAtMs = message.sentAtMs;
    if (sentAtMs === null) {
      // Written before the faults healed and refused ever since: the mail client retried for the whole bound,
      // and no key ever came for it (a pool left too low for the requests it gets, say).
      if (message.createdAtMs > scenario.duration) continue;
      found.push(
        violation('I16', `message ${message.id} from ${message.sender.name} could not be sent within ${formatDuration(scenario.liveness.bound)} of healing (${message.sendAttempts} attempts refused)`, {
          message: message.id,
          createdAtMs: message.createdAtMs,
          sendAttempts: message.sendAttempts,
          recipient: message.readers[0]?.name,
        }),
      );
      if (found.length >= 20) break;
      continue;
    }
    // Pending when the faults healed: sent by then, keys still alive. Later sends are new work.
    if (sentAtMs > scenario.duration || sentAtMs + profile.keyTtlMs <= nowMs) continue;
    found.push(
      violation('I16', `message ${message.id} from ${message.sender.name} was not decrypted by every reader within ${formatDuration(scenario.liveness.bound)} of healing`, {
        message: message.id,
        sentAtMs,
        readers: message.readers.map((reader) => reader.name),
        decryptedBy: message.readers.filter((reader) => message.decryptedBy.has(reader.index)).map((reader) => reader.name),
      }),
    );
    if (found.length >= 20) break;
  }
  for (const sim of sims) {
    for (const pool of sim.world.pools.values()) {
      const since = belowSince.get(`${sim.index}:${pool.id}`);
      // Below its threshold for the whole bound since the faults healed (or since it fell, if later).
      // A pool fed continuously fills when its clients ask (keySupply.ts); the messages above are its liveness.
      if (pool.deleted || since === undefined || fedContinuously(sim.world, pool) || Math.max(since, scenario.duration) + scenario.liveness.bound > nowMs) continue;
      found.push(
        violation('I16', `pool ${pool.id} stayed below its low threshold for ${formatDuration(nowMs - Math.max(since, scenario.duration))} after the faults healed`, {
          pool: pool.id,
          stored: availableKeys(pool),
          capacity: pool.capacity,
          belowSinceMs: since,
          source: sim.index,
        }),
      );
    }
  }
  return found;
}
