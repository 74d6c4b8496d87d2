/** The printed form of reports/bench.json: one Markdown row per figure, with the targets. */

interface Target {
  readonly op: '>=' | '<=' | '<';
  readonly value: number;
}

/** The targets the figures are judged by (moonshots: a figure below one is reported, not hidden). */
export const TARGETS: Readonly<Record<string, Target>> = {
  'sim.transitionsPerSec': { op: '>=', value: 5_000_000 },
  'sim.yearOfMailSeconds': { op: '<=', value: 60 },
  'sim.npmStartSeconds': { op: '<=', value: 120 },
  'sim.sweepSeconds': { op: '<=', value: 120 },
  'http.ratioToBareNode': { op: '>=', value: 0.4 },
  'http.p99Ms': { op: '<', value: 10 },
  'memory.bytesPerKey': { op: '<=', value: 100 },
  'startup.readyMs': { op: '<=', value: 500 },
  'checker.detectMedianMs': { op: '<=', value: 2_000 },
  'testing.exhaustion100RunsMs': { op: '<', value: 1_000 },
};

function meets(target: Target, value: number): boolean {
  return target.op === '>=' ? value >= target.value : target.op === '<=' ? value <= target.value : value < target.value;
}

function format(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : String(value);
  return String(value);
}

/** Flattens nested figures to `a.b.c` names. */
export function flattenFigures(prefix: string, value: unknown, into: Array<[string, unknown]> = []): Array<[string, unknown]> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flattenFigures(prefix === '' ? key : `${prefix}.${key}`, inner, into);
  } else {
    into.push([prefix, value]);
  }
  return into;
}

export function renderBenchTable(result: Readonly<Record<string, unknown>>): string {
  const rows = ['| figure | value | target | met |', '| --- | ---: | --- | --- |'];
  for (const [name, value] of flattenFigures('', result)) {
    // A target named for a group (checker.detectMedianMs) judges each of its members (…detectMedianMs.no-consume).
    const target = TARGETS[name] ?? TARGETS[name.slice(0, Math.max(0, name.lastIndexOf('.')))];
    const judged = target === undefined || typeof value !== 'number' ? ['', ''] : [`${target.op} ${format(target.value)}`, meets(target, value) ? 'yes' : 'no'];
    rows.push(`| ${name} | ${format(value)} | ${judged[0]} | ${judged[1]} |`);
  }
  return rows.join('\n');
}
