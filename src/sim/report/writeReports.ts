// Writes the four report files of a set of runs into one folder. Same runs and meta in, byte-identical
// files out: nothing here reads a clock, so a timestamp appears only if the caller puts it in meta.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunReport } from '../runReport.js';
import { renderHtml } from './renderHtml.js';
import { renderJson } from './renderJson.js';
import { renderJunit } from './renderJunit.js';
import { renderMarkdown } from './renderMarkdown.js';
import type { ReportMeta } from './reportMeta.js';

export interface ReportPaths {
  readonly json: string;
  readonly markdown: string;
  readonly junit: string;
  readonly html: string;
}

export async function writeReports(reports: readonly RunReport[], outDir: string, meta: ReportMeta): Promise<ReportPaths> {
  const paths: ReportPaths = {
    json: join(outDir, 'report.json'),
    markdown: join(outDir, 'summary.md'),
    junit: join(outDir, 'junit.xml'),
    html: join(outDir, 'index.html'),
  };
  // Render everything before touching the disk, so a rendering error leaves no half-written folder.
  const files: ReadonlyArray<readonly [string, string]> = [
    [paths.json, renderJson(reports, meta)],
    [paths.markdown, renderMarkdown(reports, meta)],
    [paths.junit, renderJunit(reports, meta)],
    [paths.html, renderHtml(reports, meta)],
  ];
  await mkdir(outDir, { recursive: true });
  await Promise.all(files.map(([path, text]) => writeFile(path, text, 'utf8')));
  return paths;
}
