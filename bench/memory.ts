/**
 * `memory`: what a key costs in memory, each figure from a fresh child process (bench/memoryProbe.ts) with
 * garbage collected before and after. Pools are sequence-number ranges (docs/decisions/0001), so a stored
 * key costs next to nothing; a key delivered by enc_keys has a record until its slave retrieves it, and a
 * retrieved key stays in the expiry queue until its TTL would have passed.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchFigures, BenchSection } from './main.js';
import { ROOT, round } from './processes.js';

const run = promisify(execFile);

const KEYS = 1_000_000;
const SECONDS = 60;

interface Probe {
  readonly mode: string;
  readonly keys: number;
  readonly pools: number;
  readonly rssBytes: number;
  readonly heapBytes: number;
  readonly seconds: number;
}

async function probe(mode: 'pooled' | 'delivered'): Promise<Probe[]> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench', 'memoryProbe.ts'), mode, String(KEYS), String(SECONDS)], {
    cwd: ROOT,
    timeout: (SECONDS + 60) * 1_000,
    maxBuffer: 1 << 20,
  });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Probe);
}

const perKey = (probe: Probe, bytes: number): number => round(bytes / probe.keys);

export const memorySection: BenchSection = {
  name: 'memory',
  async run(): Promise<BenchFigures> {
    const [pooled] = (await probe('pooled')) as [Probe];
    const [reserved, delivered] = (await probe('delivered')) as [Probe, Probe];
    return {
      bytesPerKey: perKey(pooled, pooled.rssBytes),
      heapBytesPerKey: perKey(pooled, pooled.heapBytes),
      pooledKeys: pooled.keys,
      pools: pooled.pools,
      bytesPerReservedKey: perKey(reserved, reserved.rssBytes),
      heapBytesPerReservedKey: perKey(reserved, reserved.heapBytes),
      reservedKeys: reserved.keys,
      bytesPerDeliveredKey: perKey(delivered, delivered.rssBytes),
      heapBytesPerDeliveredKey: perKey(delivered, delivered.heapBytes),
      deliveredKeys: delivered.keys,
    };
  },
};
