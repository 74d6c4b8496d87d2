/**
 * The `sim` section: key-lifecycle transitions through the core's own stepping function against a bare
 * typed-array loop over the same table (the same-run baseline of the machine's speed), a seed sweep of
 * the small scenarios, and `npm start` with the year-of-mail run inside it.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { KEY_EVENT_TYPES } from '../src/model/keyMachine.js';
import { compiledKeyMachine } from '../src/model/compiledMachines.js';
import { createMachineCoverage, MACHINE_TABLES, stepKey } from '../src/model/lifecycles.js';
import type { BenchFigures, BenchSection } from './main.js';

type KeyEventType = (typeof KEY_EVENT_TYPES)[number];

/** Lifecycles of `keys` keys as one event stream: store, reserve, retrievals, then an end. */
function lifecycleEvents(keys: number, seed: string): KeyEventType[] {
  const random = seedrandom(seed);
  const events: KeyEventType[] = [];
  for (let i = 0; i < keys; i++) {
    events.push('key.store');
    const roll = random();
    if (roll < 0.05) {
      events.push('key.expire');
      continue;
    }
    events.push('key.reserve');
    const retrievals = Math.floor(random() * 3);
    for (let r = 0; r < retrievals; r++) events.push('key.retrieve');
    events.push(roll < 0.9 ? 'key.consume' : roll < 0.95 ? 'key.expire' : 'key.discard');
  }
  return events;
}

const GENERATED = compiledKeyMachine.initial;

/** The core's path: stepKey, with its event lookup, refusal check and coverage counting. */
function throughCore(events: readonly KeyEventType[]): number {
  const host = { config: { lifecycles: MACHINE_TABLES }, coverage: createMachineCoverage() };
  let state = GENERATED;
  let finals = 0;
  for (const type of events) {
    if (type === 'key.store') state = GENERATED;
    state = stepKey(host, state, type);
    finals += state;
  }
  return finals;
}

/** The practical limit: the same table, events as indices, nothing else. */
function throughTable(table: Int16Array, width: number, events: Uint8Array, storeIndex: number): number {
  let state = GENERATED;
  let finals = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as number;
    if (event === storeIndex) state = GENERATED;
    const next = table[state * width + event] as number;
    if (next < 0) throw new Error('table: refused transition');
    state = next;
    finals += state;
  }
  return finals;
}

/** Best-of-rounds rate, the two loops alternating so that both see the same machine weather. */
export function measureTransitions(): BenchFigures {
  const events = lifecycleEvents(400_000, 'bench-transitions');
  const eventIndex = new Map(compiledKeyMachine.eventTypes.map((type, index) => [type, index]));
  const indices = Uint8Array.from(events, (type) => eventIndex.get(type) as number);
  const width = compiledKeyMachine.eventTypes.length;
  const storeIndex = eventIndex.get('key.store') as number;
  let core = 0;
  let table = 0;
  for (let round = 0; round < 7; round++) {
    let started = performance.now();
    const a = throughCore(events);
    core = Math.max(core, events.length / ((performance.now() - started) / 1000));
    started = performance.now();
    const b = throughTable(compiledKeyMachine.table, width, indices, storeIndex);
    table = Math.max(table, events.length / ((performance.now() - started) / 1000));
    if (a !== b) throw new Error(`bench: the core and the table disagree (${a} vs ${b})`);
  }
  return { transitionsPerSec: Math.round(core), tableTransitionsPerSec: Math.round(table), ratioToTable: round3(core / table) };
}

/** One run as junit.xml's system-out tells it (the report every format shares; a small file to read). */
interface JunitRun {
  readonly scenario: string;
  readonly wallMs: number;
  readonly virtualMs: number;
  readonly kmeSteps: number;
  readonly fingerprint: string;
}

function readJunitRuns(file: string): JunitRun[] {
  const xml = readFileSync(file, 'utf8');
  const runs: JunitRun[] = [];
  for (const match of xml.matchAll(/classname="kmesim\.([^"]+)"[^>]*>[\s\S]*?<system-out>([\s\S]*?)<\/system-out>/g)) {
    const field = (name: string): string => new RegExp(`^${name}: (.*)$`, 'm').exec(match[2] ?? '')?.[1] ?? '';
    runs.push({ scenario: match[1] ?? '', wallMs: Number(field('wall ms')), virtualMs: Number(field('virtual ms')), kmeSteps: Number(field('KME steps')), fingerprint: field('fingerprint') });
  }
  return runs;
}

/** The CLI in its own process, as a user runs it; the seconds from spawn to exit, and the runs it reported. */
async function timeCli(args: readonly string[]): Promise<{ seconds: number; runs: JunitRun[] }> {
  const out = mkdtempSync(join(tmpdir(), 'kmesim-bench-'));
  try {
    const started = performance.now();
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ['bin/kmesim.js', 'run', ...args, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (exitCode) => resolve(exitCode ?? 1));
    });
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`bench: kmesim run ${args.join(' ')} exited ${code}`);
    return { seconds, runs: readJunitRuns(join(out, 'junit.xml')) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * `npm start` from a built checkout (every scenario at its pinned seeds on two workers, reports written),
 * and the year-of-mail run inside it: the scale figure as a user meets it.
 */
async function measureNpmStart(): Promise<BenchFigures> {
  const { seconds, runs } = await timeCli(['scenarios', '--workers', '2']);
  const year = runs.find((run) => run.scenario === 'year-of-mail');
  if (year === undefined) throw new Error('bench: npm start reported no year-of-mail run');
  return {
    npmStartSeconds: round3(seconds),
    npmStartRuns: runs.length,
    yearOfMailSeconds: round3(year.wallMs / 1000),
    simToRealRatio: Math.round(year.virtualMs / year.wallMs),
    yearOfMailStepsPerSec: Math.round((year.kmeSteps * 1000) / year.wallMs),
    yearOfMailFingerprint: year.fingerprint.slice(0, 16),
  };
}

/** A capacity sweep: every scenario but year-of-mail, seeds 1..100, on two workers. */
async function measureSweep(): Promise<BenchFigures> {
  const folder = mkdtempSync(join(tmpdir(), 'kmesim-bench-sweep-'));
  try {
    for (const name of readdirSync('scenarios')) if (name.endsWith('.yaml') && name !== 'year-of-mail.yaml') copyFileSync(join('scenarios', name), join(folder, name));
    const { seconds, runs } = await timeCli([folder, '--seeds', String(SWEEP_SEEDS), '--workers', '2']);
    const steps = runs.reduce((total, run) => total + run.kmeSteps, 0);
    return { sweepSeconds: round3(seconds), sweepRuns: runs.length, sweepStepsPerSec: Math.round(steps / seconds) };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

const SWEEP_SEEDS = 100;

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export const simSection: BenchSection = {
  name: 'sim',
  async run() {
    return { ...measureTransitions(), ...(await measureSweep()), ...(await measureNpmStart()) };
  },
};
