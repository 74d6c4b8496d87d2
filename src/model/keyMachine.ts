// The key lifecycle: the executable spec of how one key_ID lives and dies. Nothing else moves a key.
import { setup } from 'xstate';
import type { KeyEvent } from './machineTypes.js';

export type { KeyEvent, KeyState } from './machineTypes.js';

export const KEY_EVENT_TYPES = [
  'key.store',
  'key.reserve',
  'key.retrieve',
  'key.consume',
  'key.expire',
  'key.discard',
] as const satisfies ReadonlyArray<KeyEvent['type']>;

export const keyMachine = setup({
  types: { events: {} as KeyEvent },
}).createMachine({
  id: 'key',
  initial: 'generated',
  states: {
    generated: {
      on: { 'key.store': 'stored', 'key.discard': 'discarded' },
    },
    stored: {
      on: { 'key.reserve': 'reserved', 'key.expire': 'expired', 'key.discard': 'discarded' },
    },
    reserved: {
      on: {
        'key.retrieve': 'reserved',
        'key.consume': 'consumed',
        'key.expire': 'expired',
        'key.discard': 'discarded',
      },
    },
    consumed: { type: 'final' },
    expired: { type: 'final' },
    discarded: { type: 'final' },
  },
});

