// API fuzzing of the mock KME (issue 7): fast-check generates valid traffic mixed with hostile requests
// (malformed JSON, wrong types and values, unicode and encoded SAE IDs, path tricks, oversize bodies,
// thousands of key IDs, wrong methods and content types, missing and forged identity, admin paths behind
// ETSI prefixes) and sends them over real HTTP to startServer on 127.0.0.1 port 0: two KMEs, header
// identity, manual clock, once with the strict profile and once with the per-user-pool profile. Every
// answer must be JSON, never a 5xx, and a status the request may get; every refusal and every read must
// leave the world exactly as it was; the live invariants must hold at the end of every run. The seed is
// fixed (KMESIM_FUZZ_SEED overrides it), so a failure shrinks and replays.
import { afterAll, expect, it } from 'vitest';
import { startServer } from '../../src/http/startServer.js';
import { recordReliability, type ReliabilityRow } from './record.js';
import { reliabilityScale } from './scale.js';
import { fuzzServer, type FuzzTally } from './fuzz/runFuzz.js';

const scale = reliabilityScale();
const SEED = Number(process.env['KMESIM_FUZZ_SEED'] ?? 20_250_707);
const PROFILES = ['strict', 'per-user-pool'] as const;
const PER_PROFILE = Math.ceil(scale.fuzzRequests / PROFILES.length);

interface ProfileResult {
  readonly profile: string;
  readonly tally: FuzzTally;
  readonly seconds: number;
}

const results: ProfileResult[] = [];

const FAMILIES: ReadonlyArray<{ readonly prefix: string; readonly tried: string }> = [
  { prefix: 'valid.', tried: 'valid traffic: status, enc_keys (POST, GET), dec_keys (POST, GET) by the named slave with issued IDs, clock advances, link faults, reads' },
  { prefix: 'enc_keys body', tried: 'enc_keys bodies: number and size as strings, fractions, negatives, exponents, huge and unsafe integers; additional_slave_SAE_IDs; extensions; prototype keys' },
  { prefix: 'dec_keys body', tried: 'dec_keys bodies: wrong types, empty lists, duplicated, unknown, upper-cased and padded key IDs, extension members' },
  { prefix: 'malformed JSON', tried: 'malformed JSON on every body route (ETSI, per-user-pool, admin)' },
  { prefix: 'query', tried: 'query strings on GET status, enc_keys and dec_keys: repeats, unknown names, encodings, non-integers' },
  { prefix: 'SAE ID', tried: 'SAE IDs in the path: unicode, percent-encoded, undecodable, dot segments, raw high bytes, 200 B to 60 KB long' },
  { prefix: 'path', tried: 'path tricks: .., %2e%2e, double and trailing slashes, encoded slashes and letters, case, fragment, absolute form, backslashes' },
  { prefix: 'admin via ETSI prefix', tried: 'admin routes (reset, clock, faults, state, invariants) through /api/v1 prefixes, dot segments and encoded slashes' },
  { prefix: 'admin body', tried: 'admin bodies of the wrong shape (clock advance, reset, faults)' },
  { prefix: 'oversize body', tried: 'bodies of 256 KiB + 1 B to 1.2 MB, with Content-Length and chunked' },
  { prefix: 'thousands of key IDs', tried: '1,000 to 5,000 key IDs per dec_keys: unknown, duplicated, issued plus unknown, malformed, asked by a non-slave' },
  { prefix: 'method', tried: 'HEAD, PUT, DELETE, OPTIONS, PATCH, TRACE, PROPFIND (and GET, POST) on ETSI, per-user-pool and admin routes' },
  { prefix: 'content type', tried: 'content types (none, text/plain, form, multipart, charsets, vendor and near-JSON types) and content encodings' },
  { prefix: 'identity', tried: 'identity headers missing, empty, unknown, forged, repeated, padded, case-changed, misnamed, with latin1 bytes' },
  { prefix: 'protocol', tried: "requests Node's parser refuses: unknown method, unknown Expect, Content-Length with chunked, 20 KB header or path, raw high bytes" },
  { prefix: 'pool.', tried: 'per-user-pool routes: register (fresh, reserved, taken, unicode and look-alike names; bad fields), refill, delete, km/sync by self, other and unknown SAEs' },
];

function histogram(statuses: ReadonlyMap<number, number>): string {
  return [...statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status}×${n}`)
    .join(' ');
}

function familyOf(label: string): string {
  return FAMILIES.find((family) => label.startsWith(family.prefix))?.prefix ?? 'other';
}

function rowsOf(done: readonly ProfileResult[]): ReliabilityRow[] {
  const rows: ReliabilityRow[] = done.map(({ profile, tally, seconds }) => ({
    area: 'fuzz',
    tried: `${profile} profile, 2 KMEs, header identity, manual clock: fuzzed HTTP requests in ${tally.runs} runs (seed ${SEED})`,
    count: tally.requests,
    result:
      `no 5xx, every body JSON, every status as expected; world unchanged after all ${tally.refusalsChecked} refusals and ${tally.readsChecked} reads; ` +
      `live invariants hold after every run; ${seconds.toFixed(1)} s; ${histogram(tally.statuses)}`,
  }));
  for (const family of FAMILIES) {
    const statuses = new Map<number, number>();
    for (const { tally } of done) {
      for (const [label, row] of tally.labels) {
        if (familyOf(label) !== family.prefix) continue;
        for (const [status, n] of row) statuses.set(status, (statuses.get(status) ?? 0) + n);
      }
    }
    const total = [...statuses.values()].reduce((sum, n) => sum + n, 0);
    if (total > 0) rows.push({ area: 'fuzz', tried: family.tried, count: total, result: `as expected: ${histogram(statuses)}` });
  }
  return rows;
}

afterAll(() => {
  if (results.length === PROFILES.length) recordReliability('fuzz', rowsOf(results));
});

for (const profileName of PROFILES) {
  it(`answers ${PER_PROFILE} fuzzed requests to two ${profileName} KMEs with JSON, no 5xx, no change on refusal and sound invariants`, { timeout: scale.name === 'full' ? 900_000 : 180_000 }, async () => {
    const server = await startServer({ kmes: 2, port: 0, seed: 7, clock: 'manual', auth: 'header', profile: profileName });
    try {
      const started = performance.now();
      const tally = await fuzzServer({ server, profile: server.host.world.config.profile, requests: PER_PROFILE, seed: SEED }).catch((error: unknown) => {
        throw new Error(`fuzzing the ${profileName} profile failed (replay: KMESIM_FUZZ_SEED=${SEED})\n${(error as Error).message}`);
      });
      const seconds = (performance.now() - started) / 1_000;
      expect(tally.requests).toBe(PER_PROFILE);
      // The fuzzing reached what it is meant to: keys delivered and retrieved, a pool exhausted, and each kind of refusal.
      const statusesOf = (label: string): ReadonlyMap<number, number> => tally.labels.get(label) ?? new Map();
      expect(statusesOf('valid.dec_keys POST').get(200) ?? 0).toBeGreaterThan(0);
      expect(statusesOf('valid.enc_keys POST').get(503) ?? 0).toBeGreaterThan(0);
      for (const status of [200, 400, 401, 404, 405, 413, 415]) expect(tally.statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
      if (profileName === 'per-user-pool') expect(statusesOf('pool.register').get(200) ?? 0).toBeGreaterThan(0);
      results.push({ profile: profileName, tally, seconds });
      console.log(`fuzz ${profileName}: ${tally.requests} requests, ${tally.runs} runs, ${seconds.toFixed(1)} s; ${histogram(tally.statuses)}`);
    } finally {
      await server.close();
    }
  });
}
