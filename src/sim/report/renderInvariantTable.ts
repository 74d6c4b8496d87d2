// The invariant table: I1–I16 down the side, and whether each held, per run when there are few runs and
// as counts across runs when there are many. "Held" means no violation was recorded.
import { INVARIANT_IDS, INVARIANT_NAMES } from '../../model/violation.js';
import { escapeXmlAttribute, escapeXmlText as escape } from '../../report/escapeXml.js';
import { formatCount } from '../../report/formatNumber.js';
import type { RunReport } from '../runReport.js';
import { summarizeRun } from './summarizeRun.js';

/** Up to this many runs get a column each; beyond it the table shows only totals. */
export const RUN_COLUMNS_MAX = 8;

export function renderInvariantTable(reports: readonly RunReport[], runIds: readonly string[]): string {
  const summaries = reports.map(summarizeRun);
  const perRun = reports.length <= RUN_COLUMNS_MAX;
  const runHeaders = perRun
    ? reports.map((run, i) => `<th class="run" title="${escapeXmlAttribute(`${run.scenario}, seed ${run.seed}`)}"><a href="#${runIds[i] ?? ''}">${escape(run.scenario)}<br>seed ${run.seed}</a></th>`)
    : [];
  const header = `<tr><th>ID</th><th>invariant</th>${runHeaders.join('')}<th class="num">runs held</th><th class="num">runs violated</th><th class="num">violations</th></tr>`;
  const rows = INVARIANT_IDS.map((id) => {
    const counts = summaries.map((s) => s.violationsByInvariant.get(id) ?? 0);
    const runsViolated = counts.filter((c) => c > 0).length;
    const total = counts.reduce((a, b) => a + b, 0);
    const runCells = perRun ? counts.map(renderCell) : [];
    return `<tr><td class="id">${id}</td><td>${escape(INVARIANT_NAMES[id])}</td>${runCells.join('')}`
      + `<td class="num">${formatCount(reports.length - runsViolated)}</td>`
      + `<td class="num${runsViolated > 0 ? ' violated' : ''}">${formatCount(runsViolated)}</td>`
      + `<td class="num${total > 0 ? ' violated' : ''}">${formatCount(total)}</td></tr>`;
  });
  return `<table class="inv-table"><thead>${header}</thead><tbody>${rows.join('')}</tbody></table>`;
}

function renderCell(violations: number): string {
  return violations === 0
    ? '<td class="held" title="held">✓</td>'
    : `<td class="violated" title="${violations} violation${violations === 1 ? '' : 's'}">✗ ${formatCount(violations)}</td>`;
}
