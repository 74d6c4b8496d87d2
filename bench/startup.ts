/**
 * `startup`: from spawning `kmesim serve --port 0` to its JSON ready line on stdout, median of several runs,
 * next to a bare `node -e` that prints one line (what any Node program costs to start on this machine).
 */
import type { BenchFigures, BenchSection } from './main.js';
import { median, round, startServe, startUntilLine } from './processes.js';

const RUNS = 7;

async function serveReadyMs(): Promise<number> {
  const serve = await startServe([]);
  await serve.stop();
  return serve.lineMs;
}

async function bareNodeMs(): Promise<number> {
  const bare = await startUntilLine(process.execPath, ['-e', "process.stdout.write('ready\\n')"]);
  await bare.stop();
  return bare.lineMs;
}

export const startupSection: BenchSection = {
  name: 'startup',
  async run(): Promise<BenchFigures> {
    // One of each first, unmeasured: the file cache is warm for every measured run alike.
    await serveReadyMs();
    await bareNodeMs();
    const ready: number[] = [];
    const bare: number[] = [];
    // Interleaved, so a burst of load on the machine hits both alike.
    for (let i = 0; i < RUNS; i++) {
      ready.push(await serveReadyMs());
      bare.push(await bareNodeMs());
    }
    const readyMs = median(ready);
    const bareMs = median(bare);
    return { readyMs: round(readyMs, 1), bareNodeMs: round(bareMs, 1), ratioToBareNode: round(readyMs / bareMs, 2), runs: RUNS };
  },
};
