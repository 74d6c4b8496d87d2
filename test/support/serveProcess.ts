// `kmesim serve` as a child process, as a client's CI runs it: spawned from the compiled CLI (bin/kmesim.js,
// which imports dist/, so build first) at the repo root, its one JSON ready line read from stdout, everything
// it writes kept, and every child killed by stopAll. Plus the small HTTP calls the black-box tests share
// (header identity, real fetch).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const EXIT_TIMEOUT_MS = 15_000;

export interface ReadyLine {
  readonly kmes: ReadonlyArray<{ readonly id: string; readonly url: string }>;
  readonly saes: ReadonlyArray<{ readonly id: string; readonly kme: string }>;
  readonly seed: number;
  readonly profile: string;
  readonly auth: string;
  readonly admin: string;
  readonly adminToken?: string;
  readonly db?: string;
  readonly certs?: { readonly ca: string; readonly saes: Readonly<Record<string, { readonly cert: string; readonly key: string }>> };
}

export interface Output {
  stdout: string;
  stderr: string;
}

export interface Served {
  readonly child: ChildProcess;
  readonly ready: ReadyLine;
  /** Everything the child has written to stdout so far. */
  readonly stdout: () => string;
  /** Everything the child has written to stderr so far. */
  readonly stderr: () => string;
}

export interface Exited {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ServeProcesses {
  /** Starts `serve` and resolves with its ready line once the first line arrives on stdout. */
  serve(...args: string[]): Promise<Served>;
  /** Runs `serve` to its end (for usage errors), killing it if it is still up after 15 s. */
  serveToExit(...args: string[]): Promise<Exited>;
  /** SIGKILLs every child still running. */
  stopAll(): Promise<void>;
}

export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

export async function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { code, signal };
}

/** Sends SIGTERM and waits for the exit and for the last of its output. */
export async function stopServed(served: Served): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const closed = served.child.exitCode === null && served.child.signalCode === null ? once(served.child, 'close') : Promise.resolve();
  served.child.kill('SIGTERM');
  const exit = await exitOf(served.child);
  await closed;
  return exit;
}

/** `nodeArgs` go to node before the script (e.g. a heap limit). */
export function createServeProcesses(command: readonly string[] = ['serve'], nodeArgs: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): ServeProcesses {
  const children: ChildProcess[] = [];

  const spawnServe = (args: readonly string[]): { child: ChildProcess; out: Output } => {
    const child = spawn(process.execPath, [...nodeArgs, 'bin/kmesim.js', ...command, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const out: Output = { stdout: '', stderr: '' };
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out.stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (out.stderr += chunk));
    return { child, out };
  };

  return {
    serve(...args) {
      const { child, out } = spawnServe(args);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line within ${READY_TIMEOUT_MS} ms; stderr: ${out.stderr}`)), READY_TIMEOUT_MS);
        const onData = (): void => {
          const newline = out.stdout.indexOf('\n');
          if (newline < 0) return;
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.off('exit', onExit);
          resolve({ child, ready: JSON.parse(out.stdout.slice(0, newline)) as ReadyLine, stdout: () => out.stdout, stderr: () => out.stderr });
        };
        const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
          clearTimeout(timer);
          reject(new Error(`serve exited (code ${code}, signal ${signal}) before its ready line; stderr: ${out.stderr}`));
        };
        child.stdout?.on('data', onData);
        child.once('exit', onExit);
      });
    },
    async serveToExit(...args) {
      const { child, out } = spawnServe(args);
      const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
      const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
      clearTimeout(timer);
      return { code, signal, stdout: out.stdout, stderr: out.stderr };
    },
    async stopAll() {
      await Promise.all(children.splice(0).map(killChild));
    },
  };
}

export interface Reply {
  readonly status: number;
  /** The parsed JSON body (the text itself when it is not JSON); null for an empty one. */
  readonly body: unknown;
}

/** A reply with its body as the bytes came, decoded as UTF-8. */
export interface RawReply extends Reply {
  readonly text: string;
}

export interface Key {
  readonly key_ID: string;
  readonly key: string;
}

export interface CallInit {
  readonly method?: string;
  /** The caller's SAE ID, sent in X-SAE-ID. */
  readonly sae?: string;
  readonly body?: unknown;
  /** A body sent byte for byte as application/json (malformed JSON); instead of body. */
  readonly raw?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export async function callRaw(url: string, init: CallInit = {}): Promise<RawReply> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.sae !== undefined) headers['X-SAE-ID'] = init.sae;
  const payload = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, { method: init.method ?? 'GET', headers, ...(payload === undefined ? {} : { body: payload }) });
  const text = await response.text();
  let body: unknown = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = text;
    }
  }
  return { status: response.status, body, text };
}

export async function call(url: string, init: CallInit = {}): Promise<Reply> {
  const { status, body } = await callRaw(url, init);
  return { status, body };
}

export function encKeys(kmeUrl: string, master: string, slave: string, request: Record<string, unknown> = {}): Promise<Reply> {
  return call(`${kmeUrl}/api/v1/keys/${slave}/enc_keys`, { method: 'POST', sae: master, body: request });
}

export function decKeys(kmeUrl: string, slave: string, master: string, keyIds: readonly string[]): Promise<Reply> {
  return call(`${kmeUrl}/api/v1/keys/${master}/dec_keys`, { method: 'POST', sae: slave, body: { key_IDs: keyIds.map((key_ID) => ({ key_ID })) } });
}

export function keysOf(reply: Reply): Key[] {
  if (reply.status !== 200) throw new Error(`expected 200 with keys, got ${reply.status} ${JSON.stringify(reply.body)}`);
  return (reply.body as { keys: Key[] }).keys;
}

export function messageOf(reply: Reply): string {
  return (reply.body as { message: string }).message;
}

/** The URL of a KME from the ready line, always reached through loopback. */
export function urlOf(ready: ReadyLine, kmeId: string): string {
  const kme = ready.kmes.find((k) => k.id === kmeId);
  if (kme === undefined) throw new Error(`no KME ${kmeId} in ${JSON.stringify(ready.kmes)}`);
  const url = new URL(kme.url);
  url.hostname = '127.0.0.1';
  return url.origin;
}
