// The KME core behind an async interface, as a server runs it: each request is one step of the core,
// stamped by the injected clock. Effects go to the driver. With the check-then-act bug switched on,
// enc_keys awaits between checking availability and reserving, as a careless async server would.
import type { EncKeysCommand } from './encKeys.js';
import { checkEncKeys, executeCommand, type KmeCommand, type KmeResult, type StepOutcome } from './kmeCore.js';
import type { World } from './world.js';

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
}

export function createKmeService(options: KmeServiceOptions): KmeService {
  const { world, nowMs } = options;
  const pause = options.pause ?? (() => Promise.resolve());
  const execute = (command: KmeCommand): KmeResult => {
    const at = Math.max(nowMs(), world.nowMs);
    const outcome = executeCommand(world, command, at);
    options.onStep?.(command, outcome, at);
    return outcome.result;
  };

  async function encKeysCarelessly(command: EncKeysCommand): Promise<KmeResult> {
    const checked = checkEncKeys(world, command);
    if (checked === null) return execute(command);
    await pause();
    const at = Math.max(nowMs(), world.nowMs);
    const outcome = checked.commit(at);
    options.onStep?.(command, outcome, at);
    return outcome.result;
  }

  return {
    world,
    execute,
    async request(command) {
      if (command.type === 'keys.enc' && world.config.bugs.has('check-then-act')) return encKeysCarelessly(command);
      return execute(command);
    },
  };
}
