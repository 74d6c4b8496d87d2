// The world store journals every state-changing command to a real SQLite file (a fresh temp dir per test)
// and rebuilds the world by replay. These tests check that the rebuilt world is the one that was lost, that
// it keeps the OTP promises across a restart (I1, I2, I3, I8), and that a process killed mid-append leaves a
// database that replays with every append it acknowledged.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openWorldStore, type WorldSetup, type WorldStore } from '../../../src/http/worldStore.js';
import type { DeliveredKey } from '../../../src/model/encKeys.js';
import { materialOf } from '../../../src/model/keyMaterial.js';
import { executeCommand, type KmeCommand, type StepOutcome } from '../../../src/model/kmeCore.js';
import { toEtsiError } from '../../../src/model/kmeError.js';
import { perUserPoolProfile, resolveProfile, strictProfile, type Profile } from '../../../src/model/profiles.js';
import { checkWorld, snapshotCounts } from '../../../src/model/worldInvariants.js';
import type { World } from '../../../src/model/world.js';

const KMES = ['KME_A', 'KME_B'] as const;
const SAE_KMES: Readonly<Record<string, string>> = { SAE_1: 'KME_A', SAE_2: 'KME_A', SAE_3: 'KME_B', SAE_4: 'KME_B' };
const SAE_IDS = Object.keys(SAE_KMES);
const smallProfile = resolveProfile('strict', { poolCapacity: 6, keyTtlMs: 10_000, maxKeysPerRequest: 4, maxSaeIdCount: 1, backoff: { baseMs: 100, maxMs: 400 } });
const READ_ONLY = new Set<KmeCommand['type']>(['keys.status', 'clock.tick']);

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kmesim-world-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function setupOf(profile: Profile = smallProfile, seed = 'world-store-test'): WorldSetup {
  return { seed, profile, kmeIds: KMES, bugs: [] };
}

/** Runs a command and journals it under the host's rule: a write that succeeded or had effects. */
function step(store: WorldStore, world: World, command: KmeCommand, nowMs: number = world.nowMs): StepOutcome {
  const outcome = executeCommand(world, command, nowMs);
  if (!READ_ONLY.has(command.type) && (outcome.result.ok || outcome.effects.length > 0)) store.append(command, nowMs);
  return outcome;
}

function keysOf(outcome: StepOutcome): readonly DeliveredKey[] {
  if (!outcome.result.ok || outcome.result.kind !== 'keys') throw new Error(`expected keys, got ${JSON.stringify(outcome.result)}`);
  return outcome.result.keys;
}

function register(store: WorldStore, world: World, saeIds: readonly string[]): void {
  for (const saeId of saeIds) expectOk(step(store, world, { type: 'sae.register', saeId, kmeId: SAE_KMES[saeId] as string }));
}

function expectOk(outcome: StepOutcome): void {
  if (!outcome.result.ok) throw new Error(`expected success, got ${JSON.stringify(outcome.result)}`);
}

/** Answers every sync the outcome asked for, at once, from a remote that is up. */
function answerSyncs(store: WorldStore, world: World, outcome: StepOutcome): void {
  for (const effect of outcome.effects) {
    if (effect.type !== 'sync.requested') continue;
    answerSyncs(store, world, step(store, world, { type: 'sync.complete', poolId: effect.poolId, attempt: effect.attempt, keyCount: effect.keyCount }));
  }
}

// A random workload over four SAEs on two KMEs, as plain data: fast-check shrinks it to a short list.
type Op =
  | { readonly op: 'register'; readonly sae: number; readonly initialKeys: number | null }
  | { readonly op: 'delete'; readonly sae: number }
  | { readonly op: 'enc'; readonly master: number; readonly slave: number; readonly count: number; readonly extra: number | null }
  | { readonly op: 'dec'; readonly pick: number; readonly wrongCaller: boolean; readonly otherEnd: boolean }
  | { readonly op: 'status'; readonly master: number; readonly slave: number }
  | { readonly op: 'advance'; readonly ms: number }
  | { readonly op: 'remote'; readonly online: boolean }
  | { readonly op: 'answerSync' }
  | { readonly op: 'retrySync' }
  | { readonly op: 'restart'; readonly kme: number };

const sae = fc.nat({ max: SAE_IDS.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ op: fc.constant('register' as const), sae, initialKeys: fc.option(fc.nat({ max: 6 })) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), sae }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('enc' as const), master: sae, slave: sae, count: fc.integer({ min: 1, max: 5 }), extra: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: sae }) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('dec' as const), pick: fc.nat({ max: 8 }), wrongCaller: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }), otherEnd: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('status' as const), master: sae, slave: sae }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(0, 100, 1_000, 5_000, 12_000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remote' as const), online: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('answerSync' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('retrySync' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('restart' as const), kme: fc.nat({ max: 1 }) }) },
);

interface Driver {
  readonly store: WorldStore;
  readonly world: World;
  nowMs: number;
  remoteOnline: boolean;
  readonly issued: Array<{ readonly keyId: string; readonly master: string; readonly slaves: readonly string[]; readonly linkKmes: readonly string[] }>;
  readonly pendingSyncs: Array<{ readonly poolId: string; readonly attempt: number; readonly keyCount: number }>;
  readonly pendingRetries: Array<{ readonly poolId: string; readonly attempt: number; readonly atMs: number }>;
}

function drive(driver: Driver, op: Op): void {
  const { store, world } = driver;
  const saeAt = (index: number): string => SAE_IDS[index % SAE_IDS.length] as string;
  const run = (command: KmeCommand): StepOutcome => {
    const outcome = step(store, world, command, driver.nowMs);
    for (const effect of outcome.effects) {
      if (effect.type === 'sync.requested') driver.pendingSyncs.push({ poolId: effect.poolId, attempt: effect.attempt, keyCount: effect.keyCount });
      if (effect.type === 'sync.retryScheduled') driver.pendingRetries.push({ poolId: effect.poolId, attempt: effect.attempt, atMs: effect.atMs });
    }
    return outcome;
  };
  switch (op.op) {
    case 'register': {
      const saeId = saeAt(op.sae);
      run({ type: 'sae.register', saeId, kmeId: SAE_KMES[saeId] as string, ...(op.initialKeys === null ? {} : { initialKeys: op.initialKeys }) });
      return;
    }
    case 'delete':
      run({ type: 'sae.delete', saeId: saeAt(op.sae) });
      return;
    case 'enc': {
      const master = saeAt(op.master);
      const slave = saeAt(op.slave);
      const extra = op.extra === null ? [] : [saeAt(op.extra)];
      const masterKme = SAE_KMES[master] as string;
      const request = { ...(op.count === 1 ? {} : { number: op.count }), ...(extra.length === 0 ? {} : { additional_slave_SAE_IDs: extra }) };
      const outcome = run({ type: 'keys.enc', kmeId: masterKme, callerSaeId: master, slaveSaeId: slave, request });
      if (outcome.result.ok && outcome.result.kind === 'keys') {
        const linkKmes = [masterKme, SAE_KMES[slave] as string];
        for (const key of outcome.result.keys) driver.issued.push({ keyId: key.keyId, master, slaves: [slave, ...extra], linkKmes });
      }
      return;
    }
    case 'dec': {
      const key = driver.issued[driver.issued.length - 1 - (op.pick % Math.max(1, driver.issued.length))];
      if (key === undefined) return;
      const slave = key.slaves[op.pick % key.slaves.length] as string;
      const caller = op.wrongCaller ? (SAE_IDS.find((id) => !key.slaves.includes(id)) as string) : slave;
      const kmeId = op.otherEnd ? (key.linkKmes.find((kme) => kme !== SAE_KMES[caller]) ?? (SAE_KMES[caller] as string)) : (SAE_KMES[caller] as string);
      run({ type: 'keys.dec', kmeId, callerSaeId: caller, masterSaeId: key.master, keyIds: [key.keyId] });
      return;
    }
    case 'status': {
      const master = saeAt(op.master);
      run({ type: 'keys.status', kmeId: SAE_KMES[master] as string, callerSaeId: master, slaveSaeId: saeAt(op.slave) });
      return;
    }
    case 'advance':
      driver.nowMs += op.ms;
      run({ type: 'clock.tick' });
      return;
    case 'remote':
      driver.remoteOnline = op.online;
      run({ type: op.online ? 'remote.up' : 'remote.down' });
      return;
    case 'answerSync': {
      const request = driver.pendingSyncs.shift();
      if (request === undefined) return;
      run(driver.remoteOnline ? { type: 'sync.complete', ...request } : { type: 'sync.fail', poolId: request.poolId, attempt: request.attempt });
      return;
    }
    case 'retrySync': {
      const retry = driver.pendingRetries.shift();
      if (retry === undefined) return;
      if (retry.atMs > driver.nowMs) driver.pendingRetries.push(retry);
      else run({ type: 'sync.retry', poolId: retry.poolId, attempt: retry.attempt });
      return;
    }
    case 'restart':
      run({ type: 'kme.restart', kmeId: KMES[op.kme % KMES.length] as string });
      return;
  }
}

function reservedView(world: World): unknown[] {
  return [...world.reserved.values()]
    .map((key) => ({ keyId: key.keyId, masterSaeId: key.masterSaeId, slaveSaeIds: key.slaveSaeIds, retrievals: key.retrievals, expiresAtMs: key.expiresAtMs, state: key.state }))
    .sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
}

it('I8 a world rebuilt from the journal equals the original after a random command sequence', () => {
  const setup = setupOf();
  const tally = { runs: 0, consumed: 0, synced: 0, expired: 0, discarded: 0 };
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 10, maxLength: 100, size: 'medium' }), (ops) => {
      const file = join(dir, `random-${tally.runs++}.db`);
      const store = openWorldStore(file);
      const { world } = store.open(setup);
      const driver: Driver = { store, world, nowMs: 0, remoteOnline: true, issued: [], pendingSyncs: [], pendingRetries: [] };
      register(store, world, ['SAE_1', 'SAE_2', 'SAE_3']);
      for (const op of ops) drive(driver, op);
      store.close();

      const reopened = openWorldStore(file);
      try {
        const opened = reopened.open(setup);
        const rebuilt = opened.world;
        expect(opened.restored).toBe(true);
        expect(rebuilt.nowMs).toBe(opened.lastNowMs);
        expect(opened.lastNowMs).toBeLessThanOrEqual(world.nowMs);
        // Reads (status, clock.tick) are never journaled, yet they move the clock and may expire keys, which
        // the next journaled command does again: bring the rebuilt world to the original's time to compare.
        executeCommand(rebuilt, { type: 'clock.tick' }, world.nowMs);
        expect(rebuilt.nowMs).toBe(world.nowMs);
        expect(snapshotCounts(rebuilt)).toEqual(snapshotCounts(world));
        expect(reservedView(rebuilt)).toEqual(reservedView(world));
        expect(rebuilt).toEqual(world);
        // Replay adds no violation of its own (sae.delete leaves a pool's level stale in the model itself).
        expect(checkWorld(rebuilt)).toEqual(checkWorld(world));
        for (const pool of rebuilt.pools.values()) {
          expect(pool.generated, pool.id).toBe(pool.tailSeq - pool.headSeq + pool.reserved + pool.consumed + pool.expired + pool.discarded);
        }
      } finally {
        reopened.close();
      }
      for (const pool of world.pools.values()) {
        if (pool.consumed > 0) tally.consumed += 1;
        if (pool.generated > pool.capacity) tally.synced += 1;
        if (pool.expired > 0) tally.expired += 1;
        if (pool.discarded > 0) tally.discarded += 1;
      }
    }),
    { numRuns: 100, seed: 20260501 },
  );
  // The runs reached retrievals, syncs, expiry and deletion, so the equality above covers them.
  expect(tally.consumed).toBeGreaterThan(40);
  expect(tally.synced).toBeGreaterThan(40);
  expect(tally.expired).toBeGreaterThan(80);
  expect(tally.discarded).toBeGreaterThan(40);
});

it('I2 keys delivered before a restart are retrievable by their slave after it, with the same bytes, and I3 a key retrieved before it stays gone', () => {
  const file = join(dir, 'i2.db');
  const setup = setupOf();
  let store = openWorldStore(file);
  let { world } = store.open(setup);
  register(store, world, ['SAE_1', 'SAE_3']);
  const delivered = keysOf(step(store, world, { type: 'keys.enc', kmeId: 'KME_A', callerSaeId: 'SAE_1', slaveSaeId: 'SAE_3', request: { number: 4 } }, 1_000));
  const [first, ...rest] = delivered;
  if (first === undefined) throw new Error('no key delivered');
  keysOf(step(store, world, { type: 'keys.dec', kmeId: 'KME_B', callerSaeId: 'SAE_3', masterSaeId: 'SAE_1', keyIds: [first.keyId] }, 2_000));
  store.close();

  store = openWorldStore(file);
  try {
    const opened = store.open(setup);
    world = opened.world;
    expect(opened).toMatchObject({ restored: true, replayed: 4, lastNowMs: 2_000 });
    // The server restarts every KME after restoring a world, so the keys must survive that too.
    for (const kmeId of KMES) step(store, world, { type: 'kme.restart', kmeId }, 3_000);
    const retrieved = keysOf(step(store, world, { type: 'keys.dec', kmeId: 'KME_B', callerSaeId: 'SAE_3', masterSaeId: 'SAE_1', keyIds: rest.map((key) => key.keyId) }, 4_000));
    expect(retrieved.map((key) => [key.keyId, materialOf(setup.seed, key)])).toEqual(rest.map((key) => [key.keyId, materialOf(setup.seed, key)]));
    const again = step(store, world, { type: 'keys.dec', kmeId: 'KME_B', callerSaeId: 'SAE_3', masterSaeId: 'SAE_1', keyIds: [first.keyId] }, 5_000);
    if (again.result.ok) throw new Error('a key retrieved before the restart was delivered again (I3)');
    expect(again.result.error.kind).toBe('keysNotFound');
    expect(toEtsiError(again.result.error, setup.profile).status).toBe(400);
  } finally {
    store.close();
  }
});

it.each([strictProfile, perUserPoolProfile])('I1 enc_keys after a restart never returns a key ID returned before it ($name profile)', (base) => {
  const file = join(dir, `i1-${base.name}.db`);
  const setup = setupOf({ ...base, poolCapacity: 6, maxKeysPerRequest: 4 });
  const deliverSome = (store: WorldStore, world: World, calls: number): string[] => {
    const ids: string[] = [];
    for (let i = 0; i < calls; i++) {
      const outcome = step(store, world, { type: 'keys.enc', kmeId: 'KME_A', callerSaeId: 'SAE_1', slaveSaeId: 'SAE_3', request: { number: 3 } }, world.nowMs + 10);
      // The pool holds 6: every other call drains it and asks the remote for more, which answers at once.
      answerSyncs(store, world, outcome);
      if (outcome.result.ok && outcome.result.kind === 'keys') ids.push(...outcome.result.keys.map((key) => key.keyId));
    }
    return ids;
  };
  let store = openWorldStore(file);
  let { world } = store.open(setup);
  register(store, world, ['SAE_1', 'SAE_3']);
  const before = deliverSome(store, world, 8);
  store.close();

  store = openWorldStore(file);
  try {
    world = store.open(setup).world;
    for (const kmeId of KMES) answerSyncs(store, world, step(store, world, { type: 'kme.restart', kmeId }, world.nowMs + 10));
    const after = deliverSome(store, world, 8);
    expect(before.length).toBeGreaterThan(12);
    expect(after.length).toBeGreaterThan(12);
    expect(new Set([...before, ...after]).size).toBe(before.length + after.length);
  } finally {
    store.close();
  }
});

it('a process killed with SIGKILL while appending leaves a database that replays every append it reported', async () => {
  const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
  const built = join(repoRoot, 'dist', 'http', 'worldStore.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build before this test`);
  const distUrl = (path: string): string => pathToFileURL(join(repoRoot, 'dist', path)).href;
  const script = join(dir, 'appender.mjs');
  writeFileSync(
    script,
    `import { openWorldStore } from ${JSON.stringify(distUrl('http/worldStore.js'))};
import { executeCommand } from ${JSON.stringify(distUrl('model/kmeCore.js'))};
import { resolveProfile } from ${JSON.stringify(distUrl('model/profiles.js'))};
import { openSync, writeSync } from 'node:fs';
const store = openWorldStore(process.argv[2]);
// Reports go to a file with a synchronous write: a pipe would buffer lines in the child, lost with it.
const report = openSync(process.argv[3], 'a');
const profile = resolveProfile('strict', { poolCapacity: 1000000 });
const { world } = store.open({ seed: 'kill-test', profile, kmeIds: ['KME_A', 'KME_B'], bugs: [] });
const run = (command) => {
  const nowMs = world.nowMs + 1;
  const outcome = executeCommand(world, command, nowMs);
  if (!outcome.result.ok) throw new Error(JSON.stringify(outcome.result));
  store.append(command, nowMs);
  return outcome;
};
for (const [saeId, kmeId] of [['SAE_1', 'KME_A'], ['SAE_3', 'KME_B']]) {
  if (!world.saes.has(saeId)) run({ type: 'sae.register', saeId, kmeId });
}
process.stdout.write('ready\\n');
for (;;) {
  const outcome = run({ type: 'keys.enc', kmeId: 'KME_A', callerSaeId: 'SAE_1', slaveSaeId: 'SAE_3', request: {} });
  writeSync(report, outcome.result.keys[0].keyId + '\\n');
}
`,
  );
  const file = join(dir, 'killed.db');
  const reported: string[] = [];
  // Three lives on one file: each child restores what the killed one left, then is killed in turn.
  for (const [life, lifeMs] of [150, 300, 80].entries()) {
    reported.push(...(await runUntilKilled(script, file, join(dir, `life-${life}.txt`), lifeMs)));
  }
  expect(reported.length).toBeGreaterThan(100);

  const store = openWorldStore(file);
  try {
    const profile = resolveProfile('strict', { poolCapacity: 1_000_000 });
    const opened = store.open({ seed: 'kill-test', profile, kmeIds: KMES, bugs: [] });
    // Two registrations, then one enc_keys per reported line, and at most one more per killed life.
    expect(opened.replayed - 2 - reported.length).toBeGreaterThanOrEqual(0);
    expect(opened.replayed - 2 - reported.length).toBeLessThanOrEqual(3);
    const missing = reported.filter((keyId) => !opened.world.reserved.has(keyId));
    expect(missing).toEqual([]);
    expect(checkWorld(opened.world)).toEqual([]);
  } finally {
    store.close();
  }
});

/** Starts the appender, lets it run `lifeMs` after it is ready, kills it, and returns the key IDs it reported. */
function runUntilKilled(script: string, file: string, reportFile: string, lifeMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, file, reportFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!killed && out.startsWith('ready\n')) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), lifeMs);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`appender ended without being killed: ${err}`));
      // A line cut short by the kill was not reported as done.
      resolve(existsSync(reportFile) ? readFileSync(reportFile, 'utf8').split('\n').slice(0, -1) : []);
    });
  });
}

it('reopening with another seed throws a one-line error naming the seed', () => {
  const file = join(dir, 'mismatch.db');
  const first = openWorldStore(file);
  first.open(setupOf());
  first.close();
  const store = openWorldStore(file);
  try {
    let message = '';
    try {
      store.open(setupOf(smallProfile, 'another-seed'));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/seed: stored "world-store-test", given "another-seed"/);
    expect(message).not.toMatch(/\n/);
    expect(() => store.open({ ...setupOf(), bugs: ['no-consume'] })).toThrow(/bugs: stored \[\], given \["no-consume"\]/);
    expect(() => store.open(setupOf({ ...smallProfile, poolCapacity: 7 }))).toThrow(/settings differ: poolCapacity/);
    // The KME IDs are a set: another order is the same world.
    expect(store.open({ ...setupOf(), kmeIds: [...KMES].reverse() }).restored).toBe(true);
  } finally {
    store.close();
  }
});

it('refuses a file that is not a kmesim database, and a database of something else', () => {
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'not a database, just some text that is long enough to have a header. '.repeat(20));
  expect(() => openWorldStore(text)).toThrow(/notes\.txt is not a kmesim database/);
  const other = join(dir, 'other.db');
  const db = new Database(other);
  db.exec('CREATE TABLE users (id TEXT)');
  db.close();
  expect(() => openWorldStore(other)).toThrow(/other\.db is not a kmesim database/);
});

it('refuses a second open of one store and a second store on a file in use', () => {
  const file = join(dir, 'twice.db');
  const store = openWorldStore(file);
  try {
    store.open(setupOf());
    expect(() => store.open(setupOf())).toThrow(/already open/);
    expect(() => openWorldStore(file)).toThrow(/in use by another world store/);
  } finally {
    store.close();
  }
  expect(() => store.append({ type: 'clock.tick' }, 0)).toThrow(/closed/);
});

it('names the journal row that no longer replays', () => {
  const file = join(dir, 'corrupt.db');
  const store = openWorldStore(file);
  const { world } = store.open(setupOf());
  register(store, world, ['SAE_1', 'SAE_3']);
  store.close();
  const db = new Database(file);
  db.prepare('INSERT INTO journal (now_ms, command) VALUES (?, ?)').run(5, JSON.stringify({ type: 'sync.complete', poolId: 'nowhere', attempt: 1, keyCount: 1 }));
  db.close();
  const reopened = openWorldStore(file);
  try {
    expect(() => reopened.open(setupOf())).toThrow(/is corrupt at journal seq 3: .*no pool "nowhere"/);
  } finally {
    reopened.close();
  }
});

it('reset starts a new world and an empty journal under the new setup', () => {
  const file = join(dir, 'reset.db');
  const store = openWorldStore(file);
  const { world } = store.open(setupOf());
  register(store, world, ['SAE_1']);
  const fresh = store.reset(setupOf(smallProfile, 'after-reset'));
  register(store, fresh, ['SAE_3']);
  store.close();
  const reopened = openWorldStore(file);
  try {
    expect(() => reopened.open(setupOf())).toThrow(/seed: stored "after-reset"/);
    const opened = reopened.open(setupOf(smallProfile, 'after-reset'));
    expect(opened.replayed).toBe(1);
    expect([...opened.world.saes.keys()]).toEqual(['SAE_3']);
  } finally {
    reopened.close();
  }
});

it('opens a journal written before the retry, shortage and pool-route settings existed, as the behaviour it had', () => {
  const file = join(dir, 'older.db');
  const store = openWorldStore(file);
  store.open(setupOf(perUserPoolProfile));
  store.close();
  // The setup as an older version wrote it: without the settings added since.
  const db = new Database(file);
  const row = db.prepare("SELECT value FROM meta WHERE key = 'setup'").get() as { value: string };
  const older = JSON.parse(row.value) as { profile: Record<string, unknown> };
  for (const key of ['insufficientKeys', 'retry', 'retryGraceMs', 'poolApi', 'extraKeyPrefixes']) delete older.profile[key];
  db.prepare("UPDATE meta SET value = ? WHERE key = 'setup'").run(JSON.stringify(older));
  db.close();
  const again = openWorldStore(file);
  try {
    expect(again.open(setupOf(perUserPoolProfile)).restored).toBe(true);
  } finally {
    again.close();
  }
  // A setting that did change is still refused.
  const changed = openWorldStore(file);
  try {
    expect(() => changed.open(setupOf(resolveProfile('per-user-pool', { retry: 'idempotent' })))).toThrow(/settings differ: retry/);
  } finally {
    changed.close();
  }
});
