// The charting library, read from node_modules when a page is rendered and inlined into it, so that
// index.html opens offline, from a CI artifact or an air-gapped lab, exactly as it was generated.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface ChartAssets {
  readonly script: string;
  readonly style: string;
}

let cached: ChartAssets | undefined;

export function readChartAssets(): ChartAssets {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  cached = {
    script: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    style: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return cached;
}
