// A mock KME pair for property tests of a key consumer: started once, reset for each run of a property
// (fresh pools, the same seed), with the run's traffic recorded and its use of keys judged. `check()` turns
// what the client broke (U1…U7) and what the KMEs saw broken (I1…I16) into one error, with the requests that
// show each finding, so that fast-check reports it with its seed and path and shrinks it.
import { mockKmeOf, startMockServer, type MockKme } from '../http/startMockKme.js';
import type { ServerOptions } from '../http/startServer.js';
import { errorAnswer, transportAnswer } from '../http/errorTable.js';
import { kmeError } from '../model/kmeError.js';
import type { Profile } from '../model/profiles.js';
import type { Violation } from '../model/violation.js';
import { CLIENT_INVARIANTS, createClientLedger, type ClientFinding, type ClientLedger } from './clientLedger.js';
import { recordEtsiTraffic, transcriber, type RecordedExchange } from './etsiRecorder.js';

export type ClientHarnessOptions = Pick<ServerOptions, 'kmes' | 'seed' | 'profile' | 'poolCapacity' | 'keySizeBits' | 'maxKeysPerRequest' | 'retry' | 'retryGraceMs' | 'saes' | 'kmeIds'>;

export interface ClientRun {
  /** Hand this to the client: it records every request. */
  readonly fetch: typeof fetch;
  /** The client's sealing and opening code reports the keys it used here. */
  readonly ledger: ClientLedger;
  readonly kmes: MockKme['kmes'];
  readonly saes: MockKme['saes'];
  /** The mock's admin client: its clock and faults, inside a property. */
  readonly mock: MockKme;
  /** How long a delivered key lives on the mock before it expires. */
  readonly keyTtlMs: number;
  /**
   * Whether the KMEs refused this exchange for a reason that is not the client's, as this mock's profile
   * answers it: no answer at all, a 503, a pool short of keys (400 under next-door), an injected failure of
   * any status, or, when `keysMayHaveExpired`, keys not found (404 under lenient). A refusal of a
   * malformed, misaddressed or made-up request is none of these.
   */
  refusedNotForTheClient(exchange: RecordedExchange, keysMayHaveExpired?: boolean): boolean;
  /** The traffic so far. */
  exchanges(): readonly RecordedExchange[];
  /** Throws a ClientKeyError naming every rule the client or the KMEs broke in this run. */
  check(): Promise<void>;
  /**
   * Runs a property's body, then judges the run even when the body threw: a client that broke a rule is
   * reported by the rule (a reused key, say), not by the symptom it caused (a refused dec_keys, a wrong
   * plaintext). When nothing was broken, the body's own error, if any, is thrown as it was.
   */
  judged<T>(body: () => Promise<T>): Promise<T>;
}

export interface ClientHarness {
  /** The mock's admin client, for faults and the clock inside a property. */
  readonly mock: MockKme;
  /**
   * A fresh world for the next run of a property: full pools, no traffic, its own recorder and ledger. At
   * the harness's seed unless one is given (the same seed gives the same key IDs and bytes every run; pass
   * one from fast-check, `fc.integer({ min: 0 })`, to vary them with the run).
   */
  run(seed?: number): Promise<ClientRun>;
  close(): Promise<void>;
}

/** What a run broke: the client's findings and the KMEs' violations, each with the requests that show it. */
export class ClientKeyError extends Error {
  constructor(
    readonly findings: readonly ClientFinding[],
    readonly violations: readonly Violation[],
    exchanges: readonly RecordedExchange[],
    /** What the property's body threw, when it did: the symptom of what the findings name. */
    readonly symptom?: unknown,
  ) {
    super(describe(findings, violations, exchanges) + (symptom === undefined ? '' : `\n(the run itself failed with: ${symptom instanceof Error ? symptom.message : String(symptom)})`));
    this.name = 'ClientKeyError';
  }
}

export async function startClientHarness(options: ClientHarnessOptions = {}): Promise<ClientHarness> {
  const server = await startMockServer({ kmes: 2, seed: 1, clock: 'manual', ...options });
  const mock = mockKmeOf(server);
  // The KMEs' verdict, read in process: what GET {admin}/invariants answers, without a request per run.
  const kmeViolations = (): Violation[] => {
    server.host.tick();
    const { live, audit } = server.host.violations();
    return [...live, ...audit];
  };
  const refusedNotForTheClient = refusalsOf(server.host.world.config.profile);
  return {
    mock,
    async run(seed) {
      if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) throw new RangeError(`run: seed must be a non-negative integer, got ${String(seed)}`);
      server.reset(seed ?? server.seed);
      const recorder = recordEtsiTraffic();
      const ledger = createClientLedger();
      const judge = async (symptom?: unknown): Promise<void> => {
        const exchanges = recorder.exchanges();
        // A body that threw stopped the run early: what became of every key by its end is not asked then.
        const findings = ledger.judge(exchanges, recorder.keyBytes, { finished: symptom === undefined });
        const violations = kmeViolations();
        if (findings.length > 0 || violations.length > 0) throw new ClientKeyError(findings, violations, exchanges, symptom);
      };
      return {
        fetch: recorder.fetch,
        ledger,
        kmes: mock.kmes,
        saes: mock.saes,
        mock,
        keyTtlMs: server.host.world.config.profile.keyTtlMs,
        refusedNotForTheClient,
        exchanges: () => recorder.exchanges(),
        check: () => judge(),
        async judged(body) {
          let result;
          try {
            result = await body();
          } catch (error) {
            await judge(error);
            throw error;
          }
          await judge();
          return result;
        },
      };
    },
    close: () => server.close(),
  };
}

/** The refusals a profile gives for reasons that are not the client's (see ClientRun.refusedNotForTheClient). */
function refusalsOf(profile: Profile): ClientRun['refusedNotForTheClient'] {
  const answer = (kind: 'insufficientKeys' | 'keysNotFound'): { status: number; message: string } => {
    const { status, body } = errorAnswer(kmeError(kind), profile);
    return { status, message: body.message };
  };
  const shortage = answer('insufficientKeys');
  const gone = answer('keysNotFound');
  const injected = new Set([transportAnswer({ kind: 'injectedFailure', status: 503 }).body.message, transportAnswer({ kind: 'injectedFailure', status: 500 }).body.message]);
  const is = (exchange: RecordedExchange, refusal: { status: number; message: string }): boolean => exchange.status === refusal.status && exchange.message === refusal.message;
  return (exchange, keysMayHaveExpired = false) =>
    exchange.route !== null &&
    (exchange.status === 0 ||
      exchange.status === 503 ||
      (exchange.message !== null && injected.has(exchange.message)) ||
      (exchange.route === 'enc_keys' && is(exchange, shortage)) ||
      (keysMayHaveExpired && exchange.route === 'dec_keys' && is(exchange, gone)));
}

function describe(findings: readonly ClientFinding[], violations: readonly Violation[], exchanges: readonly RecordedExchange[]): string {
  const transcript = transcriber(exchanges);
  const lines: string[] = [];
  for (const finding of findings) {
    lines.push(`${finding.invariant} ${CLIENT_INVARIANTS[finding.invariant]}: ${finding.message}`);
    for (const line of transcript(finding.requests.slice(0, 8))) lines.push(`  ${line}`);
    if (finding.requests.length > 8) lines.push(`  … ${finding.requests.length - 8} more request(s)`);
  }
  for (const found of violations) lines.push(`${found.invariant} (KME): ${found.message}`);
  return lines.join('\n');
}
