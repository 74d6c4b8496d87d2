// The machine-coverage part of a run's section: which declared states and transitions of the key and pool
// machines this run exercised, so a reader can tell a green run that tested little from one that tested much.
import { escapeXmlText as escape } from '../../report/escapeXml.js';
import { formatCount } from '../../report/formatNumber.js';
import type { MachineCoverageReport } from '../runReport.js';

export function renderCoverage(coverage: readonly MachineCoverageReport[]): string {
  if (coverage.length === 0) return '<p class="note">No machine coverage was recorded for this run.</p>';
  const summaryRows = coverage.map((machine) => {
    const counts = countCoverage(machine);
    return `<tr><td>${escape(machine.machine)}</td><td class="num">${counts.statesVisited} / ${counts.states}</td>`
      + `<td class="num">${counts.transitionsTaken} / ${counts.transitions}</td><td class="num">${formatCount(counts.steps)}</td></tr>`;
  });
  return [
    '<table><thead><tr><th>machine</th><th class="num">states visited</th><th class="num">transitions taken</th><th class="num">steps</th></tr></thead>',
    `<tbody>${summaryRows.join('')}</tbody></table>`,
    coverage.map(renderMachine).join('\n'),
  ].join('\n');
}

function renderMachine(machine: MachineCoverageReport): string {
  const visited = new Set(machine.statesVisited);
  const stateRows = machine.states.map((state) => visited.has(state)
    ? `<tr><td>${formatStateName(state)}</td><td class="ok">✓</td></tr>`
    : `<tr class="missed"><td>${formatStateName(state)}</td><td>not visited</td></tr>`);
  const taken = machine.transitions.filter((t) => t.count > 0);
  const takenRows = taken.map((t) => `<tr>${renderTransitionCells(t)}<td class="num">${formatCount(t.count)}</td></tr>`);
  const missedRows = machine.transitionsMissed.map((t) => `<tr class="missed">${renderTransitionCells(t)}</tr>`);
  return [
    '<div class="machine">',
    `<h3>${escape(machine.machine)} machine</h3>`,
    '<div class="machine-tables"><div>',
    `<p class="note">States visited: ${machine.states.filter((s) => visited.has(s)).length} of ${machine.states.length}</p>`,
    `<div class="scroll"><table class="coverage"><thead><tr><th>state</th><th></th></tr></thead><tbody>${stateRows.join('')}</tbody></table></div>`,
    '</div><div>',
    `<p class="note">Transitions taken: ${taken.length}</p>`,
    takenRows.length === 0
      ? '<p class="note">None.</p>'
      : `<div class="scroll"><table class="coverage"><thead><tr><th>from</th><th>event</th><th>to</th><th class="num">count</th></tr></thead><tbody>${takenRows.join('')}</tbody></table></div>`,
    `<p class="note">Transitions missed: ${machine.transitionsMissed.length}</p>`,
    missedRows.length === 0
      ? '<p class="note">None: every declared transition was taken.</p>'
      : `<div class="scroll"><table class="coverage"><thead><tr><th>from</th><th>event</th><th>to</th></tr></thead><tbody>${missedRows.join('')}</tbody></table></div>`,
    '</div></div>',
    '</div>',
  ].join('\n');
}

function renderTransitionCells(t: { readonly from: string; readonly event: string; readonly to: string }): string {
  // The table's class sets the monospace font: a class per cell would weigh more than the names.
  return `<td>${formatStateName(t.from)}</td><td>${escape(t.event)}</td><td>${formatStateName(t.to)}</td>`;
}

// Parallel states serialise as "level.low|sync.idle|remote.online": let narrow columns wrap at the bars.
function formatStateName(state: string): string {
  return escape(state).replace(/\|/g, '|<wbr>');
}

// `transitions` may list only the ones taken or every declared one with a zero count; count both ways alike.
function countCoverage(machine: MachineCoverageReport) {
  const declared = new Set<string>();
  let taken = 0;
  let steps = 0;
  for (const t of machine.transitions) {
    declared.add(`${t.from}\u0000${t.event}\u0000${t.to}`);
    if (t.count > 0) taken++;
    steps += t.count;
  }
  for (const t of machine.transitionsMissed) declared.add(`${t.from}\u0000${t.event}\u0000${t.to}`);
  const visited = new Set(machine.statesVisited);
  return {
    states: machine.states.length,
    statesVisited: machine.states.filter((s) => visited.has(s)).length,
    transitions: declared.size,
    transitionsTaken: taken,
    steps,
  };
}
