// One unit of a sweep: a scenario file at one seed with some bug switches. Jobs run in the main thread
// or in worker threads; both load the scenario from its file, so a job is just three values.
import { loadScenarios } from './loadScenario.js';
import type { RunReport } from './runReport.js';
import { runScenario } from './runScenario.js';
import type { BugName } from '../model/bugs.js';

export interface RunJob {
  readonly file: string;
  readonly seed: number;
  readonly bugs: readonly BugName[];
}

export async function runJob(job: RunJob, traceSink?: (line: string) => void): Promise<RunReport> {
  const [loaded] = await loadScenarios(job.file);
  if (loaded === undefined) throw new Error(`runJob: no scenario in ${job.file}`);
  return runScenario(loaded.scenario, { seed: job.seed, file: job.file, bugs: job.bugs, ...(traceSink === undefined ? {} : { traceSink }) });
}
