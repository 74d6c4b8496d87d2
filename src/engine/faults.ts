// The one fault schema and what a fault does, for every driver: the remote key manager offline (for every
// link or one), a KME restart with downtime, added latency, the next calls failing. Scenario files list
// faults in it, the admin API takes it, and both drivers play a fault's start and end through
// `applyFaultEdge` at their due times on their (time, seq) queue: it changes the transport's fault state
// and returns the commands the world runs. Times are from the start of a run (a scenario) or from the
// moment of the request (the admin API).
import { z } from 'zod';
import type { KmeCommand } from '../model/kmeCore.js';
import { durationSchema as duration } from './duration.js';

/** A KME by its index among the driver's KMEs or by its ID. */
const kmeRef = z.union([z.number().int().min(0), z.string().min(1).max(64)]);

export const faultSchema = z.discriminatedUnion('type', [
  /** Without `to`, until healed (the simulator's liveness phase; DELETE /_kmesim/faults). */
  z.strictObject({ type: z.literal('remote-offline'), from: duration.default(0), to: duration.optional() }),
  z.strictObject({ type: z.literal('link-down'), from: duration.default(0), to: duration.optional(), link: z.string().optional() }),
  z.strictObject({ type: z.literal('kme-restart'), at: duration.default(0), kme: kmeRef.default(0), downtime: duration.default(0) }),
  z.strictObject({ type: z.literal('latency'), from: duration.default(0), to: duration.optional(), ms: z.number().int().min(0).max(600_000) }),
  z.strictObject({
    type: z.literal('fail-next'),
    at: duration.default(0),
    count: z.number().int().min(1).max(1_000_000),
    status: z.number().int().min(400).max(599).default(503),
  }),
]);

export type Fault = z.output<typeof faultSchema>;
export type FaultEdge = 'start' | 'end';

/** What faults do to the transport in front of a driver's KMEs, as one mutable record. */
export interface TransportFaults {
  /** Answer the next `count` ETSI requests with `status` and an Error body, touching nothing. */
  failNext: { count: number; status: number };
  /** Added to every ETSI response (the host) or mail transmission (the simulator). */
  latencyMs: number;
  /** KMEs (by ID) that answer 503 until this time: a restart in progress. */
  readonly downUntil: Map<string, number>;
  /** Links whose remote key manager is unreachable; `*` for all of them. */
  readonly remoteDown: Set<string>;
}

export function createTransportFaults(): TransportFaults {
  return { failNext: { count: 0, status: 503 }, latencyMs: 0, downUntil: new Map(), remoteDown: new Set() };
}

/** When a fault starts and, if it has one, when it ends. */
export function faultEdges(fault: Fault): Array<{ readonly atMs: number; readonly edge: FaultEdge }> {
  if ('at' in fault) return [{ atMs: fault.at, edge: 'start' }];
  return fault.to === undefined ? [{ atMs: fault.from, edge: 'start' }] : [{ atMs: fault.from, edge: 'start' }, { atMs: fault.to, edge: 'end' }];
}

/** The KME a restart names, or undefined when an ID names none of `kmeIds`. */
export function restartedKme(fault: Extract<Fault, { type: 'kme-restart' }>, kmeIds: readonly string[]): string | undefined {
  if (typeof fault.kme === 'number') return kmeIds[fault.kme];
  return kmeIds.includes(fault.kme) ? fault.kme : undefined;
}

/** Why a fault cannot be played on this world (an unknown KME or link), or null. */
export function faultProblem(fault: Fault, kmeIds: readonly string[], linkIds: ReadonlySet<string>): string | null {
  if (fault.type === 'kme-restart' && restartedKme(fault, kmeIds) === undefined) return `no KME ${String(fault.kme)} (KMEs: ${kmeIds.join(', ')})`;
  if (fault.type === 'link-down' && fault.link !== undefined && !linkIds.has(fault.link)) return `no link ${fault.link} (links: ${[...linkIds].join(', ')})`;
  if ('to' in fault && fault.to !== undefined && fault.to < fault.from) return `the fault ends (${fault.to} ms) before it starts (${fault.from} ms)`;
  return null;
}

/** Whether the remote key manager answers syncs on this link now. */
export function remoteOnline(faults: TransportFaults, linkId: string): boolean {
  return !faults.remoteDown.has('*') && !faults.remoteDown.has(linkId);
}

/** Whether a restart keeps this KME from answering at `nowMs`. */
export function kmeDown(faults: TransportFaults, kmeId: string, nowMs: number): boolean {
  const until = faults.downUntil.get(kmeId);
  return until !== undefined && nowMs < until;
}

/** A line for a chart or a log: what changed. */
export interface FaultNote {
  readonly kind: 'outage.start' | 'outage.end' | 'kme.restart' | 'fault';
  readonly detail: string;
}

/**
 * Plays one edge of a fault at `nowMs`: changes `faults` and returns the commands the world runs (remote
 * state, a restart). Ending one outage leaves the others in force: links still down stay down.
 */
export function applyFaultEdge(faults: TransportFaults, fault: Fault, edge: FaultEdge, nowMs: number, kmeIds: readonly string[]): { readonly commands: KmeCommand[]; readonly note: FaultNote } {
  const on = edge === 'start';
  switch (fault.type) {
    case 'remote-offline':
    case 'link-down': {
      const link = fault.type === 'link-down' ? fault.link : undefined;
      const key = link ?? '*';
      if (on) faults.remoteDown.add(key);
      else faults.remoteDown.delete(key);
      return { commands: remoteCommands(faults, on, link), note: { kind: on ? 'outage.start' : 'outage.end', detail: link ?? 'remote key manager' } };
    }
    case 'kme-restart': {
      const kmeId = restartedKme(fault, kmeIds);
      if (kmeId === undefined) throw new Error(`applyFaultEdge: ${faultProblem(fault, kmeIds, new Set())}`);
      if (fault.downtime > 0) faults.downUntil.set(kmeId, nowMs + fault.downtime);
      return { commands: [{ type: 'kme.restart', kmeId }], note: { kind: 'kme.restart', detail: kmeId } };
    }
    case 'latency':
      faults.latencyMs = on ? fault.ms : 0;
      return { commands: [], note: { kind: 'fault', detail: on ? `latency ${fault.ms} ms` : 'latency healed' } };
    case 'fail-next':
      faults.failNext = { count: fault.count, status: fault.status };
      return { commands: [], note: { kind: 'fault', detail: `fail next ${fault.count} with ${fault.status}` } };
  }
}

function remoteCommands(faults: TransportFaults, on: boolean, link: string | undefined): KmeCommand[] {
  const scope = link === undefined ? {} : { linkId: link };
  if (on) return [{ type: 'remote.down', ...scope }];
  if (faults.remoteDown.has('*')) return [];
  if (link !== undefined) return [{ type: 'remote.up', linkId: link }];
  // Every link back up, then the ones another fault still holds down.
  return [{ type: 'remote.up' }, ...[...faults.remoteDown].map((linkId): KmeCommand => ({ type: 'remote.down', linkId }))];
}

/** Ends every fault: the commands that bring every remote back, with the transport cleared. */
export function healFaults(faults: TransportFaults): KmeCommand[] {
  faults.remoteDown.clear();
  faults.failNext = { count: 0, status: 503 };
  faults.latencyMs = 0;
  faults.downUntil.clear();
  return [{ type: 'remote.up' }];
}
