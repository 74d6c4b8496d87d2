// The mock KME's persistence, by event sourcing. The core is deterministic, so the world itself is never
// stored: it is rebuilt by replaying every state-changing command, with its time, through executeCommand
// from a fresh world of the same setup. Each append is one autocommit INSERT; WAL with synchronous=NORMAL
// makes it durable against a killed process (not against power loss) before the host sends its reply.
import Database from 'better-sqlite3';
import { isDeepStrictEqual } from 'node:util';
import type { BugName } from '../model/bugs.js';
import { executeCommand, type KmeCommand } from '../model/kmeCore.js';
import { strictProfile, type Profile } from '../model/profiles.js';
import { createWorld, type World } from '../model/world.js';
import type { CommandJournal } from './kmeHost.js';

export interface WorldSetup {
  readonly seed: string;
  readonly profile: Profile;
  readonly kmeIds: readonly string[];
  readonly bugs: readonly BugName[];
}

export interface OpenedWorld {
  readonly world: World;
  readonly restored: boolean;
  readonly lastNowMs: number;
  readonly replayed: number;
}

export interface WorldStore extends CommandJournal {
  /** First start: records the setup and returns a fresh world. Later starts: checks the setup matches and replays the journal. */
  open(setup: WorldSetup): OpenedWorld;
  /** Starts over with a new world (the admin reset): the setup is replaced and the journal emptied, in one transaction. */
  reset(setup: WorldSetup): World;
  /** The seed recorded when the file was first opened, or null for a new file. */
  storedSeed(): string | null;
  close(): void;
}

// /2: key IDs derive from AES blocks (decision 0003), so a /1 journal would replay under other IDs.
const FORMAT = 'kmesim-world-journal/2';

interface JournalRow {
  readonly seq: number;
  readonly now_ms: number;
  readonly command: string;
}

export function openWorldStore(file: string): WorldStore {
  let db: Database.Database | undefined;
  try {
    // timeout 0: a file another store holds is refused at once rather than after a wait.
    db = new Database(file, { timeout: 0 });
    // Exclusive locking keeps a second process (or store) from interleaving its commands with ours.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.transaction(() => prepareSchema(db as Database.Database, file)).exclusive();
  } catch (error) {
    db?.close();
    throw new Error(`openWorldStore: ${describeOpenError(file, error)}`);
  }
  return createStore(db, file);
}

function prepareSchema(db: Database.Database, file: string): void {
  const tables = new Set(db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((row) => row.name));
  if (tables.size === 0) {
    db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    db.exec('CREATE TABLE journal (seq INTEGER PRIMARY KEY, now_ms INTEGER NOT NULL, command TEXT NOT NULL)');
    db.prepare("INSERT INTO meta (key, value) VALUES ('format', ?)").run(FORMAT);
    return;
  }
  const format = tables.has('meta') ? db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'format'").get()?.value : undefined;
  if (format !== FORMAT || !tables.has('journal')) {
    throw new Error(`${file} is not a kmesim database (${format === undefined ? 'no kmesim format marker' : `format "${format}", expected "${FORMAT}"`})`);
  }
}

function describeOpenError(file: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_NOTADB') return `${file} is not a kmesim database (${message})`;
  if (code === 'SQLITE_BUSY') return `${file} is in use by another world store (${message})`;
  return message.includes(file) ? message : `${file}: ${message}`;
}

function createStore(db: Database.Database, file: string): WorldStore {
  const insert = db.prepare<[number, string]>('INSERT INTO journal (now_ms, command) VALUES (?, ?)');
  const readSetup = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'setup'");
  const writeSetup = db.prepare<[string]>("INSERT OR REPLACE INTO meta (key, value) VALUES ('setup', ?)");
  const clearJournal = db.prepare('DELETE FROM journal');
  const readJournal = db.prepare<[], JournalRow>('SELECT seq, now_ms, command FROM journal ORDER BY seq');
  let opened = false;

  const requireConnection = (api: string): void => {
    if (!db.open) throw new Error(`WorldStore.${api}: the store for ${file} is closed`);
  };

  function replay(world: World): number {
    let replayed = 0;
    for (const row of readJournal.iterate()) {
      try {
        const command = JSON.parse(row.command) as KmeCommand;
        // An unknown command type falls through the core's switch without a result: corrupt, not a no-op.
        if (executeCommand(world, command, row.now_ms).result === undefined) throw new Error(`unknown command type ${JSON.stringify(command.type)}`);
      } catch (error) {
        throw new Error(`WorldStore.open: ${file} is corrupt at journal seq ${row.seq}: ${error instanceof Error ? error.message : String(error)}`);
      }
      replayed += 1;
    }
    return replayed;
  }

  return {
    storedSeed() {
      requireConnection('storedSeed');
      const storedJson = readSetup.get()?.value;
      return storedJson === undefined ? null : (JSON.parse(storedJson) as WorldSetup).seed;
    },
    open(setup) {
      requireConnection('open');
      if (opened) throw new Error(`WorldStore.open: the store for ${file} is already open; open it once per process`);
      const storedJson = readSetup.get()?.value;
      if (storedJson === undefined) {
        writeSetup.run(JSON.stringify(setup));
        opened = true;
        const world = worldOf(setup, setup.kmeIds);
        return { world, restored: false, lastNowMs: world.nowMs, replayed: 0 };
      }
      const stored = JSON.parse(storedJson) as WorldSetup;
      const differences = describeDifferences(stored, setup);
      if (differences.length > 0) throw new Error(`WorldStore.open: ${file} holds a different world (${differences.join('; ')})`);
      // KME IDs are compared as a set, but the world is rebuilt in the stored order, as it was first made.
      const world = worldOf(setup, stored.kmeIds);
      const replayed = replay(world);
      opened = true;
      return { world, restored: true, lastNowMs: world.nowMs, replayed };
    },
    reset(setup) {
      requireConnection('reset');
      if (!opened) throw new Error('WorldStore.reset: open the store first');
      db.transaction(() => {
        clearJournal.run();
        writeSetup.run(JSON.stringify(setup));
      }).immediate();
      return worldOf(setup, setup.kmeIds);
    },
    append(command, nowMs, encoded) {
      requireConnection('append');
      // Commands journaled before open would replay onto a world of unknown setup.
      if (!opened) throw new Error('WorldStore.append: open the store first');
      insert.run(nowMs, encoded ?? JSON.stringify(command));
    },
    close() {
      if (db.open) db.close();
    },
  };
}

function worldOf(setup: WorldSetup, kmeIds: readonly string[]): World {
  return createWorld({ seed: setup.seed, profile: setup.profile, kmeIds, bugs: new Set(setup.bugs) });
}

/** Profile settings added after journals were first written, with the behaviour those journals had. */
const SETTINGS_ADDED_LATER: Readonly<Record<string, unknown>> = {
  insufficientKeys: strictProfile.insufficientKeys,
  retry: strictProfile.retry,
  retryGraceMs: strictProfile.retryGraceMs,
  poolApi: strictProfile.poolApi,
  extraKeyPrefixes: strictProfile.extraKeyPrefixes,
};

function describeDifferences(stored: WorldSetup, given: WorldSetup): string[] {
  const differences: string[] = [];
  const show = (value: unknown): string => JSON.stringify(value);
  const sameSet = (a: readonly string[], b: readonly string[]): boolean => isDeepStrictEqual([...a].sort(), [...b].sort());
  if (stored.seed !== given.seed) differences.push(`seed: stored ${show(stored.seed)}, given ${show(given.seed)}`);
  if (stored.profile.name !== given.profile.name) {
    differences.push(`profile: stored ${show(stored.profile.name)}, given ${show(given.profile.name)}`);
  } else {
    // Same name, other settings (overrides) would replay into another world just the same.
    const givenProfile = JSON.parse(JSON.stringify(given.profile)) as Record<string, unknown>;
    // A journal written before a setting existed behaved as its default does: it matches that default.
    const storedProfile = { ...SETTINGS_ADDED_LATER, ...(stored.profile as unknown as Record<string, unknown>) };
    const keys = [...new Set([...Object.keys(storedProfile), ...Object.keys(givenProfile)])];
    const changed = keys.filter((key) => !isDeepStrictEqual(storedProfile[key], givenProfile[key]));
    if (changed.length > 0) differences.push(`profile ${show(given.profile.name)} settings differ: ${changed.join(', ')}`);
  }
  if (!sameSet(stored.kmeIds, given.kmeIds)) differences.push(`KME IDs: stored ${show(stored.kmeIds)}, given ${show(given.kmeIds)}`);
  if (!sameSet(stored.bugs, given.bugs)) differences.push(`bugs: stored ${show(stored.bugs)}, given ${show(given.bugs)}`);
  return differences;
}
