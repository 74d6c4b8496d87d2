// A whole check of one target: reachability, phase 1 (conformance), phases 2 and 3 (seeded workloads,
// judged by the invariants, shrunk on failure), and the report.
import { INVARIANT_NAMES } from '../model/violation.js';
import type { CheckReport, CheckViolation, ConformanceResult } from './checkReport.js';
import { createCheckSession, detectedAtMs, type CheckSession, type TranscriptEntry } from './checkSession.js';
import { closeAgents } from './etsiClient.js';
import { runConformancePhase } from './conformancePhase.js';
import { runPropertyPhase } from './propertyPhase.js';
import { renderTranscript, toTranscriptLine } from './renderCurl.js';
import type { Target } from './targetSchema.js';

export interface CheckOptions {
  readonly file: string;
  readonly seed: number;
  readonly runs: number;
  readonly budgetMs: number;
  /** The widest concurrent burst of requests. */
  readonly concurrency?: number;
}

export class TargetUnreachableError extends Error {}

/**
 * The requests that show a violation: those it names, and every earlier request that carried its key (the
 * enc_keys that issued it, the retrievals before), so the transcript reproduces it when pasted.
 */
function transcriptFor(session: CheckSession, found: CheckSession['violations'][number], whole: boolean): TranscriptEntry[] {
  const keyId = typeof found.evidence['keyId'] === 'string' ? found.evidence['keyId'] : null;
  const last = Math.max(...found.entries);
  // A shrunk workload is short: all of it, restarts and outages included, up to the violation.
  if (whole) return session.transcript.filter((entry) => entry.id <= last).slice(-12);
  const chosen = session.transcript.filter((entry) => {
    if (found.entries.includes(entry.id)) return true;
    if (keyId === null || entry.id > last) return false;
    const body = typeof entry.request.body === 'string' ? entry.request.body : (entry.request.body?.raw ?? '');
    return entry.request.path.includes(keyId) || body.includes(keyId) || entry.response.text.includes(keyId);
  });
  return chosen.slice(-12);
}

function violationsOf(session: CheckSession, whole: boolean): CheckViolation[] {
  return session.violations.map((found) => ({
    invariant: found.invariant,
    name: INVARIANT_NAMES[found.invariant],
    message: found.message,
    evidence: found.evidence,
    transcript: renderTranscript(transcriptFor(session, found, whole)),
  }));
}

/** Status promised keys that enc_keys then could not deliver: the reported count is not the true one (I8). */
function countViolations(conformance: readonly ConformanceResult[]): CheckViolation[] {
  return conformance
    .filter((result) => result.item === 'C14' && result.verdict === 'fail')
    .map((result) => ({
      invariant: 'I8' as const,
      name: INVARIANT_NAMES.I8,
      message: `stored_key_count is not what enc_keys can deliver: ${result.detail}`,
      evidence: { checklist: 'C14' },
      transcript: result.transcript.slice(-12),
    }));
}

/**
 * When the first violation became visible, in ms from the start of the check (shrinking not included): in
 * phase 1 when the answer that showed it came back, in phase 2 when the first failing workload did.
 */
function firstDetection(conformanceSession: CheckSession, conformance: readonly ConformanceResult[], firstFailureAtMs: number | null, started: number): number | null {
  const times = [
    ...conformanceSession.violations.map((found) => detectedAtMs(conformanceSession, found.entries)),
    ...conformance.filter((result) => result.item === 'C14' && result.verdict === 'fail').map((result) => detectedAtMs(conformanceSession, result.transcript.map((line) => line.id))),
    ...(firstFailureAtMs === null ? [] : [firstFailureAtMs]),
  ].filter(Number.isFinite);
  return times.length === 0 ? null : Math.round(Math.min(...times) - started);
}

export async function runCheck(target: Target, options: CheckOptions): Promise<CheckReport> {
  const started = performance.now();
  try {
    const probe = createCheckSession(target);
    const [first, second] = target.saes;
    const reachable = await Promise.all(target.kmes.map((kme) => probe.send({ kmeUrl: kme.url, sae: target.saes.find((sae) => sae.kme === kme.id) ?? (first ?? null), method: 'GET', path: `/api/v1/keys/${encodeURIComponent(second?.id ?? 'x')}/status` })));
    // Unreachable means nothing listens; a KME that accepts and never answers is a finding in the report.
    const dead = reachable.filter((entry) => entry.response.failure === 'connection');
    if (dead.length === reachable.length) {
      throw new TargetUnreachableError(`no KME of the target answered: ${dead.map((entry) => `${entry.request.kmeUrl} (${entry.response.failureDetail ?? entry.response.failure})`).join(', ')}`);
    }

    const conformanceSession = createCheckSession(target);
    const conformance = await runConformancePhase(conformanceSession);
    const remaining = Math.max(5_000, options.budgetMs - (performance.now() - started));
    const properties = await runPropertyPhase(target, { seed: options.seed, runs: options.runs, budgetMs: remaining, ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }) });

    const violations = [...countViolations(conformance), ...violationsOf(conformanceSession, false), ...(properties.session === null ? [] : violationsOf(properties.session, true))];
    const sessions = [probe, conformanceSession, ...(properties.session === null ? [] : [properties.session])];
    const findings = sessions.flatMap((session) => {
      const byId = new Map(session.transcript.map((entry) => [entry.id, entry]));
      return session.findings.map((finding) => ({ kind: finding.kind, message: finding.message, transcript: [byId.get(finding.entry)].filter((entry) => entry !== undefined).map(toTranscriptLine) }));
    });
    const passed = violations.length === 0 && !properties.failed && conformance.every((result) => result.verdict !== 'fail') && findings.length === 0;
    return {
      schemaVersion: 1,
      target: { file: options.file, kmes: target.kmes, saes: target.saes.map((sae) => sae.id), profile: target.profile },
      seed: options.seed,
      runs: options.runs,
      budgetMs: options.budgetMs,
      wallMs: Math.round(performance.now() - started),
      detectedAfterMs: firstDetection(conformanceSession, conformance, properties.firstFailureAtMs, started),
      conformance,
      properties: { runs: properties.runs, interrupted: properties.interrupted, failed: properties.failed, shrunkActions: properties.counterexample?.length ?? null },
      violations,
      findings,
      passed,
      repro: `npx kmesim check --target ${options.file} --seed ${options.seed} --runs ${options.runs}${options.concurrency === undefined ? '' : ` --concurrency ${options.concurrency}`}`,
    };
  } finally {
    closeAgents();
  }
}
