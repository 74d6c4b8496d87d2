// A failing run, shrunk for its reports: the smallest scenario that still fails the same way, written
// beside the reports, and the events of its trace that tell the failure.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { BugName } from '../model/bugs.js';
import type { RunReport, ShrunkRun } from '../sim/runReport.js';
import { runScenario } from '../sim/runScenario.js';
import type { Scenario } from '../sim/scenarioSchema.js';
import { shrinkScenario } from '../sim/shrinkScenario.js';

const EVENTS_MAX = 16;
const EVENT_LENGTH_MAX = 240;

export async function shrinkFailure(report: RunReport, scenario: Scenario, out: string): Promise<ShrunkRun | null> {
  const bugs = report.bugs as BugName[];
  const shrunk = shrinkScenario(scenario, report.seed, bugs, report.file);
  if (shrunk === null) return null;
  await mkdir(out, { recursive: true });
  const file = join(out, `shrunk-${report.scenario}-seed${report.seed}.yaml`);
  const scenarioYaml = stringify(shrunk.scenario);
  await writeFile(file, scenarioYaml);
  const lines: string[] = [];
  const again = runScenario(shrunk.scenario, { seed: report.seed, file, bugs, traceSink: (line) => lines.push(line) });
  const violation = again.safety.violations[0] ?? again.liveness.violations[0] ?? null;
  const keyId = String((violation?.evidence as Record<string, unknown> | undefined)?.['keyId'] ?? '');
  // The story of the failure: the traffic and faults of the shrunk run, without the set-up.
  const story = lines.filter((line) => !line.includes('"k":"sae.register"') && !line.includes('"k":"run.start"'));
  const relevant = keyId === '' ? story.slice(-12) : story.filter((line) => line.includes(keyId) || line.includes('"violation"')).slice(0, EVENTS_MAX);
  return {
    file,
    scenarioYaml,
    shrinkRuns: shrunk.runs,
    messages: shrunk.report.stats.messagesSent,
    faults: shrunk.scenario.faults.length,
    violation,
    events: relevant.map((line) => (line.length > EVENT_LENGTH_MAX ? `${line.slice(0, EVENT_LENGTH_MAX - 3)}...` : line)),
    repro: `npx kmesim run ${file} --seed ${report.seed}${bugs.map((bug) => ` --bug ${bug}`).join('')}`,
  };
}
