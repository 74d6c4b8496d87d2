// How the parts of a check report read in every format: a transcript line's status (or why none came) and
// body, a violation group's counts and reproduction rate, a concurrent request's label, the comparison.
import { formatCount, formatPlural } from '../../report/formatNumber.js';
import type { CheckViolation, FingerprintSummary, Reproduction, TranscriptLine } from '../checkReport.js';

export function describeStatus(line: TranscriptLine): string {
  if (line.failure !== undefined) return line.status === 0 ? `no answer (${line.failure})` : `${line.status} (${line.failure})`;
  return String(line.status);
}

/** Whitespace runs become one space, so that a body fits on one line; a cut body ends in "…". */
export function shortenText(text: string, charsMax: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= charsMax) return flat;
  // Never cut between the halves of a surrogate pair: the half left over is not a character.
  const cut = flat.slice(0, charsMax - 1).replace(/[\uD800-\uDBFF]$/, '');
  return `${cut}…`;
}

/** How often a violation group was seen: "seen 12×". */
export function describeOccurrences(occurrences: number): string {
  return `seen ${formatCount(occurrences)}×`;
}

/** How often the group's transcript reproduced it when replayed: "reproduced 4/5", or "not replayed". */
export function describeReproduction(reproduced: Reproduction | null): string {
  return reproduced === null || reproduced.tries === 0 ? 'not replayed' : `reproduced ${formatCount(reproduced.reproduced)}/${formatCount(reproduced.tries)}`;
}

/** A violation group's counts in one line: "seen 12× · phase properties · reproduced 4/5". */
export function describeGroupCounts(violation: CheckViolation): string {
  return `${describeOccurrences(violation.occurrences)} · phase ${violation.phase} · ${describeReproduction(violation.reproduced)}`;
}

/** The label of a request sent at once with others. */
export function describeBurst(line: TranscriptLine): string | null {
  return line.burst === undefined ? null : `concurrent (burst ${line.burst})`;
}

/** What the fingerprint comparison with an earlier check found, in one sentence; null when none was made. */
export function describeComparison(fingerprints: FingerprintSummary | null): string | null {
  const compared = fingerprints?.compared;
  if (compared === undefined || compared === null) return null;
  const again = compared.seenAgain === 0 ? 'none of its keys was seen again' : `${formatPlural(compared.seenAgain, 'key')} seen again`;
  return `compared with ${compared.file} (${formatPlural(compared.keys, 'key')}): ${again}`;
}
