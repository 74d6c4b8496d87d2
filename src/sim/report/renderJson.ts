// report.json: the runs exactly as the simulator reported them, under a schema version and the meta.
// Pretty-printed for diffs and reading, except that arrays of plain values (a [ms, level] sample) stay
// on one line: a 1,000-pool run would otherwise spend four lines on every sample. Written by hand because
// a regex over JSON.stringify's output took seconds on such a run.
import type { RunReport } from '../runReport.js';
import type { ReportMeta } from './reportMeta.js';

export const REPORT_SCHEMA_VERSION = 1;

const INDENT = '  ';

export function renderJson(reports: readonly RunReport[], meta: ReportMeta): string {
  const parts: string[] = [];
  writeValue({ schemaVersion: REPORT_SCHEMA_VERSION, meta, runs: reports }, '', parts);
  parts.push('\n');
  return parts.join('');
}

// Follows JSON.stringify: toJSON is honoured, undefined, functions and symbols are left out of objects
// and become null in arrays, non-finite numbers become null, a bigint throws.
function writeValue(input: unknown, indent: string, parts: string[]): void {
  const value = hasToJson(input) ? input.toJSON() : input;
  if (value === null || typeof value !== 'object') {
    parts.push(JSON.stringify(value) ?? 'null');
    return;
  }
  const inner = indent + INDENT;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      parts.push('[]');
    } else if (value.every(isPlain)) {
      parts.push('[', value.map((item) => JSON.stringify(item) ?? 'null').join(', '), ']');
    } else {
      parts.push('[\n');
      value.forEach((item, i) => {
        parts.push(inner);
        writeValue(item, inner, parts);
        parts.push(i === value.length - 1 ? '\n' : ',\n');
      });
      parts.push(indent, ']');
    }
    return;
  }
  const entries = Object.entries(value).filter(([, item]) => item !== undefined && typeof item !== 'function' && typeof item !== 'symbol');
  if (entries.length === 0) {
    parts.push('{}');
    return;
  }
  parts.push('{\n');
  entries.forEach(([key, item], i) => {
    parts.push(inner, JSON.stringify(key), ': ');
    writeValue(item, inner, parts);
    parts.push(i === entries.length - 1 ? '\n' : ',\n');
  });
  parts.push(indent, '}');
}

function isPlain(item: unknown): boolean {
  return item === null || typeof item !== 'object';
}

function hasToJson(value: unknown): value is { toJSON(): unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function';
}
