// Writes the four report files of a check into one folder. The same report in gives byte-identical files
// out: nothing here reads a clock or the machine's locale.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckReport } from '../checkReport.js';
import { renderCheckHtml } from './renderCheckHtml.js';
import { renderCheckJunit } from './renderCheckJunit.js';
import { renderCheckMarkdown } from './renderCheckMarkdown.js';

export interface CheckReportPaths {
  readonly json: string;
  readonly markdown: string;
  readonly junit: string;
  readonly html: string;
}

export async function writeCheckReports(report: CheckReport, outDir: string): Promise<CheckReportPaths> {
  const paths: CheckReportPaths = {
    json: join(outDir, 'check.json'),
    markdown: join(outDir, 'check.md'),
    junit: join(outDir, 'check-junit.xml'),
    html: join(outDir, 'check.html'),
  };
  // Render everything before touching the disk, so a rendering error leaves no half-written folder.
  const files: ReadonlyArray<readonly [string, string]> = [
    [paths.json, renderCheckJson(report)],
    [paths.markdown, renderCheckMarkdown(report)],
    [paths.junit, renderCheckJunit(report)],
    [paths.html, renderCheckHtml(report)],
  ];
  await mkdir(outDir, { recursive: true });
  await Promise.all(files.map(([path, text]) => writeFile(path, text, 'utf8')));
  return paths;
}

// Evidence comes from checkers that may hold a bigint; it is written as its digits rather than throwing.
function renderCheckJson(report: CheckReport): string {
  return `${JSON.stringify(report, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`;
}
