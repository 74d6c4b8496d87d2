// One unit of a sweep: a scenario file at one seed with some bug switches. Jobs run in the main thread
// or in worker threads; both load the scenario from its file, so a job is just three values. The run's wall
// time is measured here, by the caller: the simulator reads no clock of its own.
import { loadScenarios } from '../sim/loadScenario.js';
import type { RunReport } from '../sim/runReport.js';
import { runScenario } from '../sim/runScenario.js';
import type { BugName } from '../model/bugs.js';

export interface RunJob {
  readonly file: string;
  readonly seed: number;
  readonly bugs: readonly BugName[];
}

export async function runJob(job: RunJob, traceSink?: (line: string) => void): Promise<RunReport> {
  const [loaded] = await loadScenarios(job.file);
  if (loaded === undefined) throw new Error(`runJob: no scenario in ${job.file}`);
  return runScenario(loaded.scenario, { seed: job.seed, file: job.file, bugs: job.bugs, wallClock: () => performance.now(), ...(traceSink === undefined ? {} : { traceSink }) });
}
