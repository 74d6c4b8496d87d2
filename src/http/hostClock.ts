// The server's clock. `real`: milliseconds since start on the monotonic clock, plus whatever the admin API
// advanced it by. `manual`: stands still until advanced, so a client's CI controls time completely.
// Either way the host asks to be woken when its next timer (a sync answer, a retry) comes due.
export interface HostClock {
  readonly mode: 'real' | 'manual';
  now(): number;
  advance(ms: number): void;
  wakeAt(atMs: number, wake: () => void): void;
  /**
   * Resolves once this clock has moved on by `ms`, by time passing (real clock) or by being advanced
   * (either clock): an injected latency a test ends by advancing the clock.
   */
  sleep(ms: number): Promise<void>;
  /** Ends every sleep now (faults cleared, the world reset, the server stopping). */
  releaseSleepers(): void;
  stop(): void;
}

export function createHostClock(mode: 'real' | 'manual'): HostClock {
  const started = performance.now();
  let offset = 0;
  let pending: { atMs: number; wake: () => void; timer: NodeJS.Timeout | null } | null = null;
  // Sleepers, woken when their time comes (a timer on the real clock), by advance, or all at once.
  interface Sleeper {
    readonly untilMs: number;
    readonly resolve: () => void;
    timer: NodeJS.Timeout | null;
  }
  const sleepers: Sleeper[] = [];
  const wakeSleepers = (all: boolean): void => {
    const nowMs = now();
    for (let i = sleepers.length - 1; i >= 0; i--) {
      const sleeper = sleepers[i] as Sleeper;
      if (all || sleeper.untilMs <= nowMs) {
        sleepers.splice(i, 1);
        if (sleeper.timer !== null) clearTimeout(sleeper.timer);
        sleeper.resolve();
      }
    }
  };
  const now = (): number => (mode === 'real' ? Math.floor(performance.now() - started) : 0) + offset;
  const arm = (): void => {
    if (pending === null || mode === 'manual') return;
    if (pending.timer !== null) clearTimeout(pending.timer);
    const target = pending;
    target.timer = setTimeout(() => fire(target.atMs), Math.max(0, target.atMs - now()));
    target.timer.unref();
  };
  const fire = (upTo: number): void => {
    if (pending === null || pending.atMs > upTo) return;
    const { wake, timer } = pending;
    if (timer !== null) clearTimeout(timer);
    pending = null;
    wake();
  };
  return {
    mode,
    now,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`clock.advance: ${ms} is not a duration`);
      offset += ms;
      fire(now());
      wakeSleepers(false);
    },
    sleep(ms) {
      if (ms <= 0) return Promise.resolve();
      return new Promise((resolve) => {
        const sleeper: Sleeper = { untilMs: now() + ms, resolve, timer: null };
        // Its own timer ends it (the timer's clock and performance.now may round a millisecond apart).
        if (mode === 'real') {
          sleeper.timer = setTimeout(() => {
            const index = sleepers.indexOf(sleeper);
            if (index >= 0) sleepers.splice(index, 1);
            resolve();
          }, ms);
        }
        sleepers.push(sleeper);
      });
    },
    releaseSleepers() {
      wakeSleepers(true);
    },
    wakeAt(atMs, wake) {
      if (pending !== null && pending.atMs <= atMs) return;
      if (pending?.timer) clearTimeout(pending.timer);
      pending = { atMs, wake, timer: null };
      arm();
    },
    stop() {
      if (pending?.timer) clearTimeout(pending.timer);
      pending = null;
      wakeSleepers(true);
    },
  };
}
