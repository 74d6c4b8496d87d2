// The compact ID set the checkers remember retired keys in: exact for every member, no false members in a
// large sample, through many resizes.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { IdSet } from '../../../src/model/idSet.js';

it('holds every member it was given and reports the size of distinct members', () => {
  fc.assert(
    fc.property(fc.array(fc.string(), { maxLength: 300 }), (ids) => {
      const set = new IdSet();
      for (const id of ids) set.add(id);
      expect(set.size).toBe(new Set(ids).size);
      for (const id of ids) expect(set.has(id)).toBe(true);
    }),
  );
});

it('keeps members apart through many resizes and finds no stranger among 200,000 members', () => {
  const set = new IdSet();
  for (let i = 0; i < 200_000; i++) set.add(`key-${i}`);
  expect(set.size).toBe(200_000);
  expect(set.has('key-199999')).toBe(true);
  let strangers = 0;
  for (let i = 200_000; i < 300_000; i++) if (set.has(`key-${i}`)) strangers += 1;
  expect(strangers).toBe(0);
});
