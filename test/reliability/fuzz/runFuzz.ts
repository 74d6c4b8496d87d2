// Drives one server with fast-check: each run resets the world over the admin API, sends its steps one
// at a time over real HTTP, and judges every answer (oracle 1), the world's state around every refusal
// and read (oracle 2: no change at all), and the live invariants when the run ends (oracle 3). Sequential
// on purpose: the state taken just before a request is exactly the state the request met.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { KmeHost } from '../../../src/http/kmeHost.js';
import type { RunningServer } from '../../../src/http/startServer.js';
import type { Profile } from '../../../src/model/profiles.js';
import { describeWorldState } from '../../../src/model/worldDigest.js';
import { createLedger } from './fuzzLedger.js';
import { stepArbitrary, type Step } from './fuzzSteps.js';
import { judgeReply } from './judgeReply.js';
import { jsonHeaders, utf8, type Plan, type PlanContext } from './planCommon.js';
import { planStep } from './planStep.js';
import { createRawClient, type RawClient, type RawReply } from './sendRaw.js';

export interface FuzzTally {
  requests: number;
  runs: number;
  /** Refused requests whose state was compared before and after. */
  refusalsChecked: number;
  /** Successful reads whose state was compared before and after. */
  readsChecked: number;
  readonly statuses: Map<number, number>;
  readonly labels: Map<string, Map<number, number>>;
}

export interface FuzzOptions {
  readonly server: RunningServer;
  readonly profile: Profile;
  readonly requests: number;
  readonly seed: number;
  /** Longest run (steps between two resets of the world). */
  readonly maxRunLength?: number;
  /** How long a failure may be shrunk before the smallest one found is reported. */
  readonly shrinkMs?: number;
  /** Do not report the first failure on stderr before shrinking (for failures that are expected). */
  readonly quiet?: boolean;
}

export function createTally(): FuzzTally {
  return { requests: 0, runs: 0, refusalsChecked: 0, readsChecked: 0, statuses: new Map(), labels: new Map() };
}

/** Everything a request could change: the whole world, the host's clock and its fault switches. */
function stateOf(host: KmeHost): string {
  const { failNext, latencyMs, downUntil } = host.faults;
  return `${describeWorldState(host.world)}\n${JSON.stringify({ clockMs: host.clock.now(), failNext, latencyMs, downUntil: [...downUntil] })}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

const SYNC_FIELDS = new Set(['state', 'syncReason', 'syncAttempt', 'syncKeyCount', 'retryAtMs', 'failedAttempts']);

/** The state text without what a demand sync may change: pools' states and sync fields, and coverage. */
function withoutSync(state: string): string {
  const [world = '', transport = ''] = state.split('\n');
  const parsed = JSON.parse(world) as { pools: Array<Record<string, unknown>>; coverage?: unknown };
  parsed.pools = parsed.pools.map((pool) => Object.fromEntries(Object.entries(pool).filter(([name]) => !SYNC_FIELDS.has(name))));
  delete parsed.coverage;
  return `${JSON.stringify(parsed)}\n${transport}`;
}

function firstDifference(before: string, after: string): string {
  let at = 0;
  while (at < before.length && before[at] === after[at]) at++;
  const from = Math.max(0, at - 160);
  return `state ${sha256(before)} became ${sha256(after)}; first difference at ${at}:\n  before …${before.slice(from, at + 160)}…\n  after  …${after.slice(from, at + 160)}…`;
}

function describeRequest(plan: Plan): string {
  const { request } = plan;
  if (request.wire !== undefined) return `raw bytes ${JSON.stringify(request.wire.toString('latin1').slice(0, 300))}`;
  const body = request.body === undefined ? '' : ` body(${request.body.length} B${request.chunked === true ? ', chunked' : ''}) ${JSON.stringify(request.body.toString('utf8').slice(0, 300))}`;
  return `${request.method} ${JSON.stringify(request.path.slice(0, 300))} to KME #${request.kme} headers ${JSON.stringify(request.headers).slice(0, 300)}${body}`;
}

function fail(index: number, step: Step, plan: Plan, reply: RawReply | null, problem: string): Error {
  const answer = reply === null ? '' : `\n  answer: ${reply.status} ${JSON.stringify(reply.headers['content-type'])} ${JSON.stringify(reply.body.toString('utf8').slice(0, 400))}`;
  return new Error(`step ${index} (${plan.label}): ${problem}\n  step: ${JSON.stringify(step).slice(0, 400)}\n  request: ${describeRequest(plan)}${answer}`);
}

function count(tally: FuzzTally, label: string, status: number): void {
  tally.requests += 1;
  tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
  const row = tally.labels.get(label) ?? new Map<number, number>();
  row.set(status, (row.get(status) ?? 0) + 1);
  tally.labels.set(label, row);
}

async function runSteps(options: FuzzOptions, client: RawClient, steps: readonly Step[], worldSeed: number, tally: FuzzTally | null): Promise<void> {
  const { server, profile } = options;
  const { host } = server;
  const reset = await client.send({ kme: 0, method: 'POST', path: '/_kmesim/reset', headers: jsonHeaders(null), body: utf8(JSON.stringify({ seed: worldSeed })) });
  if (reset.status !== 200) throw new Error(`reset answered ${reset.status}`);
  const kmeIds = server.kmes.map((kme) => kme.id);
  const ledger = createLedger(kmeIds, server.saes);
  const first = (kmeId: string | undefined): string => server.saes.find((sae) => sae.kme === kmeId)?.id ?? '';
  const ctx: PlanContext = { profile, ledger, hot: { master: first(kmeIds[0]), slave: first(kmeIds[1] ?? kmeIds[0]) } };
  let before: string | null = null;
  for (const [index, step] of steps.entries()) {
    const plan = planStep(ctx, step);
    const guarded = plan.readOnly === true || plan.expect.some((status) => status < 200 || status >= 300);
    if (guarded && before === null) before = stateOf(host);
    const reply = await client.send(plan.request).catch((error: unknown) => {
      throw fail(index, step, plan, null, `request failed: ${(error as Error).message}`);
    });
    const problem = judgeReply(plan, reply);
    if (problem !== null) throw fail(index, step, plan, reply, problem);
    const refused = reply.status < 200 || reply.status >= 300;
    if (refused || plan.readOnly === true) {
      const after = stateOf(host);
      if (before === null) throw fail(index, step, plan, reply, 'no state was taken before a request that could be refused');
      // A refusal for want of keys is demand: the pool may start a sync (its state and sync fields move, and
      // the machine coverage with them); every count, reservation and consumption stays as it was (I7).
      const demand = reply.status === 503 && /not enough keys|remote key manager unavailable/.test(reply.body.toString('utf8'));
      const [was, is] = demand ? [withoutSync(before), withoutSync(after)] : [before, after];
      if (is !== was) throw fail(index, step, plan, reply, `${refused ? 'a refused request' : 'a read'} changed the world: ${firstDifference(was, is)}`);
      if (tally !== null) tally[refused ? 'refusalsChecked' : 'readsChecked'] += 1;
      // The next refusal is judged against the world this one left (a demand sync may have started).
      before = after;
    } else {
      before = null;
    }
    if (tally !== null) count(tally, plan.label, reply.status);
  }
  const verdict = await client.send({ kme: 0, method: 'GET', path: '/_kmesim/invariants', headers: {} });
  const body = JSON.parse(verdict.body.toString('utf8')) as { holds?: boolean; violations?: unknown[] };
  const { live, audit } = host.violations();
  if (verdict.status !== 200 || body.holds !== true || live.length + audit.length > 0) {
    throw new Error(`invariants broken after ${steps.length} steps: ${JSON.stringify(body.violations ?? []).slice(0, 1_500)}`);
  }
  if (tally !== null) tally.runs += 1;
}

/**
 * Sends `options.requests` fuzzed requests in runs of at most `maxRunLength`. A failing run is shrunk by
 * fast-check and reported with its seed; the same seed replays the same runs against a fresh server.
 */
export async function fuzzServer(options: FuzzOptions): Promise<FuzzTally> {
  const tally = createTally();
  const client = createRawClient(options.server.kmes.map((kme) => kme.url));
  const maxLength = options.maxRunLength ?? 300;
  let sent = 0;
  let failed = false;
  let shrinkUntil = Infinity;
  // Runs average well over 40 steps; spare runs once the budget is spent are generated and skipped.
  const numRuns = Math.ceil(options.requests / 40) + 20;
  const arbitrary = fc.tuple(fc.array(stepArbitrary({ poolRoutes: options.profile.poolRoutes }), { minLength: 1, maxLength, size: 'max' }), fc.nat({ max: 2 ** 31 - 1 }));
  try {
    await fc.assert(
      fc.asyncProperty(arbitrary, async ([steps, worldSeed]) => {
        if (!failed && sent >= options.requests) return;
        // Shrinking is time-boxed: past the deadline every candidate passes, so the smallest failure so far is reported.
        if (failed && performance.now() > shrinkUntil) return;
        const slice = failed ? steps : steps.slice(0, options.requests - sent);
        try {
          await runSteps(options, client, slice, worldSeed, failed ? null : tally);
        } catch (error) {
          // Shrinking replays runs and can take a while: say what failed first, right away.
          if (!failed) {
            if (options.quiet !== true) process.stderr.write(`fuzz: first failure, before shrinking: ${(error as Error).message}\n`);
            shrinkUntil = performance.now() + (options.shrinkMs ?? 60_000);
          }
          failed = true;
          throw error;
        }
        sent += slice.length;
      }),
      { seed: options.seed, numRuns, includeErrorInReport: true },
    );
  } finally {
    client.close();
  }
  if (sent < options.requests) throw new Error(`only ${sent} of ${options.requests} requests were generated in ${numRuns} runs`);
  return tally;
}
