/**
 * The child process of the `memory` section (run with `node --expose-gc --import tsx`): builds one world with
 * the model's own code, measures RSS and heap with garbage collected before and after, prints one JSON line.
 *
 *   pooled N:        N keys stored in pools of the default capacity (1,000 keys each, so N / 1,000 SAEs)
 *   delivered N S:   N keys delivered by enc_keys and awaiting dec_keys (or as many as half of S seconds
 *                    allow), measured; then all of them retrieved by their slave with dec_keys (consumed), measured again
 */
import { executeCommand, type KmeCommand } from '../src/model/kmeCore.js';
import { resolveProfile } from '../src/model/profiles.js';
import { keyIdFor } from '../src/model/encKeys.js';
import { createWorld, linkIdOf, poolIdOf, type Pool, type World } from '../src/model/world.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('memoryProbe: run with node --expose-gc');

interface Usage {
  readonly rss: number;
  readonly heap: number;
}

function settle(): Usage {
  for (let i = 0; i < 4; i++) (gc as () => void)();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed };
}

function run(command: KmeCommand, world: World, nowMs: number): void {
  const outcome = executeCommand(world, command, nowMs);
  if (!outcome.result.ok) throw new Error(`memoryProbe: ${command.type} refused: ${outcome.result.error.kind}`);
}

const [mode = 'pooled', countText = '1000000', secondsText = '60'] = process.argv.slice(2);
const target = Number(countText);
const budgetMs = Number(secondsText) * 1_000;
const started = performance.now();

if (mode === 'pooled') {
  const profile = resolveProfile('strict');
  const before = settle();
  const world = createWorld({ seed: 'bench:memory', profile, kmeIds: ['KME_A'] });
  let keys = 0;
  for (let i = 0; keys < target; i++) {
    run({ type: 'sae.register', saeId: `SAE_${String(i).padStart(6, '0')}`, kmeId: 'KME_A' }, world, 0);
    keys += profile.poolCapacity;
  }
  const after = settle();
  report({ mode, keys, pools: world.pools.size, rssBytes: after.rss - before.rss, heapBytes: after.heap - before.heap });
} else if (mode === 'delivered') {
  // One pool big enough for every key, full from the start: only the deliveries add to the world.
  const profile = resolveProfile('strict', { poolCapacity: target + 1_000 });
  const world = createWorld({ seed: 'bench:memory', profile, kmeIds: ['KME_A'] });
  run({ type: 'sae.register', saeId: 'SAE_A1', kmeId: 'KME_A' }, world, 0);
  run({ type: 'sae.register', saeId: 'SAE_A2', kmeId: 'KME_A' }, world, 0);
  const before = settle();
  const perRequest = profile.maxKeysPerRequest;
  let keys = 0;
  let nowMs = 0;
  while (keys < target && performance.now() - started < budgetMs / 2) {
    const number = Math.min(perRequest, target - keys);
    nowMs += 1;
    const outcome = executeCommand(world, { type: 'keys.enc', kmeId: 'KME_A', callerSaeId: 'SAE_A1', slaveSaeId: 'SAE_A2', request: { number } }, nowMs);
    if (!outcome.result.ok || outcome.result.kind !== 'keys') throw new Error('memoryProbe: enc_keys refused');
    keys += number;
  }
  const reserved = settle();
  report({ mode: 'reserved', keys, pools: world.pools.size, rssBytes: reserved.rss - before.rss, heapBytes: reserved.heap - before.heap });
  // The slave asks for the keys by ID; the IDs derive from the pool's sequence numbers (1, 2, …), so no list is kept.
  const pool = world.pools.get(poolIdOf(linkIdOf('KME_A', 'KME_A'), 'SAE_A2')) as Pool;
  for (let i = 0; i < keys; i += perRequest) {
    nowMs += 1;
    const keyIds = Array.from({ length: Math.min(perRequest, keys - i) }, (_, j) => keyIdFor(world, pool, 1 + i + j));
    run({ type: 'keys.dec', kmeId: 'KME_A', callerSaeId: 'SAE_A2', masterSaeId: 'SAE_A1', keyIds }, world, nowMs);
  }
  if (world.reserved.size !== 0) throw new Error(`memoryProbe: ${world.reserved.size} keys were not consumed`);
  const delivered = settle();
  report({ mode, keys, pools: world.pools.size, rssBytes: delivered.rss - before.rss, heapBytes: delivered.heap - before.heap });
} else {
  throw new Error(`memoryProbe: unknown mode ${mode}`);
}

function report(figures: Record<string, number | string>): void {
  process.stdout.write(`${JSON.stringify({ ...figures, seconds: (performance.now() - started) / 1_000 })}\n`);
}
