// The host clock's sleeps, which hold answers for an injected latency: ended by advancing either clock,
// by time passing on the real one, or all at once when faults clear, the world resets or the host stops.
import { afterEach, expect, it } from 'vitest';
import { createHostClock, type HostClock } from '../../../src/http/hostClock.js';

const clocks: HostClock[] = [];
afterEach(() => {
  for (const clock of clocks.splice(0)) clock.stop();
});

function clockOf(mode: 'real' | 'manual'): HostClock {
  const clock = createHostClock(mode);
  clocks.push(clock);
  return clock;
}

/** Which of the promises have settled, after the event loop has run what was ready. */
async function settled(promises: ReadonlyArray<Promise<void>>): Promise<boolean[]> {
  const done = promises.map(() => false);
  promises.forEach((promise, i) => void promise.then(() => (done[i] = true)));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

it('wakes a manual-clock sleep only once the clock has been advanced past it', async () => {
  const clock = clockOf('manual');
  const short = clock.sleep(1_000);
  const long = clock.sleep(60_000);
  expect(await settled([short, long])).toEqual([false, false]);
  clock.advance(999);
  expect(await settled([short, long])).toEqual([false, false]);
  clock.advance(1);
  expect(await settled([short, long])).toEqual([true, false]);
  clock.advance(59_000);
  expect(await settled([long])).toEqual([true]);
});

it('ends a real-clock sleep of an hour at once when the clock is advanced past it', async () => {
  const clock = clockOf('real');
  const hour = clock.sleep(3_600_000);
  expect(await settled([hour])).toEqual([false]);
  clock.advance(3_600_000);
  expect(await settled([hour])).toEqual([true]);
});

it('ends a short real-clock sleep by its own timer, with no advance and no release', async () => {
  const clock = clockOf('real');
  // Never settling would fail this test by its timeout.
  await expect(clock.sleep(5)).resolves.toBeUndefined();
});

for (const mode of ['real', 'manual'] as const) {
  it(`releases every sleep on the ${mode} clock when asked, and when it stops`, async () => {
    const clock = clockOf(mode);
    const first = [clock.sleep(3_600_000), clock.sleep(10)];
    clock.releaseSleepers();
    expect(await settled(first)).toEqual([true, true]);
    const second = clock.sleep(3_600_000);
    clock.stop();
    expect(await settled([second])).toEqual([true]);
  });
}
