// Writes the report files of a check into one folder: check.json, check.md, check-junit.xml, check.html,
// and check-fingerprints.json when the check kept fingerprints. The same report in gives byte-identical
// files out: nothing here reads a clock or the machine's locale.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckReport } from '../checkReport.js';
import { FINGERPRINT_FILE_NAME } from '../fingerprints.js';
import { renderCheckHtml } from './renderCheckHtml.js';
import { renderCheckJunit } from './renderCheckJunit.js';
import { renderCheckMarkdown } from './renderCheckMarkdown.js';

export interface CheckReportPaths {
  readonly json: string;
  readonly markdown: string;
  readonly junit: string;
  readonly html: string;
  /** Only when the fingerprints were given. */
  readonly fingerprints?: string;
}

export async function writeCheckReports(report: CheckReport, outDir: string, extra: { readonly fingerprints?: string } = {}): Promise<CheckReportPaths> {
  const fingerprints = extra.fingerprints === undefined ? undefined : join(outDir, FINGERPRINT_FILE_NAME);
  const paths: CheckReportPaths = {
    json: join(outDir, 'check.json'),
    markdown: join(outDir, 'check.md'),
    junit: join(outDir, 'check-junit.xml'),
    html: join(outDir, 'check.html'),
    ...(fingerprints === undefined ? {} : { fingerprints }),
  };
  // The reports name the fingerprint file by its name beside them, so that a moved folder stays right.
  const written: CheckReport = extra.fingerprints === undefined || report.fingerprints === null || report.fingerprints.file !== null
    ? report
    : { ...report, fingerprints: { ...report.fingerprints, file: FINGERPRINT_FILE_NAME } };
  // Render everything before touching the disk, so a rendering error leaves no half-written folder.
  const files: Array<readonly [string, string]> = [
    [paths.json, renderCheckJson(written)],
    [paths.markdown, renderCheckMarkdown(written)],
    [paths.junit, renderCheckJunit(written)],
    [paths.html, renderCheckHtml(written)],
  ];
  if (fingerprints !== undefined && extra.fingerprints !== undefined) files.push([fingerprints, extra.fingerprints]);
  await mkdir(outDir, { recursive: true });
  await Promise.all(files.map(([path, text]) => writeFile(path, text, 'utf8')));
  return paths;
}

// Evidence comes from checkers that may hold a bigint; it is written as its digits rather than throwing.
function renderCheckJson(report: CheckReport): string {
  return `${JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`;
}
