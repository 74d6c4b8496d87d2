/**
 * The `sim` section: key-lifecycle transitions through the core's own stepping function against a bare
 * typed-array loop over the same table, and the wall time of the year-of-mail scenario.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { KEY_EVENT_TYPES } from '../src/model/keyMachine.js';
import { compiledKeyMachine, createMachineCoverage, MACHINE_TABLES, stepKey } from '../src/model/lifecycles.js';
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

interface RunReport {
  readonly runs: ReadonlyArray<{ passed: boolean; wallMs: number; virtualMs: number; fingerprint: string; stats: { messagesSent: number; messagesDecrypted: number } }>;
}

/** year-of-mail as a user runs it: the CLI in its own process, reading its JSON report. */
async function measureYearOfMail(): Promise<BenchFigures> {
  const out = mkdtempSync(join(tmpdir(), 'kmesim-bench-'));
  try {
    const started = performance.now();
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ['bin/kmesim.js', 'run', 'scenarios/year-of-mail.yaml', '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (exitCode) => resolve(exitCode ?? 1));
    });
    const processSeconds = (performance.now() - started) / 1000;
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as RunReport;
    const run = report.runs[0];
    if (code !== 0 || run === undefined || !run.passed) throw new Error(`bench: year-of-mail did not pass (exit ${code})`);
    return {
      yearOfMailSeconds: round3(run.wallMs / 1000),
      yearOfMailProcessSeconds: round3(processSeconds),
      simToRealRatio: Math.round(run.virtualMs / run.wallMs),
      yearOfMailMessages: run.stats.messagesDecrypted,
      yearOfMailFingerprint: run.fingerprint.slice(0, 16),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export const simSection: BenchSection = {
  name: 'sim',
  async run() {
    return { ...measureTransitions(), ...(await measureYearOfMail()) };
  },
};
