// Colours and dash patterns shared by the chart script (through the embedded JSON) and the HTML keys
// under each chart, so a key can never describe a colour the chart does not use.
import type { BandKind, MarkerKind } from './buildChartData.js';

export interface MarkerStyle {
  readonly colour: string;
  readonly label: string;
  /** Sync markers are short ticks in a row along the top of the plot; the rest span its height. */
  readonly tickRow?: number;
  readonly dash?: readonly number[];
}

export const CHART_THEME = {
  poolColours: ['#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#6e7781', '#24292f'],
  // One colour per kind of outage: the remote key manager offline for every link, or one link down.
  bands: {
    remote: { colour: 'rgba(207,34,46,0.10)', label: 'remote key manager offline' },
    link: { colour: 'rgba(130,80,223,0.14)', label: 'link down' },
  } satisfies Readonly<Record<BandKind, { readonly colour: string; readonly label: string }>>,
  thresholds: {
    capacity: { colour: 'rgba(89,99,110,0.75)', dash: [2, 4], label: 'capacity' },
    low: { colour: '#bf8700', dash: [7, 4], label: 'low threshold' },
    emergency: { colour: '#cf222e', dash: [7, 4], label: 'emergency threshold' },
  },
  marks: {
    'sync.completed': { colour: '#1a7f37', label: 'sync completed', tickRow: 0 },
    'sync.failed': { colour: '#cf222e', label: 'sync failed', tickRow: 1 },
    'kme.restart': { colour: '#8250df', label: 'KME restart', dash: [6, 3] },
    fault: { colour: '#bc4c00', label: 'fault injected', dash: [] },
    race: { colour: '#0550ae', label: 'race', dash: [2, 3] },
    burst: { colour: '#1b7c83', label: 'burst', dash: [2, 3] },
    violation: { colour: '#a40e26', label: 'violation (the run stopped)', dash: [] },
  } satisfies Readonly<Record<MarkerKind, MarkerStyle>>,
  deliveries: {
    sent: { colour: '#0969da', label: 'sent' },
    decrypted: { colour: '#1a7f37', label: 'decrypted' },
    encRefused: { colour: '#bc4c00', label: 'enc_keys refused' },
    decRefused: { colour: '#cf222e', label: 'dec_keys refused' },
  },
} as const;
