// The status page's only script (inline; the page's Content-Security-Policy allows it by its hash
// and nothing else). It draws the timeline from the compact JSON the page embeds:
//   - an overview canvas with one bar per VM step, every VM a thin row (aggregated by the pixels),
//     and the number of bars drawn written where a person (and a test) reads it;
//   - a detail list, one row per VM with one SVG bar per step, virtualised: only the rows in view
//     are in the DOM, redrawn on scroll; filters by wave and "needs a person".
// Every foreign string reaches the DOM through textContent, never as markup.

/** The script's source, as the page embeds it. */
export const PAGE_SCRIPT = String.raw`(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("timeline-data").textContent);
  var STEP_COLOURS = {
    reboot: "#7b3294", backup: "#1f5fa6", scratch: "#8c510a", attach: "#a6611a",
    repair: "#c2491d", fixed: "#1b7837", restored: "#1b7837", swap: "#00695c", rollback: "#5e3c99"
  };
  var FAILED = "#b00020";
  var span = Math.max(1, data.span);
  var vms = data.rows.map(function (r) {
    var bars = [];
    for (var i = 3; i + 3 < r.length; i += 4) {
      bars.push({ step: data.steps[r[i]], start: r[i + 1], end: r[i + 2], failed: r[i + 3] === 1 });
    }
    return { label: r[0], wave: r[1], state: data.states[r[2]], bars: bars };
  });
  var totalBars = vms.reduce(function (n, v) { return n + v.bars.length; }, 0);
  function fmt(n) { return Number(n).toLocaleString("en-US"); }
  function dur(s) {
    s = Math.max(0, Math.round(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
    if (h > 0) return h + " h " + m + " min";
    if (m > 0) return x ? m + " min " + x + " s" : m + " min";
    return x + " s";
  }
  function barEnd(b) { return b.end >= 0 ? b.end : span; }

  // The overview: every bar of every VM.
  var canvas = document.getElementById("timeline-overview");
  function drawOverview() {
    var ratio = window.devicePixelRatio || 1;
    var width = Math.max(200, canvas.clientWidth);
    var height = Math.max(60, Math.min(480, vms.length * 4));
    canvas.style.height = height + "px";
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    var g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, width, height);
    var rowH = height / Math.max(1, vms.length);
    var drawn = 0;
    for (var i = 0; i < vms.length; i++) {
      var v = vms[i];
      for (var j = 0; j < v.bars.length; j++) {
        var b = v.bars[j];
        var start = b.start >= 0 ? b.start : barEnd(b);
        var x = (start / span) * width;
        var w = Math.max(1, ((barEnd(b) - start) / span) * width);
        g.fillStyle = b.failed ? FAILED : STEP_COLOURS[b.step] || "#444444";
        g.fillRect(x, i * rowH, w, Math.max(1, rowH));
        drawn++;
      }
    }
    canvas.setAttribute("data-bars-drawn", String(drawn));
    document.getElementById("timeline-drawn").textContent =
      "Overview drawn: " + fmt(drawn) + " bars for " + fmt(totalBars) + " steps of " + fmt(vms.length) + " VMs.";
  }

  // The detail: one row per VM, only the rows in view.
  var ROW = 20, LABEL = 300, PAD = 6, LABEL_CHARS = 44;
  var box = document.getElementById("timeline-detail");
  var spacer = document.getElementById("timeline-spacer");
  var waveSelect = document.getElementById("timeline-wave");
  var onlyPerson = document.getElementById("timeline-person");
  var shownText = document.getElementById("timeline-shown");
  var NS = "http://www.w3.org/2000/svg";
  var rows = vms;
  var svg = null;
  function applyFilter() {
    var wave = waveSelect.value;
    rows = vms.filter(function (v) {
      return (wave === "all" || String(v.wave) === wave) && (!onlyPerson.checked || v.state === "needs-person");
    });
    spacer.style.height = Math.max(ROW, rows.length * ROW) + "px";
    box.scrollTop = 0;
    drawDetail();
  }
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function drawDetail() {
    var width = Math.max(LABEL + 100, box.clientWidth - 2);
    var first = Math.max(0, Math.floor(box.scrollTop / ROW) - PAD);
    var last = Math.min(rows.length, Math.ceil((box.scrollTop + box.clientHeight) / ROW) + PAD);
    if (svg) svg.remove();
    svg = el("svg", { width: width, height: Math.max(1, (last - first) * ROW), role: "img", "class": "detail-svg" });
    svg.style.top = first * ROW + "px";
    var plot = width - LABEL - 8;
    var bars = 0;
    for (var i = first; i < last; i++) {
      var v = rows[i];
      var y = (i - first) * ROW;
      var row = el("g", { "data-row": i, "data-bars": v.bars.length, "data-label": v.label, "class": "row " + v.state });
      // A long label is cut to its column; the row's bars' tooltips carry it whole.
      var shown = v.label.length > LABEL_CHARS ? v.label.slice(0, LABEL_CHARS - 1) + "\u2026" : v.label;
      row.appendChild(el("text", { x: 4, y: y + 14, "class": v.state === "needs-person" ? "label person" : "label" }, shown));
      for (var j = 0; j < v.bars.length; j++) {
        var b = v.bars[j];
        var start = b.start >= 0 ? b.start : barEnd(b);
        var rect = el("rect", {
          x: (LABEL + (start / span) * plot).toFixed(1), y: y + 3,
          width: Math.max(2, ((barEnd(b) - start) / span) * plot).toFixed(1), height: ROW - 6,
          fill: b.failed ? FAILED : STEP_COLOURS[b.step] || "#444444", "class": "bar"
        });
        rect.appendChild(el("title", {}, v.label + ": " + b.step + (b.failed ? " failed" : "") + ", " +
          (b.start >= 0 ? dur(b.start) : "?") + " to " + (b.end >= 0 ? dur(b.end) : "still running")));
        row.appendChild(rect);
        bars++;
      }
      svg.appendChild(row);
    }
    svg.setAttribute("aria-label", "Steps of VMs " + fmt(first + 1) + " to " + fmt(last) + " of " + fmt(rows.length) + ": " + fmt(bars) + " bars");
    svg.setAttribute("data-bars", String(bars));
    box.appendChild(svg);
    shownText.textContent = rows.length === 0 ? "No VM matches." :
      "Showing VMs " + fmt(first + 1) + " to " + fmt(last) + " of " + fmt(rows.length) + " (" + fmt(bars) + " bars); scroll for more.";
  }
  var pending = false;
  box.addEventListener("scroll", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; drawDetail(); });
  });
  waveSelect.addEventListener("change", applyFilter);
  onlyPerson.addEventListener("change", applyFilter);
  window.addEventListener("resize", function () { drawOverview(); drawDetail(); });
  document.getElementById("timeline-controls").hidden = false;
  drawOverview();
  applyFilter();
  document.body.setAttribute("data-ready", "1");
})();`;
