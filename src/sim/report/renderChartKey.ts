// The key under a chart for what uPlot's legend cannot show: outage bands, threshold lines and event
// markers, listing only what this run has, with counts.
import { escapeXmlAttribute, escapeXmlText as escape } from '../../report/escapeXml.js';
import { formatCount } from '../../report/formatNumber.js';
import type { RunChartData } from './buildChartData.js';
import { CHART_THEME } from './chartTheme.js';

export function renderChartKey(chart: RunChartData, withThresholds: boolean): string {
  const entries: string[] = [];
  if (withThresholds) {
    for (const t of chart.pools.thresholds) {
      const style = CHART_THEME.thresholds[t.kind];
      entries.push(renderEntry('line', style.colour, `${style.label} (${formatCount(t.value)})`));
    }
  }
  for (const kind of ['remote', 'link'] as const) {
    const count = chart.markers.bands.filter((band) => band[2] === kind).length;
    if (count > 0) entries.push(renderEntry('band', CHART_THEME.bands[kind].colour, `${CHART_THEME.bands[kind].label} ×${count}`));
  }
  for (const mark of chart.markers.marks) {
    const style = CHART_THEME.marks[mark.kind];
    const shape = 'tickRow' in style ? 'tick' : 'line';
    entries.push(renderEntry(shape, style.colour, `${style.label} ×${formatCount(mark.total)}`));
  }
  return entries.length === 0 ? '' : `<div class="key">${entries.join('')}</div>`;
}

function renderEntry(shape: 'line' | 'band' | 'tick', colour: string, label: string): string {
  const style = shape === 'line' ? `border-color:${colour}` : `background:${colour}`;
  const swatchClass = shape === 'band' ? 'swatch' : `swatch ${shape}`;
  return `<span><span class="${swatchClass}" style="${escapeXmlAttribute(style)}"></span>${escape(label)}</span>`;
}
