// Number formatting for the human-facing reports. Written out by hand rather than with toLocaleString,
// whose output depends on the machine's locale and ICU data and would break byte-identical reports.

export function formatCount(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const [whole = '', fraction] = String(Math.abs(value)).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${value < 0 ? '-' : ''}${grouped}${fraction === undefined ? '' : `.${fraction}`}`;
}

export function formatPlural(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}

export function formatWallMs(ms: number): string {
  return formatCount(Math.round(ms));
}

/** A simulated-to-real ratio, 68571 → "68,571:1". */
export function formatRatio(ratio: number): string {
  return `${formatCount(Math.round(ratio))}:1`;
}

/** A virtual duration with the precision a person needs: ms, s, min or h. */
export function formatDurationMs(ms: number): string {
  if (ms < 1_000) return `${formatCount(Math.round(ms))} ms`;
  if (ms < 60_000) return `${formatTenths(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${formatTenths(ms / 60_000)} min`;
  if (ms < 360_000_000) return `${formatTenths(ms / 3_600_000)} h`;
  return `${formatCount(Math.round(ms / 3_600_000))} h`;
}

function formatTenths(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** A point on the virtual time axis, in hours, as the charts show it. */
export function formatHoursAt(ms: number): string {
  return `${(ms / 3_600_000).toFixed(2)} h`;
}
