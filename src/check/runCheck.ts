// A whole check of one target: reachability, phase 1 (conformance and probes), phases 2 and 3 (seeded
// workloads judged by the invariants, every distinct defect shrunk), then for each violation group a
// transcript shrunk over its whole history and replayed to measure how often it reproduces. The budget is
// a hard bound on all of it: a quarter (at most 15 s) is kept back for the transcripts and replays.
import { INVARIANT_NAMES } from '../model/violation.js';
import type { CheckReport, CheckViolation, ConformanceResult } from './checkReport.js';
import { BudgetExhausted, createCheckContext } from './checkContext.js';
import { createCheckSession, detectedAtMs, type CheckSession, type SessionViolation, type TranscriptEntry } from './checkSession.js';
import { runConformancePhase, runDrainItems } from './conformancePhase.js';
import { closeAgents } from './etsiClient.js';
import type { FingerprintFile, FingerprintKey } from './fingerprints.js';
import { runPropertyPhase } from './propertyPhase.js';
import { renderTranscript, toTranscriptLine } from './renderCurl.js';
import { groupsShown, reproduces, shrinkTranscript } from './replay.js';
import type { Target } from './targetSchema.js';
import { causalHistory } from './transcriptHistory.js';
import { groupOf, severityOf, targetNames } from './violationGroups.js';

export interface CheckOptions {
  readonly file: string;
  readonly seed: number;
  readonly runs: number;
  readonly budgetMs: number;
  /** The widest concurrent burst of requests. */
  readonly concurrency?: number;
  /** Allow items that drain pools or change the target's state. Always on for a target with a kmesim admin API. */
  readonly destructive?: boolean;
  /** How many times each shrunk transcript is replayed to measure its reproduction rate (0: never). */
  readonly replays?: number;
  /** The secret of the keyed hashes that stand for key material and IDs; a random one when not kept. */
  readonly fingerprintKey?: FingerprintKey;
  /** An earlier check's fingerprints of the same target: keys seen there and again now are I1 violations. */
  readonly compare?: (FingerprintFile & { readonly path: string }) | null;
}

export interface CheckResult {
  readonly report: CheckReport;
  readonly fingerprints: FingerprintFile;
}

export class TargetUnreachableError extends Error {}

const NOTE = 'Same seed, same requests: the workloads and their order come from the seed alone. A live target answers as it will (its keys, refills and races differ from run to run), so a replayed transcript may not show the violation every time; the reproduction rate says how often it did.';

/** The groups of a lost key: a key its slave had to get and did not (I2), or lost by a refusal (I7). */
const LOSS = /^I(2|7) /;

/** Transcripts longer than this are cut to their last entries before shrinking. */
const HISTORY_MAX = 30;
/** The budget kept back for shrinking transcripts and replays: a quarter, at most this. */
const RESERVE_MAX_MS = 15_000;
/** And for the drain, last of all: a tenth, at most this. */
const DRAIN_RESERVE_MAX_MS = 5_000;

/** Items that take keys or change state run with --destructive, or against kmesim (its admin API can reset it). */
function destructiveOf(target: Target, options: CheckOptions): boolean {
  return options.destructive === true || target.admin !== undefined;
}

interface Candidate {
  readonly group: string;
  readonly phase: CheckViolation['phase'];
  readonly violation: SessionViolation;
  readonly session: CheckSession;
  readonly history: readonly TranscriptEntry[];
}

/** Status promised keys that enc_keys then would not deliver: the reported count is not the true one (I8). */
function countViolations(conformance: readonly ConformanceResult[]): CheckViolation[] {
  return conformance
    .filter((result) => result.item === 'C14' && result.verdict === 'fail')
    .map((result) => ({
      invariant: 'I8' as const,
      name: INVARIANT_NAMES.I8,
      group: 'I8 stored_key_count is not what enc_keys can deliver',
      severity: severityOf('I8'),
      message: `stored_key_count is not what enc_keys can deliver: ${result.detail}`,
      evidence: { checklist: 'C14' },
      occurrences: 1,
      phase: 'conformance' as const,
      transcript: result.transcript.slice(-12),
      reproduced: null,
    }));
}

export async function runCheck(target: Target, options: CheckOptions): Promise<CheckResult> {
  const started = performance.now();
  const drainReserve = destructiveOf(target, options) ? Math.min(DRAIN_RESERVE_MAX_MS, Math.floor(options.budgetMs / 10)) : 0;
  const reserve = Math.min(RESERVE_MAX_MS, Math.floor(options.budgetMs / 4)) + drainReserve;
  const context = createCheckContext({ budgetMs: options.budgetMs - reserve, ...(options.fingerprintKey === undefined ? {} : { secret: options.fingerprintKey.secret }), previous: options.compare ?? null });
  const names = targetNames(target);
  const destructive = destructiveOf(target, options);
  try {
    const probe = createCheckSession(target, context);
    const [first, second] = target.saes;
    const reachable = await Promise.all(target.kmes.map((kme) => probe.send({ kmeUrl: kme.url, sae: target.saes.find((sae) => sae.kme === kme.id) ?? (first ?? null), method: 'GET', path: `/api/v1/keys/${encodeURIComponent(second?.id ?? 'x')}/status` })));
    // Unreachable means nothing listens; a KME that accepts and never answers is a finding in the report.
    const dead = reachable.filter((entry) => entry.response.failure === 'connection');
    if (dead.length === reachable.length) {
      throw new TargetUnreachableError(`no KME of the target answered: ${dead.map((entry) => `${entry.request.kmeUrl} (${entry.response.failureDetail ?? entry.response.failure})`).join(', ')}`);
    }

    const conformanceSession = createCheckSession(target, context);
    const conformance: { results: ConformanceResult[]; skipped: CheckReport['skipped']; interrupted: boolean } = await runConformancePhase(conformanceSession, { destructive });
    const early = new Map<string, Candidate>();
    const occurrences = new Map<string, number>();
    for (const found of conformanceSession.violations) {
      const group = groupOf(found, names);
      occurrences.set(group, (occurrences.get(group) ?? 0) + 1);
      if (!early.has(group)) early.set(group, { group, phase: 'conformance', violation: found, session: conformanceSession, history: causalHistory(conformanceSession, found) });
    }
    const properties = await runPropertyPhase(target, context, {
      seed: options.seed,
      runs: options.runs,
      known: new Set(early.keys()),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    });
    for (const [group, count] of properties.occurrences) occurrences.set(group, (occurrences.get(group) ?? 0) + count);
    const candidates: Candidate[] = [
      ...early.values(),
      ...properties.examples.map((example) => ({
        group: example.group,
        phase: 'properties' as const,
        violation: example.violation,
        session: example.session,
        history: example.session.transcript.filter((entry) => entry.id <= Math.max(...example.violation.entries)),
      })),
    ];

    // Transcripts: each violation's history shrunk by replay to the requests it needs, then replayed.
    const later = context.withDeadline(started + options.budgetMs - drainReserve);
    const replays = options.replays ?? 5;
    const violations: CheckViolation[] = [];
    for (const candidate of candidates) {
      const { violation: found } = candidate;
      let { group } = candidate;
      let history = candidate.history.slice(-HISTORY_MAX);
      let reproduced: CheckViolation['reproduced'] = null;
      if (found.replayable === true) {
        try {
          // A lost key is shrunk as a loss of any kind (I2, I7), so that what the loss does not need goes,
          // a refused request or a restart included; its group is then what the shortest history shows.
          const family = LOSS.test(group) ? (other: string) => LOSS.test(other) : group;
          history = await shrinkTranscript(target, later, history, family, names);
          if (typeof family !== 'string') {
            const shown = await groupsShown(target, later, history, names);
            group = shown.includes(group) ? group : (shown.find((other) => LOSS.test(other)) ?? group);
          }
          if (replays > 0) {
            let hits = 0;
            for (let i = 0; i < replays; i++) if (await reproduces(target, later, history, group, names)) hits += 1;
            reproduced = { tries: replays, reproduced: hits };
          }
        } catch (error) {
          // Out of time: the transcript as shrunk so far, not replayed.
          if (!(error instanceof BudgetExhausted)) throw error;
        }
      }
      // The same group reached from several examples is one defect: keep the first, count them all.
      const same = violations.find((other) => other.group === group);
      if (same !== undefined) {
        violations[violations.indexOf(same)] = { ...same, occurrences: same.occurrences + (occurrences.get(candidate.group) ?? 1) };
        continue;
      }
      const regrouped = group !== candidate.group;
      violations.push({
        invariant: found.invariant,
        name: INVARIANT_NAMES[found.invariant],
        group,
        severity: severityOf(found.invariant),
        message: regrouped ? `${found.message} (its shortest history shows: ${group.slice(group.indexOf(' ') + 1)})` : found.message,
        evidence: found.evidence,
        occurrences: occurrences.get(candidate.group) ?? 1,
        phase: candidate.phase,
        transcript: renderTranscript(history),
        reproduced,
      });
    }
    // The drain last: it takes every key of a pool, so it goes after every replay.
    let drainFailedAtMs: number | null = null;
    if (destructive) {
      const drainSession = createCheckSession(target, context.withDeadline(started + options.budgetMs));
      const drained = await runDrainItems(drainSession);
      for (const result of drained) if (result.item === 'C14' && result.verdict === 'fail') drainFailedAtMs = detectedAtMs(drainSession, result.transcript.map((line) => line.id));
      conformance.results = conformance.results.map((result) => drained.find((other) => other.item === result.item) ?? result);
      violations.push(...countViolations(drained));
    }
    violations.sort((a, b) => a.severity - b.severity || b.occurrences - a.occurrences);

    const findings = [...context.findings.values()].map(({ finding, count }) => ({
      kind: finding.kind,
      message: count > 1 ? `${finding.message} (seen ${count}×)` : finding.message,
      transcript: [toTranscriptLine(finding.entry)],
    }));
    const skipped = [
      ...conformance.skipped,
      ...(target.admin === undefined ? [{ item: 'restarts and remote outages', why: 'need a kmesim admin API in the target file (admin:)' }] : []),
      ...(properties.interrupted ? [{ item: 'properties', why: `the budget ran out after ${properties.runs} of ${options.runs} workloads` }] : []),
    ];
    const previous = options.compare ?? null;
    const seenAgain = violations.filter((v) => v.group.includes('an earlier check of this target')).reduce((sum, v) => sum + v.occurrences, 0);
    const fingerprints: FingerprintFile = {
      schema: 'kmesim-fingerprints/1',
      keyId: options.fingerprintKey?.id ?? 'ephemeral',
      target: options.file,
      seed: options.seed,
      ids: [...context.delivered.ids].sort(),
      material: [...context.delivered.material].sort(),
    };
    const passed = violations.length === 0 && conformance.results.every((result) => result.verdict !== 'fail') && findings.length === 0;
    const firstTimes = [
      ...conformanceSession.violations.map((found) => detectedAtMs(conformanceSession, found.entries)),
      ...(drainFailedAtMs === null ? [] : [drainFailedAtMs]),
      ...(properties.firstFailureAtMs === null ? [] : [properties.firstFailureAtMs]),
    ].filter(Number.isFinite);
    const report: CheckReport = {
      schemaVersion: 2,
      target: { file: options.file, kmes: target.kmes.map((kme) => ({ id: kme.id, url: kme.url })), saes: target.saes.map((sae) => sae.id), profile: target.profile },
      seed: options.seed,
      runs: options.runs,
      budgetMs: options.budgetMs,
      wallMs: Math.round(performance.now() - started),
      detectedAfterMs: firstTimes.length === 0 ? null : Math.round(Math.min(...firstTimes) - started),
      destructive,
      conformance: conformance.results,
      properties: { runs: properties.runs, interrupted: properties.interrupted, failed: properties.examples.length > 0, shrunkActions: properties.examples[0]?.actions.length ?? null },
      violations,
      findings,
      skipped,
      fingerprints: {
        file: null,
        keyId: fingerprints.keyId,
        keys: fingerprints.ids.length,
        compared: previous === null ? null : { file: previous.path, keys: previous.ids.length, seenAgain },
      },
      passed,
      note: NOTE,
      repro: reproLine(options),
    };
    return { report, fingerprints };
  } finally {
    closeAgents();
  }
}

function reproLine(options: CheckOptions): string {
  const parts = [`npx kmesim check --target ${options.file} --seed ${options.seed} --runs ${options.runs}`];
  if (options.concurrency !== undefined) parts.push(`--concurrency ${options.concurrency}`);
  if (options.destructive === true) parts.push('--destructive');
  if (options.compare != null) parts.push(`--compare ${options.compare.path}`);
  return parts.join(' ');
}

