// What a check found: conformance per checklist item, invariant violations with the transcript that shows
// each (as curl commands anyone can paste), transport and format findings, and the line that repeats it.
import type { InvariantId } from '../model/violation.js';

export interface TranscriptLine {
  readonly id: number;
  readonly curl: string;
  readonly status: number;
  readonly failure?: string;
  /** The answer's body, cut to a readable length. */
  readonly response: string;
}

export interface ConformanceResult {
  readonly item: string;
  readonly title: string;
  readonly verdict: 'pass' | 'fail' | 'skip';
  readonly detail: string;
  readonly transcript: readonly TranscriptLine[];
}

export interface CheckViolation {
  readonly invariant: InvariantId;
  readonly name: string;
  readonly message: string;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly transcript: readonly TranscriptLine[];
}

export interface CheckFinding {
  readonly kind: 'transport' | 'format';
  readonly message: string;
  readonly transcript: readonly TranscriptLine[];
}

export interface CheckReport {
  readonly schemaVersion: 1;
  readonly target: { readonly file: string; readonly kmes: ReadonlyArray<{ readonly id: string; readonly url: string }>; readonly saes: readonly string[]; readonly profile: string };
  readonly seed: number;
  readonly runs: number;
  readonly budgetMs: number;
  readonly wallMs: number;
  /** ms from the start of the check to its first violation (before shrinking), or null when none was found. */
  readonly detectedAfterMs: number | null;
  readonly conformance: readonly ConformanceResult[];
  readonly properties: { readonly runs: number; readonly interrupted: boolean; readonly failed: boolean; readonly shrunkActions: number | null };
  readonly violations: readonly CheckViolation[];
  readonly findings: readonly CheckFinding[];
  readonly passed: boolean;
  readonly repro: string;
}
