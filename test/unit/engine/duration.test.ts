// Checks the duration text of scenario files: each unit and combinations parse to milliseconds, bad
// text is refused with a RangeError that shows an example, and formatDuration writes text that parses
// back to the same number (a fast-check round trip).
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/engine/duration.js';

it('takes a number as milliseconds', () => {
  expect(parseDuration(0)).toBe(0);
  expect(parseDuration(2_000)).toBe(2_000);
});

it('parses every unit', () => {
  expect(parseDuration('500ms')).toBe(500);
  expect(parseDuration('30s')).toBe(30_000);
  expect(parseDuration('15m')).toBe(900_000);
  expect(parseDuration('2h')).toBe(7_200_000);
  expect(parseDuration('7d')).toBe(604_800_000);
  expect(parseDuration('1w')).toBe(604_800_000);
});

it('adds up combined units and decimals', () => {
  expect(parseDuration('1h30m')).toBe(5_400_000);
  expect(parseDuration('1d2h3m4s5ms')).toBe(93_784_005);
  expect(parseDuration('1.5h')).toBe(5_400_000);
  expect(parseDuration('0.5ms')).toBe(1);
});

it('ignores surrounding and separating spaces', () => {
  expect(parseDuration('  2h ')).toBe(7_200_000);
  expect(parseDuration('1h 30m')).toBe(5_400_000);
});

it('refuses text that is not a duration', () => {
  for (const text of ['', '   ', 'abc', '10', '10x', 'h', '-5s', '5s!', '1m5', '5mss', 'ms5', '1h-30m', '1e3ms']) {
    expect(() => parseDuration(text), JSON.stringify(text)).toThrow(RangeError);
  }
});

it('names the bad text and shows an example in the error', () => {
  expect(() => parseDuration('soon')).toThrow(/not a duration: "soon" \(use e\.g\. 500ms/);
});

it('refuses a negative or non-finite number', () => {
  for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => parseDuration(value)).toThrow(RangeError);
});

it('formats durations from days down to milliseconds, leaving out empty units', () => {
  expect(formatDuration(0)).toBe('0s');
  expect(formatDuration(500)).toBe('500ms');
  expect(formatDuration(30_000)).toBe('30s');
  expect(formatDuration(5_400_000)).toBe('1h30m');
  expect(formatDuration(86_400_000 + 1_000)).toBe('1d1s');
  expect(formatDuration(93_784_005)).toBe('1d2h3m4s5ms');
  expect(formatDuration(604_800_000)).toBe('7d');
  expect(formatDuration(1.6)).toBe('2ms');
});

it('formats every whole number of milliseconds as text that parses back to it', () => {
  fc.assert(
    fc.property(fc.nat({ max: 10 * 365 * 86_400_000 }), (ms) => {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }),
  );
});

it('refuses to format a negative or non-finite duration', () => {
  expect(() => formatDuration(-1)).toThrow(RangeError);
  expect(() => formatDuration(Number.NaN)).toThrow(RangeError);
});
