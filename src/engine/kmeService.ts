// The KME core behind an async interface, as a server runs it, on the engine's stepper: each request is
// one step of the core, stamped by the injected clock and judged at once (the same step and the same
// verdict as the simulator and the mock KME host). Effects go to the driver. With the check-then-act bug
// switched on, enc_keys awaits between checking availability and reserving, as a careless async server
// would.
import type { EncKeysCommand } from '../model/encKeys.js';
import { checkEncKeys, type KmeCommand, type KmeResult, type StepOutcome } from '../model/kmeCore.js';
import type { Violation } from '../model/violation.js';
import type { World } from '../model/world.js';
import { createStepper } from './stepper.js';

export interface KmeServiceOptions {
  readonly world: World;
  readonly nowMs: () => number;
  /** Where a careless server would await (a database round trip); only the check-then-act bug awaits. */
  readonly pause?: () => Promise<void>;
  /** Sees every step, e.g. to record a trace or to schedule what the effects ask for. */
  readonly onStep?: (command: KmeCommand, outcome: StepOutcome, nowMs: number) => void;
}

export interface KmeService {
  readonly world: World;
  execute(command: KmeCommand): KmeResult;
  request(command: KmeCommand): Promise<KmeResult>;
  /** What the stepper found wrong so far (I1–I12 as each step is judged), in order. */
  violations(): readonly Violation[];
}

export function createKmeService(options: KmeServiceOptions): KmeService {
  const { world, nowMs } = options;
  const pause = options.pause ?? (() => Promise.resolve());
  const stepper = createStepper(() => world);
  const found: Violation[] = [];
  const step = (command: KmeCommand, commit?: (at: number) => StepOutcome): KmeResult => {
    const at = Math.max(nowMs(), world.nowMs);
    const { outcome, violations } = stepper.step(command, at, commit === undefined ? undefined : () => commit(at));
    found.push(...violations);
    options.onStep?.(command, outcome, at);
    return outcome.result;
  };

  async function encKeysCarelessly(command: EncKeysCommand): Promise<KmeResult> {
    const checked = checkEncKeys(world, command);
    if (checked === null) return step(command);
    await pause();
    return step(command, checked.commit);
  }

  return {
    world,
    execute: (command) => step(command),
    async request(command) {
      if (command.type === 'keys.enc' && world.config.bugs.has('check-then-act')) return encKeysCarelessly(command);
      return step(command);
    },
    violations: () => found,
  };
}
