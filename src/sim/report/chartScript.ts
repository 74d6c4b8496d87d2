// The page's inline script: reads the embedded JSON and draws each run's charts with uPlot the first time
// its section is opened (so a sweep of hundreds of seeds opens fast). Outage bands, threshold lines and
// event markers are drawn by a uPlot plugin on the plot canvas. Plain ES2017 without template literals or
// backticks, so it can live in this string.

/** The id of the <script type="application/json"> element the page's data is embedded in. */
export const REPORT_DATA_ELEMENT_ID = 'kmesim-data';

export const CHART_SCRIPT = String.raw`
(function () {
  'use strict';
  var payload = JSON.parse(document.getElementById('${REPORT_DATA_ELEMENT_ID}').textContent);
  var runsById = {};
  payload.runs.forEach(function (run) { runsById[run.id] = run; });
  var theme = payload.theme;
  var plots = [];

  function formatCount(value) {
    if (value == null) return '–';
    return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }
  function formatHours(value) {
    return value == null ? '–' : value.toFixed(2) + ' h';
  }

  function markersPlugin(run, thresholds) {
    var px = uPlot.pxRatio;
    function clip(u, ctx) {
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
    }
    function drawBands(u) {
      var ctx = u.ctx;
      clip(u, ctx);
      run.markers.bands.forEach(function (band) {
        ctx.fillStyle = theme.bands[band[2]].colour;
        var x0 = u.valToPos(band[0], 'x', true);
        var x1 = u.valToPos(band[1], 'x', true);
        ctx.fillRect(x0, u.bbox.top, Math.max(x1 - x0, px), u.bbox.height);
      });
      ctx.restore();
    }
    function drawLinesAndTicks(u) {
      var ctx = u.ctx;
      clip(u, ctx);
      var left = u.bbox.left;
      var right = u.bbox.left + u.bbox.width;
      ctx.font = Math.round(11 * px) + 'px system-ui, sans-serif';
      ctx.textAlign = 'right';
      ctx.textBaseline = 'bottom';
      (thresholds || []).forEach(function (t) {
        var style = theme.thresholds[t.kind];
        var y = Math.round(u.valToPos(t.value, 'y', true));
        ctx.strokeStyle = style.colour;
        ctx.fillStyle = style.colour;
        ctx.lineWidth = 1.5 * px;
        ctx.setLineDash(style.dash.map(function (d) { return d * px; }));
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(right, y);
        ctx.stroke();
        // The emergency line sits just under the low one: label it below its line so the two never collide.
        var below = t.kind === 'emergency';
        ctx.textBaseline = below ? 'top' : 'bottom';
        ctx.fillText(t.kind + ' ' + formatCount(t.value), right - 4 * px, below ? y + 2 * px : y - 2 * px);
      });
      ctx.setLineDash([]);
      run.markers.marks.forEach(function (mark) {
        var style = theme.marks[mark.kind];
        ctx.strokeStyle = style.colour;
        if (style.tickRow !== undefined) {
          // Ticks sit in the headroom both charts leave above their data, so they never hide a line.
          var tick = 7 * px;
          var top = u.bbox.top + 2 * px + style.tickRow * (tick + 2 * px);
          ctx.lineWidth = px;
          ctx.beginPath();
          mark.x.forEach(function (x) {
            var cx = Math.round(u.valToPos(x, 'x', true));
            ctx.moveTo(cx, top);
            ctx.lineTo(cx, top + tick);
          });
          ctx.stroke();
          return;
        }
        ctx.lineWidth = 2 * px;
        ctx.setLineDash(style.dash.map(function (d) { return d * px; }));
        ctx.beginPath();
        mark.x.forEach(function (x) {
          var cx = Math.round(u.valToPos(x, 'x', true));
          ctx.moveTo(cx, u.bbox.top);
          ctx.lineTo(cx, u.bbox.top + u.bbox.height);
        });
        ctx.stroke();
        ctx.setLineDash([]);
      });
      ctx.restore();
    }
    return { hooks: { drawClear: [drawBands], draw: [drawLinesAndTicks] } };
  }

  function baseOptions(run, width, height, yLabel) {
    return {
      width: width,
      height: height,
      cursor: { sync: { key: run.id }, drag: { x: true, y: false } },
      // A run a violation stopped ends at its marker: a little room after it keeps the marker in sight.
      scales: { x: { time: false, range: [0, Math.max(run.virtualHours, 0.001) * (run.markers.marks.some(function (m) { return m.kind === 'violation'; }) ? 1.03 : 1)] } },
      axes: [
        { label: 'virtual time (h)', labelSize: 24, size: 36 },
        { label: yLabel, labelSize: 24, size: 56, values: function (u, splits) { return splits.map(formatCount); } }
      ],
      legend: { live: true }
    };
  }

  // Pools and the links' key stores: levels over time, one stepped line each.
  function createLevelChart(run, block, yLabel, target, width) {
    var pools = block.series;
    if (pools.length === 0) return null;
    // One shared time axis needs no joining; otherwise uPlot.join aligns the series, leaving gaps it spans.
    var data = block.x
      ? [block.x].concat(pools.map(function (pool) { return pool.y; }))
      : uPlot.join(pools.map(function (pool) { return [pool.x, pool.y]; }));
    var maxValue = 0;
    pools.forEach(function (pool) {
      maxValue = Math.max(maxValue, pool.capacity);
      pool.y.forEach(function (y) { maxValue = Math.max(maxValue, y); });
    });
    var opts = baseOptions(run, width, 300, yLabel);
    opts.scales.y = { range: [0, Math.max(1, maxValue * 1.12)] };
    opts.series = [{ label: 'time', value: function (u, v) { return formatHours(v); } }].concat(pools.map(function (pool, i) {
      return {
        label: pool.label,
        stroke: theme.poolColours[i % theme.poolColours.length],
        width: 1.75,
        spanGaps: true,
        points: { show: false },
        paths: uPlot.paths.stepped({ align: 1 }),
        value: function (u, v) { return formatCount(v); }
      };
    }));
    opts.plugins = [markersPlugin(run, block.thresholds)];
    return new uPlot(opts, data, target);
  }

  function createPoolChart(run, target, width) {
    return createLevelChart(run, run.pools, 'stored keys', target, width);
  }

  function createStoreChart(run, target, width) {
    return createLevelChart(run, run.stores, 'keys in the store', target, width);
  }

  function createDeliveryChart(run, target, width) {
    var d = run.deliveries;
    if (d.x.length === 0) return null;
    var opts = baseOptions(run, width, 220, d.yLabel);
    var peak = 0;
    [d.sent, d.decrypted, d.encRefused, d.decRefused].forEach(function (values) {
      values.forEach(function (v) { peak = Math.max(peak, v); });
    });
    opts.scales.y = { range: [0, Math.max(1, peak * 1.2)] };
    var stepped = uPlot.paths.stepped({ align: 1 });
    function createSeries(style, widthPx) {
      return { label: style.label, stroke: style.colour, width: widthPx, points: { show: false }, paths: stepped, value: function (u, v) { return formatCount(v); } };
    }
    opts.series = [
      { label: 'time', value: function (u, v) { return formatHours(v); } },
      createSeries(theme.deliveries.sent, 1.5),
      createSeries(theme.deliveries.decrypted, 1.5),
      createSeries(theme.deliveries.encRefused, 2),
      createSeries(theme.deliveries.decRefused, 2)
    ];
    opts.plugins = [markersPlugin(run, [])];
    return new uPlot(opts, [d.x, d.sent, d.decrypted, d.encRefused, d.decRefused], target);
  }

  var CREATORS = { pools: createPoolChart, stores: createStoreChart, deliveries: createDeliveryChart };

  function buildCharts(section) {
    if (section.getAttribute('data-drawn') === 'yes') return;
    section.setAttribute('data-drawn', 'yes');
    section.querySelectorAll('[data-chart]').forEach(function (target) {
      var run = runsById[target.getAttribute('data-run')];
      var kind = target.getAttribute('data-chart');
      var width = Math.max(320, target.clientWidth);
      var plot = CREATORS[kind](run, target, width);
      if (plot) plots.push({ plot: plot, target: target });
    });
  }

  function fitPlots() {
    plots.forEach(function (entry) {
      // A plot in a collapsed section has no width to fit; it is fitted again when its section opens.
      var available = entry.target.clientWidth;
      if (available === 0) return;
      var width = Math.max(320, available);
      if (width !== entry.plot.width) entry.plot.setSize({ width: width, height: entry.plot.height });
    });
  }

  var pending = false;
  window.addEventListener('resize', function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; fitPlots(); });
  });

  var sections = document.querySelectorAll('details.run');
  sections.forEach(function (section) {
    if (section.open) buildCharts(section);
    section.addEventListener('toggle', function () {
      if (!section.open) return;
      buildCharts(section);
      fitPlots();
    });
  });
  function setAll(open) {
    sections.forEach(function (section) { section.open = open; if (open) buildCharts(section); });
    fitPlots();
  }
  var expand = document.getElementById('expand-all');
  var collapse = document.getElementById('collapse-all');
  if (expand) expand.addEventListener('click', function () { setAll(true); });
  if (collapse) collapse.addEventListener('click', function () { setAll(false); });
})();
`;
