// The agenda of a run: the events it plays, in (time, seq) order on the engine's queue, and what is on
// the queue at time 0: each user's mail stream, the scenario's bursts and races, its faults, the first
// scheduled sync and the start of the liveness phase. Later events (sends, reads, sync answers and
// retries) are queued by the modules that handle the events before them.
import { faultEdges } from '../engine/faults.js';
import { queueScheduledSync, type SyncTimer } from '../engine/syncTimers.js';
import { newMessage, type Message } from './mailMessage.js';
import type { RunState } from './runState.js';
import type { Fault } from './scenarioSchema.js';
import type { SimUser } from './simUsers.js';

export type SimEvent =
  | { readonly type: 'mail.next'; readonly user: SimUser }
  | { readonly type: 'mail.send'; readonly message: Message }
  | { readonly type: 'mail.read'; readonly message: Message; readonly reader: SimUser; readonly attempt: number }
  | { readonly type: 'mail.reread'; readonly message: Message; readonly reader: SimUser; readonly otherEnd: boolean }
  | { readonly type: 'mail.eavesdrop'; readonly message: Message; readonly eavesdropper: SimUser }
  | SyncTimer
  | { readonly type: 'fault.start'; readonly fault: Fault }
  | { readonly type: 'fault.end'; readonly fault: Fault }
  | { readonly type: 'supply.fluctuate'; readonly linkId: string }
  | { readonly type: 'supply.outage'; readonly linkId: string; readonly down: boolean }
  | { readonly type: 'phase.liveness' };

/** The event of one type, for the handlers that take it whole. */
export type SimEventOf<T extends SimEvent['type']> = Extract<SimEvent, { readonly type: T }>;

/** Queues everything the scenario schedules up front: mail streams, bursts, races, faults, the scheduled sync, the liveness phase. */
export function seedAgenda(state: RunState): void {
  const { scenario, users, queue, series, mailRng } = state;
  for (const user of users) if (Number.isFinite(user.meanGapMs)) queue.push(mailRng.exponential(user.meanGapMs), { type: 'mail.next', user });
  const userByName = new Map(users.map((user) => [user.name, user]));
  const recipientNamed = (name: string): SimUser => {
    const user = userByName.get(name);
    if (user === undefined) throw new Error(`scenario ${scenario.name}: no user "${name}"`);
    return user;
  };
  for (const burst of scenario.workload.bursts) {
    const recipient = recipientNamed(burst.recipient);
    const senders = users.filter((user) => user.index !== recipient.index).slice(0, burst.senders);
    for (const sender of senders) for (let i = 0; i < burst.messages; i++) queue.push(burst.at, { type: 'mail.send', message: newMessage(state, sender, recipient, burst.at) });
    series.event(burst.at, 'burst', `${senders.length}×${burst.messages} → ${recipient.name}`);
  }
  for (const race of scenario.workload.races) {
    const recipient = recipientNamed(race.recipient);
    const senders = users.filter((user) => user.index !== recipient.index).slice(0, race.senders);
    for (const sender of senders) queue.push(race.at, { type: 'mail.send', message: newMessage(state, sender, recipient, race.at) });
    series.event(race.at, 'race', `${senders.length} senders → ${recipient.name}`);
  }
  for (const fault of scenario.faults) {
    for (const { atMs, edge } of faultEdges(fault)) queue.push(atMs, { type: edge === 'start' ? 'fault.start' : 'fault.end', fault });
  }
  queueScheduledSync(queue, state.profile.scheduledSyncMs, 0);
  queue.push(state.endOfSafety, { type: 'phase.liveness' });
}
