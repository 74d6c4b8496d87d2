// Walks the key lifecycle with xstate/graph to show that every state and every declared transition is reachable, that it allows exactly the moves DESIGN.md lists, and that its end states are final.
import { expect, it } from 'vitest';
import { initialTransition, transition, type AnyStateNode, type AnyTransitionDefinition } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes } from 'xstate/graph';
import { KEY_EVENT_TYPES, keyMachine, type KeyEvent } from '../../../src/model/keyMachine.js';

const EVENTS: readonly KeyEvent[] = KEY_EVENT_TYPES.map((type) => ({ type }));
const FINAL_STATES = ['consumed', 'expired', 'discarded'];

type KeySnapshot = ReturnType<typeof keyMachine.transition>;

const serializeState = (snapshot: KeySnapshot): string => JSON.stringify(snapshot.value);
const adjacency = getAdjacencyMap(keyMachine, { events: EVENTS, serializeState });
const edges = adjacencyMapToArray(adjacency);
const shortestPaths = getShortestPaths(keyMachine, { events: EVENTS, serializeState });

function isActive(snapshot: KeySnapshot, node: AnyStateNode): boolean {
  return snapshot._nodes.some((active) => active === node);
}

function replay(events: readonly KeyEvent[]): KeySnapshot {
  let [snapshot] = initialTransition(keyMachine);
  for (const event of events) [snapshot] = transition(keyMachine, snapshot, event);
  return snapshot;
}

function pathTo(snapshot: KeySnapshot): KeyEvent[] {
  const path = shortestPaths.find((candidate) => serializeState(candidate.state) === serializeState(snapshot));
  if (path === undefined) throw new Error(`no path to ${serializeState(snapshot)}`);
  // The first step of every path is xstate's own init event, which is not a key event.
  return path.steps.slice(1).map((step) => step.event);
}

it('reaches every state node of the key machine by some path from generated', () => {
  const nodes = getStateNodes(keyMachine);
  expect(nodes.map((node) => node.key).sort()).toEqual(['consumed', 'discarded', 'expired', 'generated', 'reserved', 'stored']);
  for (const node of nodes) {
    const path = shortestPaths.find((candidate) => isActive(candidate.state, node));
    expect(path, `no path reaches ${node.id}`).toBeDefined();
    if (path !== undefined) expect(isActive(replay(pathTo(path.state)), node)).toBe(true);
  }
});

it('takes every declared transition of the key machine on some path', () => {
  const declared = getStateNodes(keyMachine).flatMap((node) => [...node.transitions.values()].flat());
  expect(declared).toHaveLength(9);
  const taken = new Set<AnyTransitionDefinition>();
  for (const { state, event, nextState: next } of edges) {
    for (const definition of keyMachine.getTransitionData(state, event)) taken.add(definition);
    // The path to the source state followed by this event lands where the adjacency map says.
    expect(serializeState(replay([...pathTo(state), event]))).toBe(serializeState(next));
  }
  for (const definition of declared) {
    expect(taken.has(definition), `${definition.source.id} on ${definition.eventType} is never taken`).toBe(true);
  }
});

it('allows exactly the key moves that DESIGN.md lists and no other', () => {
  const moves: string[] = [];
  for (const { state, event, nextState: next } of edges) {
    if (state.can(event)) moves.push(`${String(state.value)} --${event.type}--> ${String(next.value)}`);
  }
  expect(moves.sort()).toEqual(
    [
      'generated --key.store--> stored',
      'generated --key.discard--> discarded',
      'stored --key.reserve--> reserved',
      'stored --key.expire--> expired',
      'stored --key.discard--> discarded',
      'reserved --key.retrieve--> reserved',
      'reserved --key.consume--> consumed',
      'reserved --key.expire--> expired',
      'reserved --key.discard--> discarded',
    ].sort(),
  );
});

it('makes consumed, expired and discarded final states that accept no event', () => {
  for (const name of FINAL_STATES) {
    const node = keyMachine.root.states[name];
    expect(node?.type).toBe('final');
    const path = shortestPaths.find((candidate) => candidate.state.value === name);
    expect(path?.state.status).toBe('done');
    if (path === undefined) continue;
    for (const event of EVENTS) expect(path.state.can(event), `${name} accepts ${event.type}`).toBe(false);
  }
});

it('leaves generated, stored and reserved active with at least one way out', () => {
  for (const name of ['generated', 'stored', 'reserved']) {
    const path = shortestPaths.find((candidate) => candidate.state.value === name);
    expect(path?.state.status).toBe('active');
    expect(EVENTS.some((event) => path?.state.can(event) === true)).toBe(true);
  }
});

it('refuses to reserve a key that is not yet stored', () => {
  const generated = replay([]);
  expect(generated.can({ type: 'key.reserve' })).toBe(false);
  expect(transition(keyMachine, generated, { type: 'key.reserve' })[0].value).toBe('generated');
});
