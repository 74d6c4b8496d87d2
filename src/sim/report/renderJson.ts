// report.json: the runs exactly as the simulator reported them, under a schema version and the meta.
// Pretty-printed for diffs and reading, except that arrays of plain values (a [ms, level] sample) stay
// on one line: a 1,000-pool run would otherwise spend four lines on every sample.
import type { RunReport } from '../runReport.js';
import type { ReportMeta } from './reportMeta.js';

export const REPORT_SCHEMA_VERSION = 1;

const PRIMITIVE = String.raw`(?:-?\d[\d.eE+-]*|"(?:[^"\\]|\\.)*"|true|false|null)`;
const ARRAY_OF_PRIMITIVES = new RegExp(String.raw`\[\n\s*(${PRIMITIVE}(?:,\n\s*${PRIMITIVE})*)\n\s*\]`, 'g');

export function renderJson(reports: readonly RunReport[], meta: ReportMeta): string {
  const pretty = JSON.stringify({ schemaVersion: REPORT_SCHEMA_VERSION, meta, runs: reports }, null, 2);
  // JSON.stringify escapes newlines inside strings, so ",\n" only ever separates elements.
  return `${pretty.replace(ARRAY_OF_PRIMITIVES, (_match, inner: string) => `[${inner.replace(/,\n\s*/g, ', ')}]`)}\n`;
}
