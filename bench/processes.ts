/**
 * Child processes for the benchmarks: `kmesim serve` and the bare baselines, each started until it prints
 * its first line on stdout and stopped by its own pid. Any child still running when the bench exits is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ReadyInfo } from '../src/http/startServer.js';

export const ROOT = join(import.meta.dirname, '..');
export const KMESIM_BIN = join(ROOT, 'bin', 'kmesim.js');

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface StartedProcess {
  readonly child: ChildProcess;
  /** The first line the process printed on stdout. */
  readonly line: string;
  /** From spawn to that line, in ms. */
  readonly lineMs: number;
  stop(): Promise<void>;
}

export function startUntilLine(command: string, args: readonly string[], options: { readonly env?: NodeJS.ProcessEnv; readonly timeoutMs?: number } = {}): Promise<StartedProcess> {
  const started = performance.now();
  const child = spawn(command, args, { cwd: ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${command} ${args.join(' ')}: no line on stdout within ${options.timeoutMs ?? 30_000} ms (stderr: ${err.trim()})`));
    }, options.timeoutMs ?? 30_000);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      err = `${err}${chunk}`.slice(-4_000);
    });
    const onData = (chunk: string): void => {
      out += chunk;
      const end = out.indexOf('\n');
      if (end < 0) return;
      const lineMs = performance.now() - started;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve({ child, line: out.slice(0, end), lineMs, stop });
    };
    child.stdout?.setEncoding('utf8').on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before its first line: ${err.trim()}`));
    });
  });
}

export interface ServeProcess extends StartedProcess {
  readonly ready: ReadyInfo;
}

/** `node bin/kmesim.js serve --port 0 …`, up to its JSON ready line. */
export async function startServe(args: readonly string[], nodeArgs: readonly string[] = []): Promise<ServeProcess> {
  const started = await startUntilLine(process.execPath, [...nodeArgs, KMESIM_BIN, 'serve', '--port', '0', ...args]);
  return { ...started, ready: JSON.parse(started.line) as ReadyInfo };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The q-quantile (0..1) of the values, nearest rank. */
export function quantile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] as number;
}

export function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
