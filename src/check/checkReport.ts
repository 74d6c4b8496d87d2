// What a check found: conformance per checklist item, invariant violations grouped by invariant and cause
// (each group with its shrunk example, a transcript anyone can paste and how often that transcript
// reproduced the violation), transport and format findings, what was not run and why, and the line that
// repeats the check. Key bytes never appear here: answers are redacted and keys show as short keyed hashes.
import type { InvariantId } from '../model/violation.js';

export interface TranscriptLine {
  readonly id: number;
  /** The shell command that repeats this request (a curl, possibly capturing key IDs into variables). */
  readonly curl: string;
  readonly status: number;
  readonly failure?: string;
  /** The answer's body with key material redacted, cut to a readable length. */
  readonly response: string;
  /** Requests with the same burst number were sent at once (printed as background jobs and a `wait`). */
  readonly burst?: number;
}

export interface ConformanceResult {
  readonly item: string;
  readonly title: string;
  readonly verdict: 'pass' | 'fail' | 'skip';
  readonly detail: string;
  readonly transcript: readonly TranscriptLine[];
}

export interface Reproduction {
  readonly tries: number;
  readonly reproduced: number;
}

/** One group of violations: same invariant, same cause. The example is the shortest one found. */
export interface CheckViolation {
  readonly invariant: InvariantId;
  readonly name: string;
  /** Stable key of the group: the invariant and the cause, with IDs and numbers left out. */
  readonly group: string;
  /** 1 is the most severe (reuse of key material), larger is less severe. */
  readonly severity: number;
  readonly message: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  /** How many times this group was seen over the whole check (shrinking not counted). */
  readonly occurrences: number;
  readonly phase: 'conformance' | 'probes' | 'properties';
  readonly transcript: readonly TranscriptLine[];
  /** The transcript replayed against the target, each time on fresh keys; null when not replayable. */
  readonly reproduced: Reproduction | null;
}

export interface CheckFinding {
  readonly kind: 'transport' | 'format' | 'hang';
  readonly message: string;
  readonly transcript: readonly TranscriptLine[];
}

/** Something the check did not do, and why (e.g. a destructive item without --destructive). */
export interface SkippedItem {
  readonly item: string;
  readonly why: string;
}

export interface FingerprintSummary {
  /** Where this check's keyed fingerprints were written (key IDs and material, never the bytes). */
  readonly file: string | null;
  /** Which fingerprint key made them: a short hash of the key, so two files can be compared. */
  readonly keyId: string;
  readonly keys: number;
  /** The earlier check compared against, and how many of its keys were seen again. */
  readonly compared: { readonly file: string; readonly keys: number; readonly seenAgain: number } | null;
}

export interface CheckReport {
  readonly schemaVersion: 2;
  readonly target: { readonly file: string; readonly kmes: ReadonlyArray<{ readonly id: string; readonly url: string }>; readonly saes: readonly string[]; readonly profile: string };
  readonly seed: number;
  readonly runs: number;
  readonly budgetMs: number;
  readonly wallMs: number;
  /** ms from the start of the check to its first violation (before shrinking), or null when none was found. */
  readonly detectedAfterMs: number | null;
  readonly destructive: boolean;
  readonly conformance: readonly ConformanceResult[];
  readonly properties: { readonly runs: number; readonly interrupted: boolean; readonly failed: boolean; readonly shrunkActions: number | null };
  /** Violation groups, most severe first. */
  readonly violations: readonly CheckViolation[];
  readonly findings: readonly CheckFinding[];
  readonly skipped: readonly SkippedItem[];
  readonly fingerprints: FingerprintSummary | null;
  readonly passed: boolean;
  /** Same seed, same requests; what a live target answers may differ from run to run. */
  readonly note: string;
  readonly repro: string;
}
