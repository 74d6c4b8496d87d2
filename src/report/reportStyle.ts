// The page's own stylesheet, inlined after uPlot's. Red and green carry the verdict; everything else is
// kept grey so that they stand out.

export const REPORT_CSS = `
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #ffffff; --panel: #f6f8fa;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9; --warn: #9a6700;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1240px; margin: 0 auto; padding: 0 24px 48px; }
h1 { font-size: 22px; margin: 0; }
h2 { font-size: 18px; margin: 32px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; margin: 4px 0 8px; }
a { color: #0969da; text-decoration: none; }
a:hover { text-decoration: underline; }
.banner { color: #fff; padding: 20px 24px; }
.banner.pass { background: var(--pass); }
.banner.fail { background: var(--fail); }
.banner.empty { background: var(--muted); }
.banner-inner { max-width: 1192px; margin: 0 auto; display: flex; align-items: center; gap: 24px; flex-wrap: wrap; }
.banner .verdict { font-size: 34px; font-weight: 800; letter-spacing: 0.04em; }
.banner .headline { font-size: 17px; font-weight: 600; }
.banner .subline { opacity: 0.92; }
.banner ul.failing { margin: 6px 0 0; padding: 0; list-style: none; }
.banner ul.failing li { margin: 1px 0; }
.banner ul.failing a { color: #fff; text-decoration: underline; font-weight: 600; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 16px 0 0; }
.meta dt { color: var(--muted); }
.meta dd { margin: 0; font-family: var(--mono); font-size: 12.5px; word-break: break-all; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12.5px; background: var(--panel); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.fail td { background: var(--fail-bg); }
.badge { display: inline-block; min-width: 48px; text-align: center; font-weight: 700; font-size: 12px; padding: 1px 8px; border-radius: 10px; color: #fff; }
.badge.pass { background: var(--pass); }
.badge.fail { background: var(--fail); }
.held { color: var(--pass); text-align: center; }
.violated, tr td.violated { background: var(--fail); color: #fff; font-weight: 700; text-align: center; }
td.num.violated { text-align: right; }
.inv-table td.id { font-weight: 600; width: 48px; }
.inv-table th.run { text-align: center; font-weight: 500; max-width: 140px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.inv-table td.held, .inv-table td.violated { min-width: 64px; }
.note { color: var(--muted); font-size: 12.5px; margin: 4px 0; }
.toolbar { display: flex; gap: 8px; margin: -4px 0 12px; }
button { font: inherit; font-size: 12.5px; padding: 3px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); color: var(--fg); cursor: pointer; }
details.run { border: 1px solid var(--line); border-left: 6px solid var(--pass); border-radius: 6px; margin: 0 0 12px; background: var(--bg); }
details.run.fail { border-left-color: var(--fail); }
details.run > summary { cursor: pointer; padding: 10px 14px; display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; list-style: none; }
details.run > summary::-webkit-details-marker { display: none; }
details.run > summary::before { content: "\\25B8"; color: var(--muted); width: 10px; }
details.run[open] > summary::before { content: "\\25BE"; }
details.run[open] > summary { border-bottom: 1px solid var(--line); background: var(--panel); }
.run-title { font-weight: 700; font-size: 15px; }
.run-seed { font-family: var(--mono); color: var(--muted); }
.run-gist { color: var(--muted); }
.run-gist.fail { color: var(--fail); font-weight: 600; }
.run-body { padding: 4px 16px 16px; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin: 12px 0; }
.figure { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.figure .value { font-size: 18px; font-weight: 700; font-variant-numeric: tabular-nums; }
.figure .label { color: var(--muted); font-size: 12px; }
.figure.bad .value { color: var(--fail); }
.violation { border: 1px solid #ff8182; background: var(--fail-bg); border-radius: 6px; padding: 8px 12px; margin: 0 0 8px; }
.violation .what { font-weight: 600; }
.violation .inv { color: var(--fail); font-weight: 800; margin-right: 6px; }
.violation .phase { color: var(--muted); font-weight: 400; font-size: 12px; margin-left: 6px; }
.violation pre { background: #fff; }
.ok { color: var(--pass); font-weight: 700; }
.ko { color: var(--fail); font-weight: 700; }
.chart { margin: 8px 0 4px; min-height: 40px; }
.key { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12px; color: var(--muted); margin: 2px 0 8px; }
.swatch { display: inline-block; width: 14px; height: 10px; margin-right: 5px; vertical-align: -1px; border-radius: 2px; }
.swatch.line { height: 0; border-top: 2px dashed; border-radius: 0; vertical-align: 3px; }
.swatch.tick { width: 3px; height: 12px; }
.machine { margin: 0 0 8px; }
.machine-tables { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); gap: 12px; align-items: start; }
.scroll { max-height: 280px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.scroll table th { position: sticky; top: 0; }
.scroll table tr:last-child td { border-bottom: none; }
.missed td { color: var(--warn); }
table.coverage td { font-family: var(--mono); font-size: 12.5px; }
table.coverage td.num, table.coverage td.ok { font-family: inherit; font-size: 14px; }
details.more > summary { cursor: pointer; color: var(--muted); margin: 12px 0 6px; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { font-family: var(--mono); font-size: 12px; padding: 1px 8px; border-radius: 10px; border: 1px solid var(--line); background: var(--panel); }
.chip.bug { border-color: #d4a72c; background: #fff8c5; }
.uplot { font-family: inherit; }
.u-legend { font-size: 12px; text-align: left; }
.u-legend .u-series > * { padding: 1px 4px; }
`;
