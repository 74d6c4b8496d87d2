// The engine's fault edges: what each does to the transport and which commands the world runs, the same
// for the simulator and the mock KME host, including outages that overlap.
import { expect, it } from 'vitest';
import { applyFaultEdge, createTransportFaults, faultEdges, faultProblem, faultSchema, healFaults, kmeDown, remoteOnline, type Fault } from '../../../src/engine/faults.js';

const KMES = ['KME_A', 'KME_B'];

it('ending the global outage leaves a link that another fault holds down offline', () => {
  const faults = createTransportFaults();
  const all: Fault = { type: 'remote-offline', from: 0, to: 100 };
  const link: Fault = { type: 'link-down', from: 0, to: 200, link: 'KME_A~KME_B' };
  expect(applyFaultEdge(faults, all, 'start', 0, KMES).commands).toEqual([{ type: 'remote.down' }]);
  expect(applyFaultEdge(faults, link, 'start', 0, KMES).commands).toEqual([{ type: 'remote.down', linkId: 'KME_A~KME_B' }]);
  expect(applyFaultEdge(faults, all, 'end', 100, KMES).commands).toEqual([{ type: 'remote.up' }, { type: 'remote.down', linkId: 'KME_A~KME_B' }]);
  expect(remoteOnline(faults, 'KME_A~KME_B')).toBe(false);
  expect(remoteOnline(faults, 'KME_A~KME_C')).toBe(true);
  expect(applyFaultEdge(faults, link, 'end', 200, KMES).commands).toEqual([{ type: 'remote.up', linkId: 'KME_A~KME_B' }]);
  expect(remoteOnline(faults, 'KME_A~KME_B')).toBe(true);
});

it('overlapping latencies: the longest in force applies, and one ending leaves the others in force', () => {
  const faults = createTransportFaults();
  const long: Fault = { type: 'latency', from: 0, to: 300, ms: 200 };
  const short: Fault = { type: 'latency', from: 100, to: 500, ms: 50 };
  applyFaultEdge(faults, long, 'start', 0, KMES);
  applyFaultEdge(faults, short, 'start', 100, KMES);
  expect(faults.latencyMs).toBe(200);
  applyFaultEdge(faults, long, 'end', 300, KMES);
  expect(faults.latencyMs).toBe(50);
  applyFaultEdge(faults, short, 'end', 500, KMES);
  expect(faults.latencyMs).toBe(0);
  // The end of a latency not in force (the admin shorthand's latencyMs: 0) ends every one.
  applyFaultEdge(faults, long, 'start', 600, KMES);
  applyFaultEdge(faults, short, 'start', 600, KMES);
  applyFaultEdge(faults, { type: 'latency', from: 0, ms: 0 }, 'end', 700, KMES);
  expect(faults.latencyMs).toBe(0);
});

it('ending a link outage while every remote is down brings nothing back', () => {
  const faults = createTransportFaults();
  applyFaultEdge(faults, { type: 'remote-offline', from: 0 }, 'start', 0, KMES);
  const link: Fault = { type: 'link-down', from: 0, to: 5, link: 'L' };
  applyFaultEdge(faults, link, 'start', 0, KMES);
  expect(applyFaultEdge(faults, link, 'end', 5, KMES).commands).toEqual([]);
  expect(remoteOnline(faults, 'L')).toBe(false);
});

it('a restart names its KME by index or by ID, and keeps it down for its downtime only', () => {
  const faults = createTransportFaults();
  expect(faultProblem({ type: 'kme-restart', at: 0, kme: 3, downtime: 0 }, KMES, new Set())).toMatch(/no KME 3/);
  expect(applyFaultEdge(faults, { type: 'kme-restart', at: 0, kme: 1, downtime: 1_000 }, 'start', 50, KMES).commands).toEqual([{ type: 'kme.restart', kmeId: 'KME_B' }]);
  expect(kmeDown(faults, 'KME_B', 1_049)).toBe(true);
  expect(kmeDown(faults, 'KME_B', 1_050)).toBe(false);
  expect(kmeDown(faults, 'KME_A', 100)).toBe(false);
  expect(applyFaultEdge(faults, { type: 'kme-restart', at: 0, kme: 'KME_A', downtime: 0 }, 'start', 0, KMES).commands).toEqual([{ type: 'kme.restart', kmeId: 'KME_A' }]);
  expect(kmeDown(faults, 'KME_A', 0)).toBe(false);
  expect(faultProblem({ type: 'kme-restart', at: 0, kme: 'KME_Z', downtime: 0 }, KMES, new Set())).toMatch(/no KME KME_Z/);
  expect(() => applyFaultEdge(faults, { type: 'kme-restart', at: 0, kme: 'KME_Z', downtime: 0 }, 'start', 0, KMES)).toThrow(/no KME/);
});

it('reads one schema for scenario files and the admin API: durations, defaults, open-ended faults', () => {
  expect(faultSchema.parse({ type: 'remote-offline', from: '10m', to: '1h' })).toEqual({ type: 'remote-offline', from: 600_000, to: 3_600_000 });
  expect(faultSchema.parse({ type: 'remote-offline' })).toEqual({ type: 'remote-offline', from: 0 });
  expect(faultSchema.parse({ type: 'fail-next', count: 2 })).toEqual({ type: 'fail-next', at: 0, count: 2, status: 503 });
  expect(faultSchema.safeParse({ type: 'latency', from: 0, ms: -1 }).success).toBe(false);
  expect(faultSchema.safeParse({ type: 'meteor' }).success).toBe(false);
  expect(faultEdges({ type: 'latency', from: 5, to: 9, ms: 1 })).toEqual([{ atMs: 5, edge: 'start' }, { atMs: 9, edge: 'end' }]);
  expect(faultEdges({ type: 'remote-offline', from: 5 })).toEqual([{ atMs: 5, edge: 'start' }]);
  expect(faultProblem({ type: 'latency', from: 9, to: 5, ms: 1 }, KMES, new Set())).toMatch(/ends .* before it starts/);
  expect(faultProblem({ type: 'link-down', from: 0, link: 'nope' }, KMES, new Set(['L']))).toMatch(/no link nope/);
});

it('heals everything at once', () => {
  const faults = createTransportFaults();
  applyFaultEdge(faults, { type: 'latency', from: 0, ms: 30 }, 'start', 0, KMES);
  applyFaultEdge(faults, { type: 'fail-next', at: 0, count: 4, status: 500 }, 'start', 0, KMES);
  applyFaultEdge(faults, { type: 'link-down', from: 0, link: 'L' }, 'start', 0, KMES);
  expect(healFaults(faults)).toEqual([{ type: 'remote.up' }]);
  expect(faults).toEqual(createTransportFaults());
});
