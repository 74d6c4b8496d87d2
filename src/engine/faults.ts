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

/** The three ETSI GS QKD 014 routes, by the last segment of their paths. */
export const ETSI_ROUTE_NAMES = ['status', 'enc_keys', 'dec_keys'] as const;
export type EtsiRouteName = (typeof ETSI_ROUTE_NAMES)[number];

/**
 * What a latency or a failure may be limited to: requests on one route, from one caller (SAE ID), to one
 * KME. Absent members match every request; none at all, the whole transport (as before targets existed).
 */
const target = {
  route: z.enum(ETSI_ROUTE_NAMES).optional(),
  sae: z.string().min(1).max(256).optional(),
  kme: kmeRef.optional(),
};

export const faultSchema = z.discriminatedUnion('type', [
  /** Without `to`, until healed (the simulator's liveness phase; DELETE /_kmesim/faults). */
  z.strictObject({ type: z.literal('remote-offline'), from: duration.default(0), to: duration.optional() }),
  z.strictObject({ type: z.literal('link-down'), from: duration.default(0), to: duration.optional(), link: z.string().optional() }),
  z.strictObject({ type: z.literal('kme-restart'), at: duration.default(0), kme: kmeRef.default(0), downtime: duration.default(0) }),
  // Up to an hour: real KMEs stall for seconds to minutes under load.
  z.strictObject({ type: z.literal('latency'), from: duration.default(0), to: duration.optional(), ms: z.number().int().min(0).max(3_600_000), ...target }),
  z.strictObject({
    type: z.literal('fail-next'),
    at: duration.default(0),
    count: z.number().int().min(1).max(1_000_000),
    status: z.number().int().min(400).max(599).default(503),
    ...target,
  }),
]);

export type Fault = z.output<typeof faultSchema>;
export type FaultEdge = 'start' | 'end';

/** A latency or failure limited to some requests (a fault with a route, an SAE or a KME). */
export interface TargetedRule {
  /** The fault that made it: its end removes it. */
  readonly fault: Fault;
  readonly route: EtsiRouteName | undefined;
  readonly sae: string | undefined;
  readonly kme: string | undefined;
  readonly latencyMs: number;
  /** Requests still to fail, and with which status. */
  failCount: number;
  readonly failStatus: number;
}

/** A request as the transport sees it, to match targeted faults: null route for a command that is no request. */
export interface TransportRequest {
  readonly route: EtsiRouteName | null;
  readonly sae: string | null;
  readonly kme: string;
}

/** What faults do to the transport in front of a driver's KMEs, as one mutable record. */
export interface TransportFaults {
  /** Latencies and failures limited to a route, an SAE or a KME, in the order they started. */
  readonly targeted: TargetedRule[];
  /** Answer the next `count` ETSI requests with `status` and an Error body, touching nothing. */
  failNext: { count: number; status: number };
  /** Added to every ETSI response (the host) or mail transmission (the simulator): the longest of `latencies`. */
  latencyMs: number;
  /** Untargeted latency faults in force, each with its latency: one ending leaves the others in force. */
  readonly latencies: Map<Fault, number>;
  /** KMEs (by ID) that answer 503 until this time: a restart in progress. */
  readonly downUntil: Map<string, number>;
  /** Links whose remote key manager is unreachable; `*` for all of them. */
  readonly remoteDown: Set<string>;
}

export function createTransportFaults(): TransportFaults {
  return { targeted: [], failNext: { count: 0, status: 503 }, latencyMs: 0, latencies: new Map(), downUntil: new Map(), remoteDown: new Set() };
}

function isTargeted(fault: Extract<Fault, { type: 'latency' | 'fail-next' }>): boolean {
  return fault.route !== undefined || fault.sae !== undefined || fault.kme !== undefined;
}

function matches(rule: TargetedRule, request: TransportRequest): boolean {
  return (rule.route === undefined || rule.route === request.route) && (rule.sae === undefined || rule.sae === request.sae) && (rule.kme === undefined || rule.kme === request.kme);
}

/** The latency added to this request: the transport's own, or the longest of the targeted ones it matches. */
export function latencyFor(faults: TransportFaults, request: TransportRequest): number {
  let latency = faults.latencyMs;
  for (const rule of faults.targeted) if (rule.latencyMs > latency && matches(rule, request)) latency = rule.latencyMs;
  return latency;
}

/** Whether this request is to fail, and with which status: a targeted failure it matches first, then the transport's. Consumes one. */
export function takeFailure(faults: TransportFaults, request: TransportRequest): number | null {
  for (let i = 0; i < faults.targeted.length; i++) {
    const rule = faults.targeted[i] as TargetedRule;
    if (rule.failCount > 0 && matches(rule, request)) {
      rule.failCount -= 1;
      // A failure rule used up is gone (a latency rule goes at its fault's end).
      if (rule.failCount === 0 && rule.latencyMs === 0) faults.targeted.splice(i, 1);
      return rule.failStatus;
    }
  }
  if (faults.failNext.count > 0) {
    faults.failNext.count -= 1;
    return faults.failNext.status;
  }
  return null;
}

/** Whether some failure is waiting for this request (without consuming it). */
export function failurePending(faults: TransportFaults, request: TransportRequest): boolean {
  return faults.failNext.count > 0 || faults.targeted.some((rule) => rule.failCount > 0 && matches(rule, request));
}

/** A rule's KME: none named matches every KME; one named that is not there matches none (never all). */
function resolvedTarget(kme: string | number | undefined, kmeIds: readonly string[]): string | undefined {
  return kme === undefined ? undefined : (targetKme(kme, kmeIds) ?? '');
}

/** The KME a target names (by index or ID), or undefined when it names none. */
function targetKme(kme: string | number | undefined, kmeIds: readonly string[]): string | undefined {
  if (kme === undefined) return undefined;
  return typeof kme === 'number' ? kmeIds[kme] : kmeIds.includes(kme) ? kme : undefined;
}

/** When a fault starts and, if it has one, when it ends. */
export function faultEdges(fault: Fault): Array<{ readonly atMs: number; readonly edge: FaultEdge }> {
  if ('at' in fault) return [{ atMs: fault.at, edge: 'start' }];
  return fault.to === undefined ? [{ atMs: fault.from, edge: 'start' }] : [{ atMs: fault.from, edge: 'start' }, { atMs: fault.to, edge: 'end' }];
}

/** The KME a restart names, or undefined when an ID names none of `kmeIds`. */
export function restartedKme(fault: Extract<Fault, { type: 'kme-restart' }>, kmeIds: readonly string[]): string | undefined {
  return targetKme(fault.kme, kmeIds);
}

/** Why a fault cannot be played on this world (an unknown KME or link), or null. */
export function faultProblem(fault: Fault, kmeIds: readonly string[], linkIds: ReadonlySet<string>): string | null {
  if (fault.type === 'kme-restart' && restartedKme(fault, kmeIds) === undefined) return `no KME ${String(fault.kme)} (KMEs: ${kmeIds.join(', ')})`;
  if (fault.type === 'link-down' && fault.link !== undefined && !linkIds.has(fault.link)) return `no link ${fault.link} (links: ${[...linkIds].join(', ')})`;
  if ((fault.type === 'latency' || fault.type === 'fail-next') && fault.kme !== undefined && targetKme(fault.kme, kmeIds) === undefined) return `no KME ${String(fault.kme)} (KMEs: ${kmeIds.join(', ')})`;
  if ('to' in fault && fault.to !== undefined && fault.to < fault.from) return `the fault ends (${fault.to} ms) before it starts (${fault.from} ms)`;
  return null;
}

/** The transport's fault state as JSON, for the admin API. */
export function describeTransport(faults: TransportFaults): Record<string, unknown> {
  return {
    remoteDown: [...faults.remoteDown],
    latencyMs: faults.latencyMs,
    failNext: faults.failNext,
    downUntil: Object.fromEntries(faults.downUntil),
    targeted: faults.targeted.map((rule) => ({
      ...(rule.route === undefined ? {} : { route: rule.route }),
      ...(rule.sae === undefined ? {} : { sae: rule.sae }),
      ...(rule.kme === undefined ? {} : { kme: rule.kme }),
      ...(rule.fault.type === 'latency' ? { latencyMs: rule.latencyMs } : { failNext: { count: rule.failCount, status: rule.failStatus } }),
    })),
  };
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
      if (isTargeted(fault)) {
        removeRules(faults, fault);
        if (on) faults.targeted.push({ fault, route: fault.route, sae: fault.sae, kme: resolvedTarget(fault.kme, kmeIds), latencyMs: fault.ms, failCount: 0, failStatus: 0 });
      } else {
        // The end of a latency that is not in force (the admin shorthand's `latencyMs: 0`) ends them all.
        if (on) faults.latencies.set(fault, fault.ms);
        else if (!faults.latencies.delete(fault)) faults.latencies.clear();
        faults.latencyMs = Math.max(0, ...faults.latencies.values());
      }
      return { commands: [], note: { kind: 'fault', detail: on ? `latency ${fault.ms} ms${describeTarget(fault)}` : `latency healed${describeTarget(fault)}` } };
    case 'fail-next':
      if (isTargeted(fault)) faults.targeted.push({ fault, route: fault.route, sae: fault.sae, kme: resolvedTarget(fault.kme, kmeIds), latencyMs: 0, failCount: fault.count, failStatus: fault.status });
      else faults.failNext = { count: fault.count, status: fault.status };
      return { commands: [], note: { kind: 'fault', detail: `fail next ${fault.count} with ${fault.status}${describeTarget(fault)}` } };
  }
}

function removeRules(faults: TransportFaults, fault: Fault): void {
  for (let i = faults.targeted.length - 1; i >= 0; i--) if (faults.targeted[i]?.fault === fault) faults.targeted.splice(i, 1);
}

function describeTarget(fault: Extract<Fault, { type: 'latency' | 'fail-next' }>): string {
  const parts = [fault.route === undefined ? '' : `${fault.route} requests`, fault.sae === undefined ? '' : `from ${fault.sae}`, fault.kme === undefined ? '' : `to ${String(fault.kme)}`].filter((part) => part !== '');
  return parts.length === 0 ? '' : ` (${parts.join(' ')})`;
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
  faults.targeted.length = 0;
  faults.failNext = { count: 0, status: 503 };
  faults.latencyMs = 0;
  faults.latencies.clear();
  faults.downUntil.clear();
  return [{ type: 'remote.up' }];
}
