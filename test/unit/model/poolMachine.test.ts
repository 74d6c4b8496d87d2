// Walks the pool machine's three parallel regions with xstate/graph to show every state and declared transition is reachable and at most one sync is ever in flight, and checks the backoff schedule.
import { expect, it } from 'vitest';
import { initialTransition, transition, type AnyStateNode, type AnyTransitionDefinition } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes } from 'xstate/graph';
import { POOL_SAMPLE_EVENTS } from '../../../src/model/compiledMachines.js';
import { computeBackoffMs, poolMachine, type PoolEvent } from '../../../src/model/poolMachine.js';

const EVENTS: readonly PoolEvent[] = POOL_SAMPLE_EVENTS;

type PoolSnapshot = ReturnType<typeof poolMachine.transition>;

// The machine holds states only (the sync's data lives on the Pool record), so a state is its value.
const serializeState = (snapshot: PoolSnapshot): string => JSON.stringify(snapshot.value);
const adjacency = getAdjacencyMap(poolMachine, { events: EVENTS, serializeState });
const edges = adjacencyMapToArray(adjacency);
const shortestPaths = getShortestPaths(poolMachine, { events: EVENTS, serializeState });
const reachable = Object.values(adjacency).map((entry) => entry.state);

function isActive(snapshot: PoolSnapshot, node: AnyStateNode): boolean {
  return snapshot._nodes.some((active) => active === node);
}

function replay(events: readonly PoolEvent[]): PoolSnapshot {
  let [snapshot] = initialTransition(poolMachine);
  for (const event of events) [snapshot] = transition(poolMachine, snapshot, event);
  return snapshot;
}

function pathTo(snapshot: PoolSnapshot): PoolEvent[] {
  const path = shortestPaths.find((candidate) => serializeState(candidate.state) === serializeState(snapshot));
  if (path === undefined) throw new Error(`no path to ${serializeState(snapshot)}`);
  return path.steps.slice(1).map((step) => step.event);
}

function syncOf(snapshot: PoolSnapshot): string {
  return (snapshot.value as Record<string, string>)['sync'] ?? '';
}

it('reaches every state node of the pool machine and every combination of its three regions', () => {
  const nodes = getStateNodes(poolMachine);
  expect(nodes).toHaveLength(3 + 4 + 3 + 2);
  for (const node of nodes) {
    expect(node.type, `${node.id} is final, but a pool never ends`).not.toBe('final');
    expect(shortestPaths.some((path) => isActive(path.state, node)), `no path reaches ${node.id}`).toBe(true);
  }
  expect(shortestPaths).toHaveLength(4 * 3 * 2);
  expect(reachable).toHaveLength(4 * 3 * 2);
});

it('takes every declared transition of the pool machine on some path', () => {
  const declared = getStateNodes(poolMachine).flatMap((node) => [...node.transitions.values()].flat());
  expect(declared).toHaveLength(12 + 1 + 3 + 3 + 2);
  const taken = new Set<AnyTransitionDefinition>();
  for (const { state, event, nextState: next } of edges) {
    for (const definition of poolMachine.getTransitionData(state, event)) taken.add(definition);
    expect(serializeState(replay([...pathTo(state), event]))).toBe(serializeState(next));
  }
  for (const definition of declared) {
    expect(taken.has(definition), `${definition.source.id} on ${definition.eventType} is never taken`).toBe(true);
  }
});

it('starts in exhausted, idle and online', () => {
  expect(replay([]).value).toEqual({ level: 'exhausted', sync: 'idle', remote: 'online' });
});

it('refuses sync.start while a sync is in flight, in every reachable state', () => {
  const syncing = reachable.filter((snapshot) => syncOf(snapshot) === 'syncing');
  expect(syncing).toHaveLength(4 * 2);
  for (const snapshot of syncing) {
    expect(snapshot.can({ type: 'sync.start' })).toBe(false);
    const [next] = transition(poolMachine, snapshot, { type: 'sync.start' });
    expect(next.value).toEqual(snapshot.value);
  }
});

it('starts a new sync only from idle or backoff, and never from a sync in flight', () => {
  for (const { state, event, nextState: next } of edges) {
    if (syncOf(next) !== 'syncing' || syncOf(state) === 'syncing') continue;
    expect(['idle', 'backoff']).toContain(syncOf(state));
    expect(['sync.start', 'sync.retry']).toContain(event.type);
  }
});

it('retries only from backoff', () => {
  for (const snapshot of reachable) {
    expect(snapshot.can({ type: 'sync.retry' })).toBe(syncOf(snapshot) === 'backoff');
  }
});

it('holds states only: the reason and failure count of a sync live on the Pool record, not in a context', () => {
  expect(replay([]).context).toEqual({});
  const failedTwice = replay([{ type: 'sync.start' }, { type: 'sync.fail' }, { type: 'sync.retry' }, { type: 'sync.fail' }]);
  expect(syncOf(failedTwice)).toBe('backoff');
  expect(failedTwice.context).toEqual({});
});

it('lets a new sync cut a backoff short, and a completed sync ends in idle', () => {
  const backoff = replay([{ type: 'sync.start' }, { type: 'sync.fail' }]);
  const [next] = transition(poolMachine, backoff, { type: 'sync.start' });
  expect(syncOf(next)).toBe('syncing');
  const [completed] = transition(poolMachine, next, { type: 'sync.complete' });
  expect(syncOf(completed)).toBe('idle');
});

it('grows the backoff exponentially from baseMs', () => {
  const policy = { baseMs: 1_000, maxMs: 300_000 };
  expect([1, 2, 3, 4, 5].map((attempt) => computeBackoffMs(attempt, policy))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
});

it('caps the backoff at maxMs and never decreases, even after many failures', () => {
  const policy = { baseMs: 1_000, maxMs: 300_000 };
  let previous = 0;
  for (let attempt = 1; attempt <= 200; attempt++) {
    const delay = computeBackoffMs(attempt, policy);
    expect(delay).toBeGreaterThanOrEqual(previous);
    expect(delay).toBeLessThanOrEqual(policy.maxMs);
    previous = delay;
  }
  expect(computeBackoffMs(9, policy)).toBe(256_000);
  expect(computeBackoffMs(10, policy)).toBe(300_000);
  expect(computeBackoffMs(1_000_000, policy)).toBe(300_000);
});

it('refuses an attempt number that is not a positive integer', () => {
  const policy = { baseMs: 1_000, maxMs: 300_000 };
  for (const attempt of [0, -1, 1.5, Number.NaN]) {
    expect(() => computeBackoffMs(attempt, policy)).toThrow(RangeError);
  }
});
