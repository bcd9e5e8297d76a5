// WeightLab report page: draws the embedded JSON (#report-data) with ECharts (inlined above). No network access.
(function () {
  'use strict';
  var DATA = JSON.parse(document.getElementById('report-data').textContent);
  var PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
    '#1f77b4', '#8c564b', '#17becf', '#bcbd22'];
  var charts = [];
  window.weightlabCharts = charts; // for the browser test and the console

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }
  function fmt(v) {
    if (v == null || typeof v !== 'number' || !isFinite(v)) return v == null ? '–' : String(v);
    if (v === 0) return '0';
    var a = Math.abs(v);
    if (Number.isInteger(v) && a < 1e9) return String(v);
    if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace('e+', 'e');
    return String(Number(v.toPrecision(4)));
  }
  function axisNum(v) { // tick labels: short and readable, never 10^-1.05
    if (v === 0) return '0';
    var a = Math.abs(v);
    if (a >= 1e5 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
    return String(Number(v.toPrecision(3)));
  }
  // A linear axis over a narrow range (0.001248 ... 0.00125) needs more digits than axisNum's three, or every
  // tick reads the same: as many more as the range is orders of magnitude below the values
  function axisNumFor(values) {
    var fin = values.filter(function (v) { return v != null && isFinite(v); });
    if (fin.length < 2) return axisNum;
    var lo = Math.min.apply(null, fin), hi = Math.max.apply(null, fin), big = Math.max(Math.abs(lo), Math.abs(hi));
    if (!(hi > lo) || big === 0) return axisNum;
    var extra = Math.max(0, Math.ceil(Math.log10(big / (hi - lo))));
    if (extra === 0) return axisNum;
    var p = Math.min(3 + extra, 9);
    return function (v) {
      if (v === 0) return '0';
      var a = Math.abs(v);
      if (a >= 1e5 || a < 1e-3) return v.toExponential(p - 1).replace('e+', 'e');
      return String(Number(v.toPrecision(p)));
    };
  }
  function chart(container, height) {
    var d = el('div', {'class': 'chart'});
    if (height) d.style.height = height + 'px';
    container.appendChild(d);
    var c = echarts.init(d, null, {renderer: 'canvas'});
    charts.push(c);
    return c;
  }
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  function toolbar(parent) { var t = el('div', {'class': 'toolbar'}); parent.appendChild(t); return t; }
  function toggle(bar, labels, initial, onChange) {
    var buttons = labels.map(function (l) {
      var b = el('button', {type: 'button', 'data-choice': l}, l);
      b.addEventListener('click', function () { set(l); onChange(l); });
      bar.appendChild(b);
      return b;
    });
    function set(l) { buttons.forEach(function (b) { b.classList.toggle('on', b.textContent === l); }); }
    set(initial);
    return buttons;
  }
  function card(parent, title) {
    var c = el('div', {'class': 'card'});
    c.appendChild(el('div', {'class': 'title'}, title));
    parent.appendChild(c);
    return c;
  }

  // Robust range: Tukey fences at 3 IQR (on log10 values for a log axis). Points beyond are drawn at the fence as
  // red triangles labelled with their value, so one tensor's kurtosis of 1582 does not flatten every other line.
  function fences(values, log) {
    var v = values.filter(function (x) { return x != null && isFinite(x) && (!log || x > 0); })
      .map(function (x) { return log ? Math.log10(x) : x; }).sort(function (a, b) { return a - b; });
    if (v.length < 5) return null;
    var q = function (p) { return v[Math.floor(p * (v.length - 1))]; };
    var q1 = q(0.25), q3 = q(0.75), iqr = q3 - q1;
    if (!(iqr > 0)) return null; // most values equal (e.g. no change): nothing to call an outlier against
    var lo = q1 - 3 * iqr, hi = q3 + 3 * iqr;
    if (v[0] >= lo && v[v.length - 1] <= hi) return null;
    lo = Math.max(lo, v[0]); hi = Math.min(hi, v[v.length - 1]);
    return log ? {lo: Math.pow(10, lo), hi: Math.pow(10, hi)} : {lo: lo, hi: hi};
  }

  // A metric by layer: one line per module kind, integer layer ticks, log/linear and robust/full toggles.
  function layerLines(parent, title, ytitle, series, opts) {
    var c = card(parent, title), bar = toolbar(c);
    var all = [];
    Object.keys(series).forEach(function (k) { series[k].forEach(function (p) { all.push(p[1]); }); });
    var positive = all.length > 0 && all.every(function (v) { return v == null || v > 0; });
    var state = {log: positive && !!opts.log, robust: true};
    if (positive) toggle(bar, ['log', 'linear'], state.log ? 'log' : 'linear', function (l) { state.log = l === 'log'; draw(); });
    toggle(bar, ['robust range', 'full range'], 'robust range', function (l) { state.robust = l === 'robust range'; draw(); });
    var outNote = el('span', {'class': 'count'});
    bar.appendChild(outNote);
    var ch = chart(c);
    var xs = [];
    Object.keys(series).forEach(function (k) { series[k].forEach(function (p) { xs.push(p[0]); }); });
    var xmin = Math.min.apply(null, xs), xmax = Math.max.apply(null, xs);
    function draw() {
      var f = state.robust ? fences(all, state.log) : null, outliers = 0;
      var s = Object.keys(series).map(function (k, i) {
        var style = opts.styleOf ? opts.styleOf(k) : null;
        return {
          name: k, type: opts.scatter ? 'scatter' : 'line', symbolSize: 6, connectNulls: false,
          itemStyle: style ? {color: style.color} : undefined, lineStyle: style ? {color: style.color, type: style.dashed ? 'dashed' : 'solid'} : undefined,
          data: series[k].filter(function (p) { return p[1] != null && (!state.log || p[1] > 0); }).map(function (p) {
            var y = p[1], item = {value: [p[0], y], raw: y, tensor: p[2]};
            if (f && (y > f.hi || y < f.lo)) {
              outliers++;
              item.value = [p[0], y > f.hi ? f.hi : f.lo];
              item.symbol = 'triangle'; item.symbolSize = 11; item.symbolRotate = y > f.hi ? 0 : 180;
              item.itemStyle = {color: '#d62728'};
              item.label = {show: true, formatter: fmt(y), position: y > f.hi ? 'top' : 'bottom', color: '#d62728', fontSize: 10};
            }
            return item;
          }),
          markArea: i === 0 && opts.band ? {silent: true, itemStyle: {color: 'rgba(89,161,79,0.12)'},
            data: [[{yAxis: opts.band[0], name: opts.bandLabel || ''}, {yAxis: opts.band[1]}]], label: {position: 'insideTopRight', color: '#3a7a33'}} : undefined
        };
      });
      outNote.textContent = outliers ? outliers + ' outlier(s) beyond 3 IQR drawn at the edge (▲)' : '';
      var y = {type: state.log ? 'log' : 'value', name: ytitle, nameLocation: 'middle', nameGap: 52, scale: !state.log,
        axisLabel: {formatter: state.log ? axisNum : axisNumFor(f ? [f.lo, f.hi] : all)}, minorTick: {show: state.log},
        minorSplitLine: {show: state.log, lineStyle: {color: '#f3f3f3'}}};
      if (f) { y.min = f.lo; y.max = f.hi; }
      if (opts.band && !f && !state.log) { y.min = function (e) { return Math.min(e.min, opts.band[0]) - 0.5; }; y.max = function (e) { return Math.max(e.max, opts.band[1]) + 0.5; }; }
      ch.setOption({
        animation: false, color: PALETTE, grid: {left: 70, right: 20, top: 40, bottom: 45},
        legend: {type: 'scroll', top: 0}, dataZoom: [{type: 'inside', xAxisIndex: 0}, {type: 'inside', yAxisIndex: 0}],
        tooltip: {trigger: 'item', formatter: function (p) {
          var d = p.data; return p.seriesName + (d.tensor ? '<br>' + d.tensor : '') +
            '<br>' + (opts.xname || 'layer') + ' ' + fmt(d.value[0]) + ': ' + fmt(d.raw);
        }},
        xAxis: {type: 'value', name: opts.xname || 'layer', nameLocation: 'middle', nameGap: 28, min: xmin, max: xmax, minInterval: 1,
          axisLabel: {formatter: function (v) { return Number.isInteger(v) ? String(v) : ''; }}},
        yAxis: y, series: s
      }, true);
    }
    draw();
    return ch;
  }

  function byLayer(rows, key, filter) {
    var m = {};
    rows.forEach(function (r) {
      if (r.layer == null || !filter(r)) return;
      (m[r.kind] = m[r.kind] || []).push([r.layer, r[key], r.name]);
    });
    Object.keys(m).forEach(function (k) { m[k].sort(function (a, b) { return a[0] - b[0]; }); });
    return m;
  }
  function isMatrix(r) { return r.ndim >= 2 && r.role !== 'quantization' && r.role !== 'buffer'; }

  // Sortable, filterable table that stays inside the page (it scrolls in its own box).
  function table(container, columns, rows, opts) {
    opts = opts || {};
    var bar = toolbar(container.parentNode.insertBefore(el('div'), container));
    var input = el('input', {'class': 'filter', placeholder: 'filter: name, kind, dtype (a regular expression)'});
    bar.appendChild(input);
    var count = el('span', {'class': 'count'});
    bar.appendChild(count);
    var t = el('table', {'class': 'data'});
    var thead = el('thead'), tr = el('tr'), tbody = el('tbody');
    var sort = {key: opts.sortKey || null, dir: opts.sortDir || 1};
    columns.forEach(function (c) {
      var th = el('th', {'class': 'sortable' + (c.num ? '' : ' l'), 'data-key': c.key, title: c.title || ('sort by ' + c.label)}, c.label);
      th.addEventListener('click', function () {
        sort.dir = sort.key === c.key ? -sort.dir : (c.num ? -1 : 1);
        sort.key = c.key;
        draw();
      });
      tr.appendChild(th);
    });
    thead.appendChild(tr); t.appendChild(thead); t.appendChild(tbody); container.appendChild(t);
    input.addEventListener('input', draw);
    function draw() {
      var re = null;
      try { re = input.value ? new RegExp(input.value, 'i') : null; } catch (e) { re = null; }
      var shown = rows.filter(function (r) {
        return !re || columns.some(function (c) { return !c.num && r[c.key] != null && re.test(String(r[c.key])); });
      });
      if (sort.key) {
        shown = shown.slice().sort(function (a, b) {
          var x = a[sort.key], y = b[sort.key];
          if (x == null && y == null) return 0;
          if (x == null) return 1;
          if (y == null) return -1; // blanks last either way
          return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true})) * sort.dir;
        });
      }
      Array.prototype.forEach.call(tr.children, function (th) {
        if (th.getAttribute('data-key') === sort.key) th.setAttribute('aria-sort', sort.dir > 0 ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
      });
      var frag = document.createDocumentFragment();
      shown.forEach(function (r) {
        var row = el('tr', opts.bad && opts.bad(r) ? {'class': 'bad'} : null);
        if (opts.onRow) { row.classList.add('clickable'); row.addEventListener('click', function () { opts.onRow(r); }); }
        columns.forEach(function (c) {
          var v = r[c.key], td = el('td', {'class': c.num ? '' : (c.key === 'name' ? 'l name' : 'l')}, c.num ? fmt(v) : (v == null ? '' : String(v)));
          if (c.key === 'name') td.title = String(v);
          row.appendChild(td);
        });
        frag.appendChild(row);
      });
      tbody.innerHTML = '';
      tbody.appendChild(frag);
      count.textContent = shown.length + ' of ' + rows.length + ' rows';
    }
    draw();
  }

  // ---------------------------------------------------------------- stats
  var HEAT_METRICS = [
    {key: 'std', label: 'std', log: true}, {key: 'kurtosis', label: 'excess kurtosis'}, {key: 'beta', label: 'GG β (MLE)'},
    {key: 'outlier_ratio', label: 'max|x| / std'}, {key: 'nan_inf', label: 'NaN + Inf', all: true}];

  function heatmap(container, rows, metrics, diverging) {
    metrics = metrics || HEAT_METRICS;
    var bar = toolbar(container);
    bar.appendChild(el('span', null, 'metric:'));
    var ch = chart(container, 420), current = metrics[0];
    toggle(bar, metrics.map(function (m) { return m.label; }), current.label, function (l) {
      current = metrics.filter(function (m) { return m.label === l; })[0]; draw();
    });
    var note = el('span', {'class': 'count'}); bar.appendChild(note);
    function draw() {
      var cells = {}, layers = {}, kinds = {};
      rows.forEach(function (r) {
        if (r.layer == null || (!current.all && !isMatrix(r))) return;
        var v = r[current.key];
        if (v == null) return;
        var k = r.layer + '|' + r.kind, c = cells[k] = cells[k] || {sum: 0, n: 0, max: -Infinity, names: []};
        c.sum += v; c.n++; c.max = Math.max(c.max, v); c.names.push(r.name);
        layers[r.layer] = 1; kinds[r.kind] = 1;
      });
      var L = Object.keys(layers).map(Number).sort(function (a, b) { return a - b; }), K = Object.keys(kinds).sort();
      var data = [], vals = [];
      Object.keys(cells).forEach(function (k) {
        var c = cells[k], p = k.split('|'), v = current.all ? c.sum : c.sum / c.n;
        vals.push(v);
        data.push({value: [L.indexOf(Number(p[0])), K.indexOf(p[1]), v], raw: v, names: c.names});
      });
      var log = current.log && vals.every(function (v) { return v > 0; });
      var f = fences(vals, log), lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals), marked = 0;
      if (f) { lo = f.lo; hi = f.hi; }
      data.forEach(function (d) {
        var v = d.raw;
        if (v > hi || v < lo) { marked++; d.value[2] = v > hi ? hi : lo; d.label = {show: true, formatter: '▲', color: '#fff'}; }
        if (log) d.value[2] = Math.log10(d.value[2]);
      });
      note.textContent = (marked ? marked + ' cell(s) beyond 3 IQR shown at the end of the scale (▲). ' : '') + (log ? 'colour on a log scale' : '');
      if (diverging) { var m = Math.max(Math.abs(lo), Math.abs(hi)) || 1; lo = -m; hi = m; }
      if (lo === hi) hi = lo + 1;
      ch.setOption({
        animation: false, grid: {left: 110, right: 90, top: 10, bottom: 50},
        tooltip: {formatter: function (p) { return p.data.names.join('<br>') + '<br><b>' + current.label + ' ' + fmt(p.data.raw) + '</b>'; }},
        xAxis: {type: 'category', data: L.map(String), name: 'layer', nameLocation: 'middle', nameGap: 28, splitArea: {show: true}},
        yAxis: {type: 'category', data: K, splitArea: {show: true}},
        visualMap: {min: log ? Math.log10(lo) : lo, max: log ? Math.log10(hi) : hi, calculable: true, orient: 'vertical', right: 0, top: 'center',
          inRange: {color: diverging ? ['#2166ac', '#f7f7f7', '#b2182b'] : ['#f7fbff', '#9ecae1', '#3182bd', '#08306b']},
          formatter: function (v) { return axisNum(log ? Math.pow(10, v) : v); }},
        series: [{type: 'heatmap', data: data, emphasis: {itemStyle: {borderColor: '#000', borderWidth: 1}}}]
      }, true);
    }
    draw();
  }

  function histogram(container, h) {
    var c = card(container, 'values of ' + h.tensor + ' (density, log axis) with fitted densities');
    drawHistogram(chart(c), h, {});
  }

  // Every tensor's value histogram, drawn only when its card scrolls into view (as the ESD gallery).
  function valuesGallery(hs, kinds) {
    var g = document.getElementById('values-gallery');
    if (!g) return;
    var cards = [], observer = 'IntersectionObserver' in window ? new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { if (e.isIntersecting) { observer.unobserve(e.target); drawValues(e.target); } });
    }, {rootMargin: '300px'}) : null;
    hs.forEach(function (h) {
      var c = el('div', {'class': 'esd', 'data-tensor': h.tensor});
      c.appendChild(el('div', {'class': 'title'}, h.tensor));
      c.appendChild(el('div', {'class': 'chart'}));
      c._h = h;
      g.appendChild(c);
      cards.push(c);
      if (observer) observer.observe(c); else drawValues(c);
    });
    var filter = document.getElementById('values-filter');
    if (filter) filter.addEventListener('input', function () {
      var re; try { re = new RegExp(filter.value, 'i'); } catch (e) { return; }
      cards.forEach(function (c) { c.style.display = re.test(c._h.tensor + ' ' + (kinds[c._h.tensor] || '')) ? '' : 'none'; });
    });
  }

  function drawValues(c) {
    var ch = echarts.init(c.querySelector('.chart'), null, {renderer: 'canvas'});
    charts.push(ch);
    drawHistogram(ch, c._h, {compact: true});
    c.setAttribute('data-rendered', 'true');
  }

  function drawHistogram(ch, h, o) {
    var series = [{name: 'values', type: 'line', step: 'middle', symbol: 'none', areaStyle: {opacity: 0.35},
      data: h.x.map(function (x, i) { return [x, h.density[i]]; }).filter(function (p) { return p[1] != null; })}];
    Object.keys(h.fits).forEach(function (k) {
      series.push({name: k, type: 'line', symbol: 'none', lineStyle: {width: 2}, data: h.x.map(function (x, i) { return [x, h.fits[k][i]]; })
        .filter(function (p) { return p[1] != null; })});
    });
    ch.setOption({animation: false, color: ['#9fb4d3', '#e15759', '#59a14f', '#f28e2b'],
      grid: o.compact ? {left: 52, right: 12, top: 44, bottom: 36} : {left: 70, right: 20, top: 40, bottom: 45},
      legend: {top: 0, textStyle: {fontSize: o.compact ? 10 : 12}}, tooltip: {trigger: 'axis', valueFormatter: fmt}, dataZoom: [{type: 'inside'}],
      xAxis: {type: 'value', name: 'value', nameLocation: 'middle', nameGap: 28, scale: true, axisLabel: {formatter: axisNum}},
      yAxis: {type: 'log', name: 'density', axisLabel: {formatter: axisNum}}, series: series});
  }

  function stats(s) {
    var rows = s.tensors;
    heatmap(document.getElementById('heatmap'), rows);
    var lines = document.getElementById('layer-lines');
    layerLines(lines, 'std by layer (weight matrices)', 'std', byLayer(rows, 'std', isMatrix), {log: true});
    layerLines(lines, 'excess kurtosis by layer (weight matrices)', 'excess kurtosis', byLayer(rows, 'kurtosis', isMatrix), {});
    layerLines(lines, 'generalized-Gaussian shape β (MLE) by layer', 'β', byLayer(rows, 'beta', isMatrix), {});
    layerLines(lines, 'max|x| / std by layer (weight matrices)', 'max|x| / std', byLayer(rows, 'outlier_ratio', isMatrix), {log: true});
    layerLines(lines, 'std by layer (vectors: norms and biases)', 'std', byLayer(rows, 'std', function (r) { return r.ndim === 1; }), {log: true});
    if (s.histogram) histogram(document.getElementById('histogram'), s.histogram);
    if (s.histograms) {
      var kinds = {};
      rows.forEach(function (r) { kinds[r.name] = r.kind; });
      valuesGallery(s.histograms, kinds);
    }
    table(document.getElementById('tensor-table'), [
      {key: 'name', label: 'tensor'}, {key: 'dtype', label: 'dtype'}, {key: 'shape', label: 'shape'}, {key: 'kind', label: 'kind'},
      {key: 'layer', label: 'layer', num: true}, {key: 'elements', label: 'elements', num: true}, {key: 'mean', label: 'mean', num: true},
      {key: 'std', label: 'std', num: true}, {key: 'skewness', label: 'skew', num: true}, {key: 'kurtosis', label: 'kurtosis', num: true},
      {key: 'beta', label: 'β', num: true}, {key: 'best_fit', label: 'best fit'}, {key: 'outlier_ratio', label: 'max|x|/std', num: true},
      {key: 'min', label: 'min', num: true}, {key: 'max', label: 'max', num: true}, {key: 'zero_pct', label: 'zero %', num: true},
      {key: 'q01', label: 'q01', num: true}, {key: 'q50', label: 'q50', num: true}, {key: 'q99', label: 'q99', num: true},
      {key: 'nan_inf', label: 'nan/inf', num: true}, {key: 'finding', label: 'finding'}],
    rows, {bad: function (r) { return !!r.finding; }});
  }

  // ---------------------------------------------------------------- spectrum
  function spectrum(sp, statsRows) {
    var ok = sp.matrices.filter(function (m) { return m.status === 'ok'; });
    var box = document.getElementById('spectrum-charts');
    var alpha = {}, stable = {};
    ok.forEach(function (m) {
      if (m.layer == null) return;
      if (m.alpha != null) (alpha[m.kind] = alpha[m.kind] || []).push([m.layer, m.alpha, m.name]);
      if (m.stable_rank != null) (stable[m.kind] = stable[m.kind] || []).push([m.layer, m.stable_rank, m.name]);
    });
    [alpha, stable].forEach(function (s) { Object.keys(s).forEach(function (k) { s[k].sort(function (a, b) { return a[0] - b[0]; }); }); });
    if (Object.keys(alpha).length) layerLines(box, 'power-law α by layer; band: 2 ≤ α ≤ 6 (WeightWatcher\'s well-trained range)', 'α', alpha,
      {band: [2, 6], bandLabel: '2 ≤ α ≤ 6'});
    if (Object.keys(stable).length) layerLines(box, 'stable rank by layer', 'stable rank', stable, {log: true});
    scatter(box, 'α against stable rank', 'stable rank', ok.map(function (m) { return [m.stable_rank, m.alpha, m.name, m.kind]; }));
    if (statsRows) {
      var kurt = {};
      statsRows.forEach(function (r) { kurt[r.name] = r.kurtosis; });
      scatter(box, 'α against excess kurtosis of the weights', 'excess kurtosis', ok.map(function (m) { return [kurt[m.name], m.alpha, m.name, m.kind]; }));
    }
    gallery(sp);
    var cols = [{key: 'name', label: 'matrix'}, {key: 'kind', label: 'kind'}, {key: 'layer', label: 'layer', num: true}];
    var known = {name: 1, kind: 1, layer: 1, status: 1, alpha_status: 1};
    var keys = {};
    sp.matrices.forEach(function (m) { Object.keys(m).forEach(function (k) { if (m[k] != null) keys[k] = 1; }); }); // columns some row has
    Object.keys(keys).forEach(function (k) { if (!known[k]) cols.push({key: k, label: k, num: true}); });
    cols.push({key: 'alpha_status', label: 'alpha status'}, {key: 'status', label: 'status'});
    table(document.getElementById('matrix-table'), cols, sp.matrices,
      {bad: function (m) { return m.status !== 'ok' || (m.alpha != null && (m.alpha < 2 || m.alpha > 6)); }});
  }

  function scatter(box, title, xname, pts) {
    pts = pts.filter(function (p) { return p[0] != null && p[1] != null; });
    if (!pts.length) return;
    var c = card(box, title), ch = chart(c), byKind = {};
    pts.forEach(function (p) { (byKind[p[3]] = byKind[p[3]] || []).push({value: [p[0], p[1]], name: p[2]}); });
    var logx = pts.every(function (p) { return p[0] > 0; });
    ch.setOption({animation: false, color: PALETTE, grid: {left: 60, right: 20, top: 40, bottom: 45}, legend: {type: 'scroll', top: 0},
      tooltip: {formatter: function (p) { return p.data.name + '<br>' + xname + ' ' + fmt(p.data.value[0]) + ', α ' + fmt(p.data.value[1]); }},
      xAxis: {type: logx ? 'log' : 'value', name: xname, nameLocation: 'middle', nameGap: 28, scale: true, axisLabel: {formatter: axisNum}},
      yAxis: {type: 'value', name: 'α', scale: true, axisLabel: {formatter: axisNum}},
      series: Object.keys(byKind).map(function (k, i) {
        return {name: k, type: 'scatter', symbolSize: 7, data: byKind[k],
          markArea: i === 0 ? {silent: true, itemStyle: {color: 'rgba(89,161,79,0.12)'}, data: [[{yAxis: 2}, {yAxis: 6}]]} : undefined};
      })});
  }

  // One ESD per analysed matrix, drawn only when its card scrolls into view (long galleries stay fast).
  function gallery(sp) {
    var g = document.getElementById('esd-gallery'), cards = [];
    var observer = 'IntersectionObserver' in window ? new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { if (e.isIntersecting) { observer.unobserve(e.target); drawEsd(e.target); } });
    }, {rootMargin: '300px'}) : null;
    sp.matrices.forEach(function (m) {
      var h = sp.esd[m.name];
      if (m.status !== 'ok' || !h) return;
      var bad = m.alpha != null && (m.alpha < 2 || m.alpha > 6);
      var c = el('div', {'class': 'esd' + (bad ? ' flag' : ''), 'data-matrix': m.name});
      c.appendChild(el('div', {'class': 'title'}, m.name + '  (' + m.N + ' x ' + m.M + ', α ' + fmt(m.alpha) + ')'));
      c.appendChild(el('div', {'class': 'chart'}));
      c._m = m; c._h = h;
      g.appendChild(c);
      cards.push(c);
      if (observer) observer.observe(c); else drawEsd(c);
    });
    var filter = document.getElementById('esd-filter');
    if (filter) filter.addEventListener('input', function () {
      var re; try { re = new RegExp(filter.value, 'i'); } catch (e) { return; }
      cards.forEach(function (c) { c.style.display = re.test(c._m.name + ' ' + c._m.kind) ? '' : 'none'; });
    });
  }

  function drawEsd(card) {
    var m = card._m, h = card._h, n = h.n - h.zeros, data = [];
    for (var i = 0; i < h.counts.length; i++) data.push([h.lo + (i + 0.5) * h.width, n > 0 ? h.counts[i] / (n * h.width) : 0]);
    var series = [{name: 'ESD', type: 'bar', barCategoryGap: '0%', barWidth: '99%', itemStyle: {color: '#9fb4d3'}, data: data, markLine: null}];
    var lines = [];
    (DATA.spectrum.markers || []).forEach(function (mk) {
      var v = m[mk.key];
      if (v != null && v > 0) lines.push({xAxis: Math.log10(v), name: mk.label, lineStyle: {color: mk.color, width: 2, type: 'solid'},
        label: {formatter: mk.label, color: mk.color}});
    });
    if (lines.length) series[0].markLine = {symbol: 'none', silent: true, data: lines};
    // p(λ) = (α−1)/xmin (λ/xmin)^−α on the tail (a fraction tail/n of all λ); as a density of u = log10 λ:
    // f(u) = (tail/n) (α−1) ln10 (λ/xmin)^(1−α).
    if (m.alpha != null && m.xmin > 0 && h.tail > 0 && n > 0) {
      var u0 = Math.log10(m.xmin), u1 = h.log10_max, fit = [];
      for (var k = 0; k <= 40; k++) {
        var u = u0 + (u1 - u0) * k / 40;
        fit.push([u, h.tail / n * (m.alpha - 1) * Math.LN10 * Math.pow(10, (u - u0) * (1 - m.alpha))]);
      }
      series.push({name: 'power law α ' + fmt(m.alpha), type: 'line', symbol: 'none', lineStyle: {color: '#d62728', width: 2, type: 'dashed'}, data: fit});
    }
    var ch = echarts.init(card.querySelector('.chart'), null, {renderer: 'canvas'});
    charts.push(ch);
    ch.setOption({animation: false, grid: {left: 48, right: 12, top: 26, bottom: 36}, legend: {top: 0, textStyle: {fontSize: 11}},
      tooltip: {trigger: 'axis', valueFormatter: fmt},
      xAxis: {type: 'value', name: 'log₁₀ λ', nameLocation: 'middle', nameGap: 22, min: h.lo, max: h.lo + h.width * h.counts.length,
        axisLabel: {formatter: axisNum}},
      yAxis: {type: 'value', axisLabel: {formatter: axisNum}}, series: series});
    card.setAttribute('data-rendered', 'true');
  }

  // ---------------------------------------------------------------- compare
  function leaf(path) { return String(path).replace(/[\/\\]+$/, '').replace(/^.*[\/\\]/, ''); }
  function compare(c) {
    var box = document.getElementById('compare-layers');
    var rot = {}, rel = {}, leaves = c.checkpoints.map(leaf);
    var unique = leaves.every(function (l, i) { return leaves.indexOf(l) === i; });
    c.layers.forEach(function (r) {
      if (r.layer_index == null) return;
      var k = unique ? leaf(r.checkpoint) : r.checkpoint; // legends show the checkpoint's own name when that is unambiguous
      (rot[k] = rot[k] || []).push([r.layer_index, r.rotation, r.layer]);
      (rel[k] = rel[k] || []).push([r.layer_index, r.rel_delta, r.layer]);
    });
    [rot, rel].forEach(function (s) { Object.keys(s).forEach(function (k) { s[k].sort(function (a, b) { return a[0] - b[0]; }); }); });
    layerLines(box, 'layer rotation δ = 1 − cos(W_t, W_0) by layer', 'δ', rot, {});
    layerLines(box, 'relative change ‖W_t − W_0‖ / ‖W_0‖ by layer', 'relative change', rel, {});
    // heatmap layer x checkpoint
    var hm = document.getElementById('compare-heatmap'), ch = chart(hm, 360), L = {}, data = [];
    c.layers.forEach(function (r) { if (r.layer_index != null) L[r.layer_index] = 1; });
    var layers = Object.keys(L).map(Number).sort(function (a, b) { return a - b; }), vals = [];
    c.layers.forEach(function (r) {
      if (r.layer_index == null || r.rotation == null) return;
      vals.push(r.rotation);
      data.push([r.checkpoint_index - 1, layers.indexOf(r.layer_index), r.rotation]);
    });
    var xcats = c.checkpoints.map(function (ck, i) { return c.steps ? 'step ' + c.steps[i] : leaf(ck); });
    ch.setOption({animation: false, grid: {left: 60, right: 90, top: 10, bottom: 60},
      tooltip: {formatter: function (p) { return c.checkpoints[p.data[0]] + '<br>layer ' + layers[p.data[1]] + ': δ ' + fmt(p.data[2]); }},
      xAxis: {type: 'category', data: xcats, name: c.steps ? 'step' : 'checkpoint', nameLocation: 'middle', nameGap: 40},
      yAxis: {type: 'category', data: layers.map(String), name: 'layer'},
      visualMap: {min: vals.length ? Math.min.apply(null, vals) : 0, max: vals.length ? Math.max.apply(null, vals) : 1, calculable: true, right: 0, top: 'center',
        inRange: {color: ['#fff7ec', '#fc8d59', '#7f0000']}, formatter: axisNumFor(vals)},
      series: [{type: 'heatmap', data: data}]});
    var sbox = document.getElementById('compare-series');
    overSeries(sbox, 'mean numerical rank of ΔW (σ > 0.01·σ₁) by module kind', 'rank', c.rank, c);
    overSeries(sbox, 'mean stable rank of ΔW by module kind', 'stable rank', c.stable_rank, c);
    table(document.getElementById('compare-table'), [{key: 'checkpoint', label: 'checkpoint'}, {key: 'layer', label: 'layer'},
      {key: 'rotation', label: 'rotation δ', num: true}, {key: 'rel_delta', label: 'relative change', num: true},
      {key: 'tensors', label: 'tensors', num: true}], c.layers, {});
  }

  // A series of steps: a numeric step axis with lines. Unrelated checkpoints: categories, points only.
  function overSeries(box, title, yname, byKind, c) {
    var card0 = card(box, title + (c.steps ? '' : ' (unrelated checkpoints: points, not lines)')), ch = chart(card0);
    var series = Object.keys(byKind).map(function (k) {
      var pts = Object.keys(byKind[k]).map(function (ci) {
        var i = Number(ci) - 1; return c.steps ? [c.steps[i], byKind[k][ci]] : [i, byKind[k][ci]];
      });
      pts.sort(function (a, b) { return a[0] - b[0]; });
      return {name: k, type: c.steps ? 'line' : 'scatter', symbolSize: 8, data: pts};
    });
    var x = c.steps ? {type: 'value', name: 'step', nameLocation: 'middle', nameGap: 28, scale: true, minInterval: 1, axisLabel: {formatter: axisNum}}
      : {type: 'category', name: 'checkpoint', nameLocation: 'middle', nameGap: 28,
        data: c.checkpoints.map(leaf)};
    ch.setOption({animation: false, color: PALETTE, grid: {left: 60, right: 20, top: 40, bottom: 45}, legend: {type: 'scroll', top: 0},
      tooltip: {trigger: 'item', formatter: function (p) { return p.seriesName + '<br>' + (c.steps ? 'step ' + p.data[0] : c.checkpoints[p.data[0]]) + ': ' + fmt(p.data[1]); }},
      xAxis: x, yAxis: {type: 'value', name: yname, scale: true, axisLabel: {formatter: axisNum}}, series: series});
  }

  // ---------------------------------------------------------------- before / after
  // Two runs of the same architecture joined by tensor name: overlays by layer, change heatmap, differences table.
  function beforeAfter(d) {
    var A = d.labels[0], B = d.labels[1], kindColour = {};
    function pairStyle(name) { // "kind · label": one colour per kind, the second run dashed
      var kind = name.slice(0, name.lastIndexOf(' · '));
      if (!(kind in kindColour)) kindColour[kind] = PALETTE[Object.keys(kindColour).length % PALETTE.length];
      return {color: kindColour[kind], dashed: name.slice(name.lastIndexOf(' · ') + 3) === B};
    }
    if (d.stats) {
      var a = {}, joined = [];
      d.stats[0].forEach(function (r) { a[r.name] = r; });
      d.stats[1].forEach(function (rb) {
        var ra = a[rb.name];
        if (!ra) return;
        joined.push({name: rb.name, kind: rb.kind, layer: rb.layer, ndim: rb.ndim, role: rb.role, shape: rb.shape,
          std_a: ra.std, std_b: rb.std, std_log2_ratio: ra.std > 0 && rb.std > 0 ? Math.log2(rb.std / ra.std) : null,
          kurtosis_a: ra.kurtosis, kurtosis_b: rb.kurtosis, kurtosis_change: ra.kurtosis != null && rb.kurtosis != null ? rb.kurtosis - ra.kurtosis : null,
          beta_a: ra.beta, beta_b: rb.beta, beta_change: ra.beta != null && rb.beta != null ? rb.beta - ra.beta : null,
          mean_a: ra.mean, mean_b: rb.mean, finding: rb.finding || ''});
      });
      heatmap(document.getElementById('ba-heatmap'), joined, [
        {key: 'std_log2_ratio', label: 'log₂ std ' + B + ' / ' + A}, {key: 'kurtosis_change', label: 'Δ excess kurtosis'},
        {key: 'beta_change', label: 'Δ GG β'}], true);
      var lines = document.getElementById('ba-lines');
      [['std', 'std', true], ['kurtosis', 'excess kurtosis', false], ['beta', 'GG β', false]].forEach(function (m) {
        var series = {};
        [0, 1].forEach(function (i) {
          d.stats[i].forEach(function (r) {
            if (r.layer == null || !isMatrix(r) || r[m[0]] == null) return;
            var k = r.kind + ' · ' + d.labels[i];
            (series[k] = series[k] || []).push([r.layer, r[m[0]], r.name]);
          });
        });
        Object.keys(series).forEach(function (k) { series[k].sort(function (x, y) { return x[0] - y[0]; }); });
        layerLines(lines, m[1] + ' by layer: ' + A + ' (solid) and ' + B + ' (dashed)', m[1], series, {log: m[2], styleOf: pairStyle});
      });
      table(document.getElementById('ba-table'), [
        {key: 'name', label: 'tensor'}, {key: 'kind', label: 'kind'}, {key: 'layer', label: 'layer', num: true}, {key: 'shape', label: 'shape'},
        {key: 'std_a', label: 'std ' + A, num: true}, {key: 'std_b', label: 'std ' + B, num: true}, {key: 'std_log2_ratio', label: 'log₂ ratio', num: true},
        {key: 'kurtosis_a', label: 'kurtosis ' + A, num: true}, {key: 'kurtosis_b', label: 'kurtosis ' + B, num: true},
        {key: 'beta_a', label: 'β ' + A, num: true}, {key: 'beta_b', label: 'β ' + B, num: true},
        {key: 'mean_a', label: 'mean ' + A, num: true}, {key: 'mean_b', label: 'mean ' + B, num: true}, {key: 'finding', label: 'finding (' + B + ')'}],
      joined, {bad: function (r) { return !!r.finding; }});
    }
    if (d.spectrum) {
      var alpha = {};
      [0, 1].forEach(function (i) {
        d.spectrum[i].forEach(function (m) {
          if (m.status !== 'ok' || m.layer == null || m.alpha == null) return;
          var k = m.kind + ' · ' + d.labels[i];
          (alpha[k] = alpha[k] || []).push([m.layer, m.alpha, m.name]);
        });
      });
      Object.keys(alpha).forEach(function (k) { alpha[k].sort(function (x, y) { return x[0] - y[0]; }); });
      layerLines(document.getElementById('ba-spectrum'), 'power-law α by layer: ' + A + ' (solid) and ' + B + ' (dashed); band 2 ≤ α ≤ 6', 'α', alpha,
        {band: [2, 6], bandLabel: '2 ≤ α ≤ 6', styleOf: pairStyle});
    }
  }

  // ---------------------------------------------------------------- federated round
  // Clients as bars (colour = status, metric switch), the per-tensor spread and correction, ε over the DP chain.
  function fedRound(f) {
    var STATUS = {aggregated: '#4e79a7', dropped: '#e15759', not_selected: '#bab0ac'};
    var box = document.getElementById('fed-clients');
    var metrics = [{key: 'weight', label: 'weight pₖ'}, {key: 'update_norm', label: 'update norm ‖Wₖ − W_ref‖'},
      {key: 'cosine_to_mean_update', label: 'cosine to the mean update'}, {key: 'clip_factor', label: 'clip factor'}]
      .filter(function (m) { return f.clients.some(function (c) { return c[m.key] != null; }); });
    if (metrics.length) {
      var c = card(box, 'clients'), bar = toolbar(c), current = metrics[0], ch = chart(c, 320);
      toggle(bar, metrics.map(function (m) { return m.label; }), current.label, function (l) {
        current = metrics.filter(function (m) { return m.label === l; })[0]; draw();
      });
      var draw = function () {
        ch.setOption({animation: false, grid: {left: 70, right: 20, top: 30, bottom: 70},
          tooltip: {trigger: 'item', formatter: function (p) { var r = f.clients[p.dataIndex];
            return r.id + ' (' + r.status + (r.reason ? ': ' + r.reason : '') + ')<br>' + current.label + ' ' + fmt(r[current.key]); }},
          xAxis: {type: 'category', data: f.clients.map(function (r) { return r.id; }), axisLabel: {rotate: f.clients.length > 8 ? 45 : 0}},
          yAxis: {type: 'value', name: current.label, scale: current.key === 'cosine_to_mean_update', axisLabel: {formatter: axisNum}},
          series: [{type: 'bar', data: f.clients.map(function (r) {
            return {value: r[current.key] == null ? null : r[current.key], itemStyle: {color: STATUS[r.status] || '#9c755f'}}; })}]}, true);
      };
      draw();
      c.appendChild(el('div', {'class': 'note'}, 'blue: aggregated · red: dropped · grey: not selected by the robust selector'));
    }
    table(document.getElementById('fed-client-table'), [
      {key: 'id', label: 'client'}, {key: 'status', label: 'status'}, {key: 'examples', label: 'examples', num: true},
      {key: 'weight', label: 'weight', num: true}, {key: 'update_norm', label: 'update norm', num: true},
      {key: 'cosine_to_mean_update', label: 'cosine to mean', num: true}, {key: 'clip_factor', label: 'clip factor', num: true},
      {key: 'reason', label: 'why dropped'}],
      f.clients, {bad: function (r) { return r.status === 'dropped'; }});
    var tbox = document.getElementById('fed-tensors');
    var rows = f.tensors || [];
    if (f.lora) {
      var lc = card(tbox, 'relative residual of the aggregate per module'), lch = chart(lc, 300);
      lch.setOption({animation: false, grid: {left: 70, right: 20, top: 20, bottom: 40}, tooltip: {trigger: 'item',
          formatter: function (p) { return rows[p.dataIndex].module + '<br>' + fmt(p.data[1]); }},
        xAxis: {type: 'value', name: 'module', minInterval: 1}, yAxis: {type: 'value', axisLabel: {formatter: axisNum}},
        series: [{type: 'scatter', data: rows.map(function (r, i) { return [i, r.relative_residual]; })}]});
      table(document.getElementById('fed-tensor-table'), [{key: 'module', label: 'module'}, {key: 'r', label: 'r', num: true},
        {key: 'scaling', label: 'scaling', num: true}, {key: 'exact_update_norm', label: 'update norm', num: true},
        {key: 'relative_residual', label: 'relative residual', num: true}], rows, {});
    } else {
      var named = rows.map(function (r) { var m = /\.(\d+)\./.exec(r.name); return {r: r, layer: m ? Number(m[1]) : null}; });
      var series = {};
      named.forEach(function (n) {
        // weight matrices only: biases and norm vectors move on other scales and would crowd the plot (all are in the table)
        if (n.layer == null || !(n.r.client_spread > 0) || !/\.weight$/.test(n.r.name) || /norm/i.test(n.r.name)) return;
        var kind = n.r.name.replace(/^.*\.\d+\./, '').replace(/\.(weight|bias)$/, '');
        (series[kind] = series[kind] || []).push([n.layer, n.r.client_spread, n.r.name]);
      });
      Object.keys(series).forEach(function (k) { series[k].sort(function (x, y) { return x[0] - y[0]; }); });
      if (Object.keys(series).length) layerLines(tbox, 'client spread of the weight matrices by layer (weighted variance of the clients around the aggregate, per element)', 'spread', series, {log: true});
      var corrected = rows.filter(function (r) { return r.correction_scale != null && r.correction_scale !== 1; });
      if (corrected.length) {
        var cc = card(tbox, 'variance correction: scale applied around the mean'), cch = chart(cc, 280);
        cch.setOption({animation: false, grid: {left: 70, right: 20, top: 20, bottom: 40}, tooltip: {trigger: 'item',
            formatter: function (p) { return corrected[p.dataIndex].name + '<br>' + fmt(p.data[1]); }},
          xAxis: {type: 'value', name: 'tensor', minInterval: 1}, yAxis: {type: 'value', scale: true, axisLabel: {formatter: axisNum}},
          series: [{type: 'scatter', data: corrected.map(function (r, i) { return [i, r.correction_scale]; })}]});
      }
      table(document.getElementById('fed-tensor-table'), [{key: 'name', label: 'tensor'}, {key: 'elements', label: 'elements', num: true},
        {key: 'client_spread', label: 'client spread', num: true}, {key: 'mean_update_norm', label: 'update norm', num: true},
        {key: 'variance_before', label: 'variance before', num: true}, {key: 'variance_target', label: 'variance target', num: true},
        {key: 'correction_scale', label: 'correction', num: true}], rows, {});
    }
    if (f.privacy && f.privacy.length) {
      var pc = card(document.getElementById('fed-privacy'), 'ε of the chain after each DP round (RDP accountant)'), pch = chart(pc, 280);
      pch.setOption({animation: false, grid: {left: 70, right: 20, top: 20, bottom: 40}, tooltip: {trigger: 'item',
          formatter: function (p) { var r = f.privacy[p.dataIndex]; return 'round ' + r.round + '<br>ε ' + fmt(r.epsilon) + ', z ' + fmt(r.noise_multiplier) + ', q ' + fmt(r.sampling_rate); }},
        xAxis: {type: 'category', name: 'round', data: f.privacy.map(function (r) { return String(r.round); })},
        yAxis: {type: 'value', name: 'ε', axisLabel: {formatter: axisNum}},
        series: [{type: 'line', symbolSize: 8, data: f.privacy.map(function (r) { return r.epsilon; })}]});
    }
  }

  // ---------------------------------------------------------------- merge
  // Per input model (one line each): task-vector norm and kept fraction by layer; SLERP's cosine by layer per module
  // kind; every merged tensor in the table with its parameters as resolved.
  function merge(m) {
    var box = document.getElementById('merge-layers');
    function present(key) { return function (r) { return r[key] != null; }; }
    if (box) {
      var norms = byLayer(m.layers, 'task_vector_norm', present('task_vector_norm'));
      if (Object.keys(norms).length) layerLines(box, 'task-vector norm ‖x_i − base‖ by layer (√ of Σ ‖τ‖² over the layer\'s tensors)', '‖τ‖', norms, {});
      var kept = byLayer(m.layers, 'kept_fraction', present('kept_fraction'));
      if (Object.keys(kept).length) layerLines(box, 'kept fraction of each task vector by layer (mean over the layer\'s tensors)', 'kept fraction', kept, {});
      var cos = byLayer(m.tensors, 'cosine_base_model', present('cosine_base_model'));
      if (Object.keys(cos).length) layerLines(box, 'cosine(base, model) by layer, one line per module kind', 'cosine', cos, {});
    }
    var has = function (key) { return m.tensors.some(function (r) { return r[key] != null; }); };
    var columns = [{key: 'name', label: 'tensor'}, {key: 'kind', label: 'kind'}, {key: 'layer', label: 'layer', num: true}, {key: 'method', label: 'method'}];
    m.models.forEach(function (label, i) {
      if (has('norm_' + (i + 1))) columns.push({key: 'norm_' + (i + 1), label: '‖τ‖ ' + label, num: true, title: 'task-vector norm of ' + label});
    });
    m.models.forEach(function (label, i) {
      if (has('kept_' + (i + 1))) columns.push({key: 'kept_' + (i + 1), label: 'kept ' + label, num: true, title: 'kept fraction of ' + label});
    });
    if (has('cosine_base_model')) columns.push({key: 'cosine_base_model', label: 'cosine(base, model)', num: true});
    columns.push({key: 'parameters', label: 'parameters as resolved'});
    if (has('source')) columns.push({key: 'source', label: 'source'}, {key: 'why', label: 'why'});
    table(document.getElementById('merge-table'), columns, m.tensors, {});
  }

  // ---------------------------------------------------------------- fleet
  // Many checkpoints: trends on a step axis (lines) when every checkpoint has a step, else points per checkpoint;
  // layer x checkpoint heatmaps; every checkpoint in a table whose rows (and the findings' rows) open its details.
  function fleet(f) {
    var cks = f.checkpoints, steps = cks.length > 0 && cks.every(function (c) { return c.step != null; });
    var models = {};
    cks.forEach(function (c) { models[c.model] = 1; });
    var multi = Object.keys(models).length > 1;
    var index = {};
    cks.forEach(function (c, i) { index[c.uri] = i; });
    function x(r) { return steps ? r.step : index[r.uri]; }
    function label(c) { return (multi ? c.model + ' · ' : '') + (c.step != null ? 'step ' + c.step : leaf(c.uri)); }
    // one series per module kind (and model, when there are several) of a metric over the checkpoints
    function trend(box, rows, key, title, opts) {
      var s = {};
      rows.forEach(function (r) {
        if (r[key] == null || index[r.uri] == null) return;
        var k = (multi ? r.model + ' · ' : '') + r.name;
        (s[k] = s[k] || []).push([x(r), r[key], label(cks[index[r.uri]])]);
      });
      Object.keys(s).forEach(function (k) { s[k].sort(function (a, b) { return a[0] - b[0]; }); });
      var o = {xname: steps ? 'step' : 'checkpoint', scatter: !steps};
      Object.keys(opts || {}).forEach(function (k) { o[k] = opts[k]; });
      layerLines(box, title + ' by ' + (steps ? 'step' : 'checkpoint (unrelated: points, not lines)') + ', one series per module kind', title, s, o);
    }
    // layer x checkpoint, a metric toggle, outliers beyond 3 IQR at the scale's end
    function grid(container, rows, keys, keyField, metrics) {
      var bar = toolbar(container), current = metrics[0];
      bar.appendChild(el('span', null, 'metric:'));
      toggle(bar, metrics.map(function (m) { return m[1]; }), current[1], function (l) {
        current = metrics.filter(function (m) { return m[1] === l; })[0]; draw();
      });
      var ch = chart(container, 420);
      function draw() {
        var data = [], vals = [];
        rows.forEach(function (r) {
          var v = r[current[0]];
          if (v == null || index[r.uri] == null) return;
          vals.push(v);
          data.push({value: [index[r.uri], keys.indexOf(String(r[keyField])), v], raw: v});
        });
        var fe = fences(vals, false), lo = vals.length ? Math.min.apply(null, vals) : 0, hi = vals.length ? Math.max.apply(null, vals) : 1;
        if (fe) { lo = fe.lo; hi = fe.hi; }
        data.forEach(function (d) { if (d.raw > hi || d.raw < lo) { d.value[2] = d.raw > hi ? hi : lo; d.label = {show: true, formatter: '▲', color: '#fff'}; } });
        if (lo === hi) hi = lo + 1;
        ch.setOption({animation: false, grid: {left: 130, right: 90, top: 10, bottom: 70},
          tooltip: {formatter: function (p) { return cks[p.data.value[0]].uri + '<br>' + keys[p.data.value[1]] + ': ' + current[1] + ' ' + fmt(p.data.raw); }},
          xAxis: {type: 'category', data: cks.map(label), name: steps ? 'step' : 'checkpoint', nameLocation: 'middle', nameGap: 50,
            axisLabel: {rotate: cks.length > 8 ? 45 : 0}},
          yAxis: {type: 'category', data: keys},
          visualMap: {min: lo, max: hi, calculable: true, right: 0, top: 'center', inRange: {color: ['#f7fbff', '#9ecae1', '#3182bd', '#08306b']}, formatter: axisNumFor([lo, hi])},
          series: [{type: 'heatmap', data: data}]}, true);
        ch.off('click');
        ch.on('click', function (p) { detail(cks[p.data.value[0]]); });
      }
      draw();
    }
    if (f.kinds) {
      var box = document.getElementById('fleet-trends');
      trend(box, f.kinds, 'std', 'std');
      trend(box, f.kinds, 'kurtosis_excess', 'excess kurtosis');
      trend(box, f.kinds, 'outlier_ratio', 'max|x| / std');
      grid(document.getElementById('fleet-heatmap'), f.layers, f.layer_keys, 'name', [['std', 'std'], ['kurtosis_excess', 'excess kurtosis']]);
    }
    if (f.alpha_kinds) trend(document.getElementById('fleet-alpha'), f.alpha_kinds, 'alpha', 'median α', {band: [2, 6], bandLabel: '2 ≤ α ≤ 6'});
    if (f.changes) grid(document.getElementById('fleet-change'), f.changes, f.change_keys, 'layer', [['rel_delta', 'rel_delta'], ['rotation', 'rotation']]);

    var rows = cks.map(function (c) {
      var r = {}; Object.keys(c).forEach(function (k) { r[k] = c[k]; });
      if (f.kinds) r.nonfinite = (c.nan_count || 0) + (c.inf_count || 0);
      return r;
    });
    var cols = [{key: 'model', label: 'model'}, {key: 'step', label: 'step', num: true}, {key: 'uri', label: 'checkpoint'}];
    if (f.kinds) cols.push({key: 'tensors', label: 'tensors', num: true}, {key: 'elements', label: 'elements', num: true},
      {key: 'std', label: 'std', num: true}, {key: 'kurtosis_excess', label: 'excess kurtosis', num: true},
      {key: 'outlier_ratio', label: 'max|x| / std', num: true}, {key: 'nonfinite', label: 'NaN/Inf', num: true, title: 'NaN and ±Inf values'});
    if (f.matrices) cols.push({key: 'matrices', label: 'matrices', num: true, title: 'matrices analysed'},
      {key: 'alpha_median', label: 'median α', num: true}, {key: 'alpha_out', label: 'α outside [2, 6]', num: true});
    if (f.changes) cols.push({key: 'rel_delta_max', label: 'largest layer rel_delta', num: true}, {key: 'rel_delta_max_layer', label: 'in layer'},
      {key: 'against', label: 'against'});
    table(document.getElementById('fleet-table'), cols, rows,
      // red for NaN/Inf only: most real checkpoints have some matrix with α outside [2, 6], which has its own column and table
      {bad: function (r) { return r.nonfinite > 0; }, onRow: function (r) { detail(cks[index[r.uri]]); }});
    Array.prototype.forEach.call(document.querySelectorAll('#fleet tr[data-uri]'), function (tr) {
      tr.classList.add('clickable');
      tr.addEventListener('click', function () { detail(cks[index[tr.getAttribute('data-uri')]]); });
    });

    // a checkpoint's details: its files in each dataset, then its layers, matrices and changes, each in a table
    function detail(c) {
      var box = document.getElementById('fleet-detail');
      box.innerHTML = '';
      box.setAttribute('data-uri', c.uri);
      box.appendChild(el('h2', null, 'Checkpoint ' + label(c)));
      var facts = el('table', {'class': 'facts'});
      function fact(k, v) { var tr = el('tr'); tr.appendChild(el('th', {'class': 'l'}, k)); var td = el('td'); tr.appendChild(td); facts.appendChild(tr); return td; }
      fact('checkpoint').textContent = c.uri;
      if (c.against) fact('compared against').textContent = c.against;
      Object.keys(c.files || {}).forEach(function (job) {
        var p = c.files[job], td = fact(job + ' rows');
        td.appendChild(/^file:/.test(p) ? el('a', {href: p}, p) : el('span', null, p));
      });
      box.appendChild(facts);
      function part(title, id, columns, rs) {
        if (!rs.length) return;
        box.appendChild(el('h3', null, title));
        var t = el('div', {id: id, 'class': 'table-box'});
        box.appendChild(t);
        table(t, columns, rs);
      }
      function mine(list) { return (list || []).filter(function (r) { return r.uri === c.uri; }); }
      part('Layers (stats)', 'fleet-detail-layers', [{key: 'name', label: 'layer'}, {key: 'std', label: 'std', num: true},
        {key: 'kurtosis_excess', label: 'excess kurtosis', num: true}], mine(f.layers));
      part('Matrices (spectrum)', 'fleet-detail-matrices', [{key: 'name', label: 'matrix'}, {key: 'module_kind', label: 'module kind'},
        {key: 'alpha', label: 'α', num: true}, {key: 'alpha_status', label: 'α status'}, {key: 'stable_rank', label: 'stable rank', num: true},
        {key: 'log_spectral_norm', label: 'log₁₀ λ_max', num: true}, {key: 'status', label: 'status'}], mine(f.matrices));
      part('Layers (compare)', 'fleet-detail-changes', [{key: 'layer', label: 'layer'}, {key: 'rel_delta', label: 'rel_delta', num: true},
        {key: 'rotation', label: 'rotation', num: true}, {key: 'tensors', label: 'tensors', num: true}], mine(f.changes));
      box.scrollIntoView();
    }
  }

  // lr-scales: SGD-SaI's scale (and g-SNR) of each block by layer, one line per module kind; every block in the table
  function lrScales(d) {
    var metrics = [{key: 'lr_scale', label: 'learning-rate scale'}, {key: 'gsnr', label: 'g-SNR ‖g‖ / (std + ε)'}];
    var box = document.getElementById('lr-layers');
    metrics.forEach(function (m) {
      var series = {};
      d.blocks.forEach(function (b) {
        var layer = /\.(\d+)\./.exec(b.name);
        if (!layer) return;
        var kind = b.name.replace(/^.*\.\d+\./, '').replace(/\.weight$/, '');
        (series[kind] = series[kind] || []).push([Number(layer[1]), b[m.key], b.name]);
      });
      Object.keys(series).forEach(function (k) { series[k].sort(function (x, y) { return x[0] - y[0]; }); });
      if (Object.keys(series).length) layerLines(box, m.label + ' by layer', m.key, series, {log: true});
    });
    table(document.getElementById('lr-table'), [{key: 'name', label: 'block'}, {key: 'elements', label: 'elements', num: true},
      {key: 'grad_norm', label: '‖g‖', num: true}, {key: 'grad_std', label: 'std(g)', num: true}, {key: 'gsnr', label: 'g-SNR', num: true},
      {key: 'lr_scale', label: 'scale', num: true}, {key: 'lr', label: 'lr', num: true}],
      d.blocks, {bad: function (r) { return r.lr_scale === 0; }});
  }

  // merge --screen: every candidate with its whole-model scores, in rank order
  function screen(d) {
    var cols = [{key: 'rank', label: 'rank', num: true}, {key: 'name', label: 'candidate'},
      {key: 'method', label: 'method'}, {key: 'score', label: 'score', num: true, title: 'the --rank-by score'},
      {key: 'mean_cosine', label: 'mean cos(Δ, τ)', num: true}, {key: 'min_cosine', label: 'min cos(Δ, τ)', num: true},
      {key: 'min_sign_agreement', label: 'min sign agreement', num: true}, {key: 'rel_change', label: '‖Δ‖ / ‖base‖', num: true}];
    // --spectra-alpha: the merged matrices' WeightWatcher α
    if (d.candidates.some(function (c) { return c.mean_alpha != null; })) {
      cols.push({key: 'mean_alpha', label: 'mean α', num: true, title: 'mean WeightWatcher α of the merged matrices'},
        {key: 'alpha_out_of_range', label: 'α outside [2, 6]', num: true, title: 'merged matrices whose α is outside [2, 6]'});
    }
    cols.push({key: 'top_dir', label: 'written to'});
    table(document.getElementById('screen-table'), cols, d.candidates, {sortKey: 'rank', sortDir: 1});
  }

  try {
    if (DATA.kind === 'before-after') beforeAfter(DATA);
    if (DATA.stats && DATA.kind !== 'before-after') stats(DATA.stats);
    if (DATA.spectrum && DATA.kind !== 'before-after') spectrum(DATA.spectrum, DATA.stats ? DATA.stats.tensors : null);
    if (DATA.compare) compare(DATA.compare);
    if (DATA.fed) fedRound(DATA.fed);
    if (DATA.merge) merge(DATA.merge);
    if (DATA.fleet) fleet(DATA.fleet);
    if (DATA.lr) lrScales(DATA.lr);
    if (DATA.screen) screen(DATA.screen);
    document.body.setAttribute('data-report-ready', 'true');
  } catch (e) {
    document.body.setAttribute('data-report-error', String(e));
    throw e;
  }
})();
