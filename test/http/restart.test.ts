// The OTP promises across a killed process: `kmesim serve --db FILE` is spawned as a child, given traffic in
// both directions over real HTTP, killed with SIGKILL (no chance to flush or say goodbye) and started again
// on the same file, three times over; after each start every key from before the kill is judged against
// I1 no-reuse, I2 enc-dec-persistence, I3 consume-once and I4 same-material.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SPEC_NOT_FOUND = 'one or more keys specified are not found on KME';

interface ReadyLine {
  readonly kmes: ReadonlyArray<{ readonly id: string; readonly url: string }>;
  readonly seed: number;
  readonly db?: string;
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

interface Key {
  readonly key_ID: string;
  readonly key: string;
}

/** A key as its master received it, and who may retrieve it where. */
interface Delivered {
  readonly key: Key;
  readonly master: string;
  readonly slave: string;
  readonly slaveKme: string;
}

const children: ChildProcess[] = [];
const tempDirs: string[] = [];

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

afterEach(async () => {
  await Promise.all(children.splice(0).map(kill));
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function serve(...args: string[]): Promise<{ child: ChildProcess; ready: ReadyLine }> {
  const child = spawn(process.execPath, ['bin/kmesim.js', 'serve', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 20 s; stderr: ${stderr}`)), 20_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (code ${code}, signal ${signal}) before its ready line; stderr: ${stderr}`));
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      resolve({ child, ready: JSON.parse(stdout.slice(0, newline)) as ReadyLine });
    });
  });
}

async function call(url: string, init: { method?: string; sae?: string; body?: unknown } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (init.sae !== undefined) headers['X-SAE-ID'] = init.sae;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  return { status: response.status, body: (await response.json()) as unknown };
}

function keysOf(reply: Reply): Key[] {
  if (reply.status !== 200) throw new Error(`expected 200 with keys, got ${reply.status} ${JSON.stringify(reply.body)}`);
  return (reply.body as { keys: Key[] }).keys;
}

function urlOf(ready: ReadyLine, kmeId: string): string {
  const kme = ready.kmes.find((k) => k.id === kmeId);
  if (kme === undefined) throw new Error(`no KME ${kmeId}`);
  return kme.url;
}

const KME_OF: Readonly<Record<string, string>> = { SAE_A1: 'KME_A', SAE_A2: 'KME_A', SAE_B1: 'KME_B', SAE_B2: 'KME_B' };

/** enc_keys by `master` on its own KME for `slave`, by POST or by GET with query strings. */
async function deliver(ready: ReadyLine, master: string, slave: string, number: number, via: 'POST' | 'GET'): Promise<Delivered[]> {
  const base = `${urlOf(ready, KME_OF[master] as string)}/api/v1/keys/${slave}/enc_keys`;
  const reply = via === 'POST' ? await call(base, { method: 'POST', sae: master, body: { number } }) : await call(`${base}?number=${number}&size=512`, { sae: master });
  return keysOf(reply).map((key) => ({ key, master, slave, slaveKme: KME_OF[slave] as string }));
}

function retrieve(ready: ReadyLine, delivered: Delivered): Promise<Reply> {
  const url = `${urlOf(ready, delivered.slaveKme)}/api/v1/keys/${delivered.master}/dec_keys`;
  return call(url, { method: 'POST', sae: delivered.slave, body: { key_IDs: [{ key_ID: delivered.key.key_ID }] } });
}

/** One round of traffic in both directions across the link and on each KME; returns what was delivered. */
async function playTraffic(ready: ReadyLine): Promise<Delivered[]> {
  return [
    ...(await deliver(ready, 'SAE_A1', 'SAE_B1', 3, 'POST')),
    ...(await deliver(ready, 'SAE_B2', 'SAE_A2', 2, 'POST')),
    ...(await deliver(ready, 'SAE_A2', 'SAE_A1', 1, 'GET')),
    ...(await deliver(ready, 'SAE_B1', 'SAE_B2', 2, 'GET')),
  ];
}

it('keeps every delivered key retrievable with its bytes across three SIGKILLs, refuses the ones retrieved before, and never reissues a key ID (I1, I2, I3, I4)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kmesim-restart-'));
  tempDirs.push(dir);
  const db = join(dir, 'world.db');
  let { child, ready } = await serve('--db', db, '--seed', '4', '--kmes', '2');
  expect(ready).toMatchObject({ seed: 4, db });

  const issued = new Set<string>();
  let waiting: Delivered[] = [];
  const retrieved: Delivered[] = [];
  const traffic = async (): Promise<void> => {
    const delivered = await playTraffic(ready);
    for (const { key } of delivered) {
      expect(issued.has(key.key_ID), `key ID ${key.key_ID} issued twice (I1)`).toBe(false);
      issued.add(key.key_ID);
    }
    // The first of each round is retrieved before the kill; the rest wait for their slaves across it.
    const [first, ...rest] = delivered;
    if (first === undefined) throw new Error('no keys delivered');
    expect(keysOf(await retrieve(ready, first))).toEqual([first.key]);
    retrieved.push(first);
    waiting.push(...rest);
  };

  await traffic();
  for (let restart = 1; restart <= 3; restart++) {
    await kill(child);
    // No --seed: the database remembers it.
    ({ child, ready } = await serve('--db', db, '--kmes', '2'));
    expect(ready.seed).toBe(4);
    for (const done of retrieved) {
      expect(await retrieve(ready, done), `${done.key.key_ID} retrieved twice (I3)`).toEqual({ status: 400, body: { message: SPEC_NOT_FOUND, details: [{ key_ID: done.key.key_ID }] } });
    }
    // Every other waiting key now, all of them after the last restart: some wait across several kills.
    const [now, later] = restart === 3 ? [waiting, []] : [waiting.filter((_, i) => i % 2 === 0), waiting.filter((_, i) => i % 2 === 1)];
    for (const pending of now) {
      expect(keysOf(await retrieve(ready, pending)), `${pending.key.key_ID} lost or changed across the restart (I2, I4)`).toEqual([pending.key]);
      retrieved.push(pending);
    }
    waiting = later;
    await traffic();
  }
  expect(issued.size).toBe(4 * 8);

  const invariants = (await call(`${urlOf(ready, 'KME_A')}/_kmesim/invariants`)).body as { holds: boolean; violations: unknown[] };
  expect(invariants.violations).toEqual([]);
  expect(invariants.holds).toBe(true);
});
