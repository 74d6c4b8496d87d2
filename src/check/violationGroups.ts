// Violations are reported by group: the same invariant broken the same way is one defect, however often
// and on whichever keys or SAEs it showed. The group is the invariant and the message's sentence with its
// particulars (key IDs, SAE and KME names, numbers, paths' variable parts) left out.
import type { InvariantId, Violation } from '../model/violation.js';
import type { Target } from './targetSchema.js';

/** Most severe first: material reaching the wrong place or twice, then loss, then accounting and form. */
const SEVERITY: Readonly<Record<InvariantId, number>> = {
  I1: 1,
  I4: 2,
  I5: 3,
  I3: 4,
  I10: 5,
  I2: 6,
  I7: 7,
  I9: 8,
  I8: 9,
  I11: 10,
  I6: 11,
  I12: 12,
  I13: 13,
  I15: 14,
  I16: 15,
  I14: 16,
};

export function severityOf(invariant: InvariantId): number {
  return SEVERITY[invariant];
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** The names a target gives its SAEs and KMEs, longest first so that no name is cut inside another. */
export function targetNames(target: Target): string[] {
  return [...new Set([...target.saes.map((sae) => sae.id), ...target.kmes.map((kme) => kme.id)])].filter((name) => name.length > 0).sort((a, b) => b.length - a.length);
}

export function groupOf(found: Violation, names: readonly string[]): string {
  let text = found.message.replace(UUID, '#');
  for (const name of names) text = text.split(name).join('@');
  text = text
    .replace(/\b(key|exchange|keys?) [^\s,;:()]+/g, '$1 #')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\d+/g, 'N')
    .replace(/\?[^\s]*/g, '?…');
  return `${found.invariant} ${text}`;
}
