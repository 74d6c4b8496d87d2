// Proves the black-box checker finds every bug in the catalogue through HTTP alone: for each bug switch the
// mock KME is started in-process (two KMEs, four listed SAEs, pools of 20 keys, real clock) with that bug on,
// `runCheck` drives it at seed 1 with 25 workloads, and the report must name the invariant the bug breaks and
// show it with a short curl transcript. For three bugs the transcript is then pasted, line by line, into a
// shell against a fresh server with the same seed, bug and scenario: key IDs come from the seed, so the same
// requests get the same IDs, and the last answer must be the one the transcript shows.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CheckReport, CheckViolation } from '../../src/check/checkReport.js';
import { runCheck } from '../../src/check/runCheck.js';
import { targetSchema } from '../../src/check/targetSchema.js';
import { startServer, type RunningServer } from '../../src/http/startServer.js';
import { createScenarioSetup } from '../../src/sim/scenarioSetup.js';
import { describeTarget } from '../../src/http/targetFile.js';
import { BUG_DESCRIPTIONS, BUG_NAMES, type BugName } from '../../src/model/bugs.js';

const SEED = 1;
const RUNS = 25;
const BUDGET_MS = 60_000;
const TRANSCRIPT_MAX = 8;
const TEST_TIMEOUT_MS = 150_000;
const PASTED = ['no-consume', 'size-rounding', 'third-party-read'] as const satisfies readonly BugName[];

const sh = promisify(execFile);
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmesim-check-bugs-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The scenario of some bugs: two KMEs, a1 and a2 on the first, b1 and b2 on the second, pools of 200 keys. */
async function scenarioFor(...bugs: BugName[]): Promise<string> {
  const file = join(dir, `${bugs.join('+')}.yaml`);
  const lines = [
    `name: check-${bugs.join('-')}`,
    'seeds: [1]',
    'duration: 1h',
    'world:',
    '  kmes: 2',
    '  users:',
    '    - { name: a1, kme: 0 }',
    '    - { name: a2, kme: 0 }',
    '    - { name: b1, kme: 1 }',
    '    - { name: b2, kme: 1 }',
    '  pool: { capacity: 200 }',
    `bugs: [${bugs.join(', ')}]`,
    '',
  ];
  await writeFile(file, lines.join('\n'));
  return file;
}

/** startServer reads bug switches from its options only (the scenario's list is not applied), so both say it. */
async function startBuggy(...bugs: BugName[]): Promise<RunningServer> {
  // No bound on keys waiting for their slave: under no-consume retrieved keys never stop waiting, and pools of
  // 200 would refuse every request long before the property phase shows the bug.
  return startServer({ port: 0, host: '127.0.0.1', seed: SEED, clock: 'real', setup: createScenarioSetup(await scenarioFor(...bugs)), bugs, maxWaitingKeys: null });
}

interface Checked {
  readonly report: CheckReport;
  /** The URLs the transcript's curl commands name, by KME ID. */
  readonly kmes: ReadonlyArray<{ readonly id: string; readonly url: string }>;
}

// Several tests read the same check of a bug: run each once.
const checks = new Map<BugName, Promise<Checked>>();
function checkBug(bug: BugName): Promise<Checked> {
  let checked = checks.get(bug);
  if (checked === undefined) {
    checked = (async () => {
      const server = await startBuggy(bug);
      try {
        const { report } = await runCheck(targetSchema.parse(describeTarget(server)), { file: 'target.yaml', seed: SEED, runs: RUNS, budgetMs: BUDGET_MS });
        return { report, kmes: server.kmes };
      } finally {
        await server.close();
      }
    })();
    checks.set(bug, checked);
  }
  return checked;
}

function summaryOf(report: CheckReport): string {
  const fails = report.conformance.filter((result) => result.verdict === 'fail').map((result) => result.item);
  return `violations: ${report.violations.map((found) => found.invariant).join(', ') || 'none'}; checklist fails: ${fails.join(', ') || 'none'}; properties: ${JSON.stringify(report.properties)}`;
}

async function firstViolation(bug: BugName): Promise<CheckViolation> {
  const { report } = await checkBug(bug);
  const invariant = BUG_DESCRIPTIONS[bug].breaks;
  const found = report.violations.find((candidate) => candidate.invariant === invariant);
  if (found === undefined) throw new Error(`${bug}: no ${invariant} violation in the report (${summaryOf(report)})`);
  return found;
}

/** Runs one pasted curl command and returns the HTTP status it got (curl prints it last, on its own line). */
/**
 * Runs a whole transcript as one shell script (answers captured in variables carry across lines) and
 * returns the HTTP status of each curl command, in order.
 */
async function paste(script: string): Promise<{ statuses: number[]; output: string }> {
  // Each command prints its answer's status on a line of its own: mark it to find it in the output.
  const marked = script.split("-w '\\n%{http_code}'").join("-w '\\n@@%{http_code}'");
  const { stdout } = await sh('sh', ['-c', marked], { timeout: 20_000 });
  return { statuses: [...stdout.matchAll(/@@(\d{3})/g)].map((match) => Number(match[1])), output: stdout };
}

/**
 * Defects the checker cannot see from outside: a pool that stays too low after a refusal is a liveness
 * defect, and telling "never recovers" from "a slow link" needs the pool's thresholds and the link's key
 * rate, which a black-box checker does not know. The simulator's liveness phase catches it (I16,
 * test/scenario/bugCatalogue.test.ts).
 */
const NOT_BLACK_BOX: readonly BugName[] = ['no-demand-sync'];

for (const bug of BUG_NAMES.filter((name) => !NOT_BLACK_BOX.includes(name))) {
  const invariant = BUG_DESCRIPTIONS[bug].breaks;
  it(
    `reports ${bug} as a violation of ${invariant} shown by at most ${TRANSCRIPT_MAX} curl commands`,
    async () => {
      const found = await firstViolation(bug);
      expect(found.transcript.length, found.message).toBeGreaterThan(0);
      expect(found.transcript.length, found.transcript.map((line) => line.curl).join('\n')).toBeLessThanOrEqual(TRANSCRIPT_MAX);
      // The first violation is timed from the start of the check, before shrinking.
      const { report } = await checkBug(bug);
      expect(report.detectedAfterMs, bug).not.toBeNull();
      expect(report.detectedAfterMs as number).toBeGreaterThan(0);
      expect(report.detectedAfterMs as number).toBeLessThanOrEqual(report.wallMs);
      // Each line is one curl command, its answer kept in a shell variable and printed without key bytes.
      for (const line of found.transcript) expect(line.curl).toMatch(/(^|; |\n)(R\d+=\$\()?curl -sS /);
    },
    TEST_TIMEOUT_MS,
  );
}

/** Violations found by a history the checker cannot replay on its own (an outage, a drain): not replayed. */
const NOT_REPLAYED: readonly BugName[] = ['count-drift', 'synthetic-fallback'];

for (const bug of BUG_NAMES.filter((name) => !NOT_REPLAYED.includes(name) && !NOT_BLACK_BOX.includes(name))) {
  it(
    `replays the shrunk transcript of ${bug} and reproduces it at least 3 times in 5`,
    async () => {
      const found = await firstViolation(bug);
      expect(found.reproduced, found.message).not.toBeNull();
      expect(found.reproduced?.tries).toBe(5);
      expect(found.reproduced?.reproduced ?? 0, found.transcript.map((line) => line.curl).join('\n')).toBeGreaterThanOrEqual(3);
    },
    TEST_TIMEOUT_MS,
  );
}

/**
 * Bugs on together, in two sets: within each set no bug hides another (pop-on-enc loses every key, so it
 * hides the rest; count-drift's status never shows an empty pool, which the outage probe of
 * synthetic-fallback needs; partial-consume and no-consume undo each other).
 */
const TOGETHER: ReadonlyArray<readonly BugName[]> = [
  ['no-consume', 'check-then-act', 'size-rounding', 'third-party-read', 'synthetic-fallback', 'restart-loses-keys'],
  ['count-drift', 'partial-consume', 'double-delivery'],
];

for (const bugs of TOGETHER) {
  it(
    `finds ${bugs.join(', ')} in one check when they are on at once, each as its own group`,
    async () => {
      const server = await startBuggy(...bugs);
      try {
        const { report } = await runCheck(targetSchema.parse(describeTarget(server)), { file: 'target.yaml', seed: SEED, runs: 40, budgetMs: BUDGET_MS, replays: 1 });
        const invariants = new Set<string>(report.violations.map((found) => found.invariant));
        for (const bug of bugs) expect(invariants.has(BUG_DESCRIPTIONS[bug].breaks), `${bug}: ${summaryOf(report)}`).toBe(true);
        const groups = report.violations.map((found) => found.group);
        expect(new Set(groups).size).toBe(groups.length);
      } finally {
        await server.close();
      }
    },
    TEST_TIMEOUT_MS,
  );
}

it(
  'reports count-drift as an I8 violation through checklist item C14',
  async () => {
    const found = await firstViolation('count-drift');
    expect(found.evidence['checklist']).toBe('C14');
  },
  TEST_TIMEOUT_MS,
);

it(
  'ends every report with a repro line naming the target file, seed 1 and 25 runs',
  async () => {
    for (const bug of BUG_NAMES.filter((name) => !NOT_BLACK_BOX.includes(name))) {
      const { report } = await checkBug(bug);
      expect(report.repro, bug).toMatch(/^npx kmesim check --target target\.yaml --seed 1 --runs 25(?: |$)/);
    }
  },
  TEST_TIMEOUT_MS * 2,
);

for (const bug of PASTED) {
  it(
    `reproduces ${bug} (${BUG_DESCRIPTIONS[bug].breaks}) when its transcript is pasted into a shell against a fresh server`,
    async () => {
      const { kmes } = await checkBug(bug);
      const found = await firstViolation(bug);
      const fresh = await startBuggy(bug);
      try {
        // The fresh server listens on other ports: point each command at the same KME there.
        const origins = new Map(kmes.map((kme) => [new URL(kme.url).origin, fresh.kmes.find((other) => other.id === kme.id)?.url ?? kme.url]));
        const expected = found.transcript.map((line) => line.status);
        const script = found.transcript.map((line) => line.curl.replace(/https?:\/\/127\.0\.0\.1:\d+/g, (origin) => origins.get(origin) ?? origin)).join('\n');
        const { statuses, output } = await paste(script);
        expect(statuses.at(-1), `${script}\n---\n${output}`).toBe(expected.at(-1));
        expect(statuses, `${script}\n---\n${output}`).toEqual(expected);
      } finally {
        await fresh.close();
      }
    },
    TEST_TIMEOUT_MS,
  );
}
