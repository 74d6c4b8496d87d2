// How a transcript line's answer reads in a report: the status, or why none came, and the start of the body.
import type { TranscriptLine } from '../checkReport.js';

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
