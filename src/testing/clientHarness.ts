// A mock KME pair for property tests of a key consumer: started once, reset for each run of a property
// (fresh pools, the same seed), with the run's traffic recorded and its use of keys judged. `check()` turns
// what the client broke (U1…U7) and what the KMEs saw broken (I1…I16) into one error, with the requests that
// show each finding, so that fast-check reports it with its seed and path and shrinks it.
import { mockKmeOf, startMockServer, type MockKme } from '../http/startMockKme.js';
import type { ServerOptions } from '../http/startServer.js';
import type { Violation } from '../model/violation.js';
import { CLIENT_INVARIANTS, createClientLedger, type ClientFinding, type ClientLedger } from './clientLedger.js';
import { recordEtsiTraffic, type RecordedExchange } from './etsiRecorder.js';

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
  return {
    mock,
    async run(seed) {
      if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) throw new RangeError(`run: seed must be a non-negative integer, got ${String(seed)}`);
      server.reset(seed ?? server.seed);
      const recorder = recordEtsiTraffic();
      const ledger = createClientLedger();
      const judge = async (symptom?: unknown): Promise<void> => {
        const exchanges = recorder.exchanges();
        const findings = ledger.judge(exchanges, recorder.keyBytes);
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

function describe(findings: readonly ClientFinding[], violations: readonly Violation[], exchanges: readonly RecordedExchange[]): string {
  const bySeq = new Map(exchanges.map((exchange) => [exchange.seq, exchange]));
  const lines: string[] = [];
  for (const finding of findings) {
    lines.push(`${finding.invariant} ${CLIENT_INVARIANTS[finding.invariant]}: ${finding.message}`);
    for (const seq of finding.requests.slice(0, 8)) {
      const exchange = bySeq.get(seq);
      if (exchange !== undefined) lines.push(`  #${seq} ${exchange.caller ?? '-'} ${exchange.method} ${exchange.path}${exchange.body === null ? '' : ` ${exchange.body}`} → ${exchange.status}`);
    }
    if (finding.requests.length > 8) lines.push(`  … ${finding.requests.length - 8} more request(s)`);
  }
  for (const found of violations) lines.push(`${found.invariant} (KME): ${found.message}`);
  return lines.join('\n');
}
