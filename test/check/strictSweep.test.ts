// Proves the checker raises no false alarm: a correct KME must come out clean at every seed. One strict mock
// KME per shape (two KMEs with four listed SAEs and the default pools of 1000 keys, one KME, two KMEs over
// mTLS) is started in-process on a real clock and checked again and again, each seed a fresh `runCheck`
// with two workloads, against the one server whose history grows with every check. Any violation,
// checklist fail or finding fails the test with its seed, and the first violation with its curl transcript.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CheckReport } from '../../src/check/checkReport.js';
import { runCheck } from '../../src/check/runCheck.js';
import { targetSchema, type Target } from '../../src/check/targetSchema.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/http/startServer.js';
import { createScenarioSetup } from '../../src/sim/scenarioSetup.js';
import { describeTarget } from '../../src/http/targetFile.js';

const RUNS = 2;
const BUDGET_MS = 5_000;

let dir = '';
let scenarioFile = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kmesim-check-sweep-'));
  scenarioFile = join(dir, 'four-saes.yaml');
  const lines = [
    'name: check-strict-sweep',
    'seeds: [1]',
    'duration: 1h',
    'world:',
    '  kmes: 2',
    '  users:',
    '    - { name: a1, kme: 0 }',
    '    - { name: a2, kme: 0 }',
    '    - { name: b1, kme: 1 }',
    '    - { name: b2, kme: 1 }',
    '',
  ];
  await writeFile(scenarioFile, lines.join('\n'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Empty when the report is clean; otherwise the seed, what was wrong, and the first violation's transcript. */
function dirtOf(report: CheckReport): string {
  const fails = report.conformance.filter((result) => result.verdict === 'fail');
  if (report.violations.length === 0 && fails.length === 0 && report.findings.length === 0) return '';
  const lines = [
    `seed ${report.seed}: ${report.violations.length} violation(s), ${fails.length} checklist fail(s), ${report.findings.length} finding(s)`,
    ...fails.map((result) => `  ${result.item} ${result.title}: ${result.detail}`),
    ...report.findings.slice(0, 5).map((found) => `  finding (${found.kind}): ${found.message}`),
  ];
  const first = report.violations[0];
  if (first !== undefined) {
    lines.push(`  ${first.invariant} ${first.name}: ${first.message}`, `  evidence: ${JSON.stringify(first.evidence)}`);
    for (const line of first.transcript) lines.push(`    ${line.curl}    # ${line.failure ?? line.status} ${line.response.slice(0, 160)}`);
  }
  return lines.join('\n');
}

async function sweep(options: ServerOptions, seeds: number, inspect: (target: Target) => void = () => undefined): Promise<void> {
  const server: RunningServer = await startServer({ port: 0, host: '127.0.0.1', seed: 1, clock: 'real', ...options });
  try {
    const target = targetSchema.parse(describeTarget(server));
    inspect(target);
    for (let seed = 1; seed <= seeds; seed++) {
      const { report } = await runCheck(target, { file: 'target.yaml', seed, runs: RUNS, budgetMs: BUDGET_MS });
      expect(dirtOf(report)).toBe('');
      expect(report.passed, `seed ${seed}`).toBe(true);
      expect(report.detectedAfterMs, `seed ${seed}`).toBeNull();
    }
  } finally {
    await server.close();
  }
}

it('judges one strict two-KME server clean at seeds 1 to 100', async () => {
  await sweep({ setup: createScenarioSetup(scenarioFile) }, 100, (target) => {
    expect(target.kmes).toHaveLength(2);
    expect(target.saes.map((sae) => `${sae.id}@${sae.kme}`)).toEqual(['SAE_A1@KME_A', 'SAE_A2@KME_A', 'SAE_B1@KME_B', 'SAE_B2@KME_B']);
  });
}, 120_000);

it('judges one strict one-KME server clean at seeds 1 to 10', async () => {
  await sweep({ kmes: 1 }, 10, (target) => expect(target.kmes).toHaveLength(1));
}, 60_000);

it('judges one strict mTLS server clean at seeds 1 to 10', async () => {
  await sweep({ setup: createScenarioSetup(scenarioFile), auth: 'mtls', certDir: join(dir, 'certs') }, 10, (target) => {
    for (const kme of target.kmes) expect(kme.url).toMatch(/^https:\/\//);
    for (const sae of target.saes) {
      expect(sae.header, sae.id).toBeUndefined();
      expect([sae.cert, sae.key, sae.ca].every((path) => typeof path === 'string' && path.startsWith(dir)), sae.id).toBe(true);
    }
  });
}, 60_000);
