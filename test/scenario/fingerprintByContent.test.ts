// A fingerprint depends on what was run, not on where the scenario file lies or how its path is typed:
// the first trace line names the scenario by its name and content hash (SHA-256 of the parsed scenario as
// canonical JSON), and the path appears only in the report. Faker's names and addresses stay out of the
// trace too, so a faker release that rewords them leaves fingerprints alone.
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadScenarios } from '../../src/sim/loadScenario.js';
import type { RunReport } from '../../src/sim/runReport.js';
import { runScenario } from '../../src/sim/runScenario.js';
import { contentHash } from '../../src/sim/trace.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ABSOLUTE = join(ROOT, 'scenarios', 'expiry.yaml');
const SEED = 1;

interface TracedRun {
  readonly report: RunReport;
  readonly lines: readonly string[];
}

async function runFile(file: string): Promise<TracedRun> {
  const [entry] = await loadScenarios(file);
  if (entry === undefined) throw new Error(`no scenario in ${file}`);
  const lines: string[] = [];
  const report = runScenario(entry.scenario, { seed: SEED, file: entry.file, traceSink: (line) => lines.push(line) });
  return { report, lines };
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmesim-fingerprint-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The scenario's path as typed from the working directory: `scenarios/expiry.yaml` when run from the repo root. */
function relativeSpelling(): string {
  return relative(process.cwd(), ABSOLUTE).split(sep).join('/');
}

it('gives one fingerprint for three spellings of the path and a byte-identical copy elsewhere (I14 determinism)', async () => {
  const copy = join(dir, 'copy-of-expiry.yaml');
  await copyFile(ABSOLUTE, copy);
  const spellings = [relativeSpelling(), `./${relativeSpelling()}`, ABSOLUTE, copy];
  const runs = await Promise.all(spellings.map(runFile));
  const fingerprints = new Set(runs.map((run) => run.report.fingerprint));
  expect(fingerprints.size, spellings.join(', ')).toBe(1);
  // The report still says where each file was.
  expect(runs.map((run) => run.report.file)).toEqual(spellings);
  for (const [i, run] of runs.entries()) {
    const spelled = spellings[i] as string;
    expect(run.lines.some((line) => line.includes(spelled)), `${spelled} in the trace`).toBe(false);
  }
});

it('records the scenario name and content hash on the first trace line, not the path', async () => {
  const [entry] = await loadScenarios(ABSOLUTE);
  if (entry === undefined) throw new Error('no scenario in expiry.yaml');
  const { lines } = await runFile(ABSOLUTE);
  const first = JSON.parse(lines[0] as string) as Record<string, unknown>;
  expect(first['k']).toBe('run.start');
  expect(first['scenario']).toBe('expiry');
  expect(first['scenarioHash']).toBe(contentHash(entry.scenario));
  expect(first['scenarioHash']).toMatch(/^[0-9a-f]{64}$/);
  expect(first).not.toHaveProperty('file');
});

it('keeps the fingerprint when only comments and layout change, and changes it when one value does', async () => {
  const text = await readFile(ABSOLUTE, 'utf8');
  const reworded = join(dir, 'reworded.yaml');
  await writeFile(reworded, `# the same scenario, commented and spaced differently\n${text.replace('mailsPerUserPerDay: 8', 'mailsPerUserPerDay:    8   # per user')}\n\n`);
  const changed = join(dir, 'changed.yaml');
  expect(text).toContain('mailsPerUserPerDay: 8\n');
  await writeFile(changed, text.replace('mailsPerUserPerDay: 8\n', 'mailsPerUserPerDay: 9\n'));
  const [original, sameContent, oneValueChanged] = await Promise.all([runFile(ABSOLUTE), runFile(reworded), runFile(changed)]);
  expect(sameContent?.report.fingerprint).toBe(original?.report.fingerprint);
  expect(oneValueChanged?.report.fingerprint).not.toBe(original?.report.fingerprint);
  const hashOf = (run: TracedRun | undefined): unknown => (JSON.parse(run?.lines[0] ?? '{}') as Record<string, unknown>)['scenarioHash'];
  expect(hashOf(sameContent)).toBe(hashOf(original));
  expect(hashOf(oneValueChanged)).not.toBe(hashOf(original));
});

it('keeps faker-made names and addresses out of the trace', async () => {
  const { report, lines } = await runFile(ABSOLUTE);
  // The report keeps them for people to read: "user-1 Jane Doe <jane.doe@example.org> SAE_00001@KME_A".
  const people = (report.derived['firstUsers'] as readonly string[]).map((line) => /^\S+ (.+) <(.+)> \S+$/.exec(line));
  expect(people.length).toBeGreaterThan(0);
  const trace = lines.join('\n');
  for (const match of people) {
    expect(match, 'a firstUsers entry').not.toBeNull();
    const [, displayName, email] = match as RegExpExecArray;
    expect(trace).not.toContain(displayName as string);
    expect(trace).not.toContain(email as string);
  }
});
