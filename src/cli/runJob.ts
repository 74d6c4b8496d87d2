// One unit of a sweep: a scenario file at one seed with some bug switches. Jobs run in the main thread
// or in worker threads; both load the scenario from its file, so a job is just three values. The run's wall
// time is measured here, by the caller: the simulator reads no clock of its own.
import { loadScenarios } from '../sim/loadScenario.js';
import type { RunReport } from '../sim/runReport.js';
import { runScenario } from '../sim/runScenario.js';
import type { Scenario } from '../sim/scenarioSchema.js';
import type { BugName } from '../model/bugs.js';

export interface RunJob {
  readonly file: string;
  readonly seed: number;
  readonly bugs: readonly BugName[];
  /** The scenario itself (a plan's point), instead of the one in `file`, which then only names it. */
  readonly scenario?: Scenario;
}

export async function runJob(job: RunJob, traceSink?: (line: string) => void): Promise<RunReport> {
  const scenario = job.scenario ?? (await loadScenarios(job.file))[0]?.scenario;
  if (scenario === undefined) throw new Error(`runJob: no scenario in ${job.file}`);
  return runScenario(scenario, { seed: job.seed, file: job.file, bugs: job.bugs, wallClock: () => performance.now(), ...(traceSink === undefined ? {} : { traceSink }) });
}
