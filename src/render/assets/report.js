// distlab report: draws the space-time diagram of each panel from the run
// embedded as JSON. Only the time window on screen is drawn, and it is
// redrawn on scroll and zoom, so very long runs stay fast. No network access.
"use strict";
(function () {
  var NS = "http://www.w3.org/2000/svg";
  var TOP = 46, BOTTOM = 30, AXIS = 62, CH = 6.7;
  var MAX_ARROWS = 2500;       // more than this in view: draw a density summary
  var MAX_HEIGHT = 15e6;       // px: browsers cap how tall an element may be
  var KIND = ["arrived", "down", "dropped", "partitioned", "hidden", "inflight"];
  var MARK = ["crash", "restart", "timer", "call", "return", "note"];
  var GLYPH = ["\u2573", "\u21bb", "\u25f7", "\u25c6", "\u25c7", "\u2022"];
  var tip = document.getElementById("tip");
  var panels = [];
  var syncing = false;

  function fmt(us) {
    var ms = Math.floor(us / 1000), f = us % 1000;
    if (f === 0) return ms + "ms";
    return ms + "." + String(f).padStart(3, "0").replace(/0+$/, "") + "ms";
  }

  // Axis labels: whole seconds once ticks are a second apart or more.
  function fmtAxis(us, step) {
    if (step >= 1e6) return (us / 1e6).toLocaleString("en", { maximumFractionDigits: 3 }) + "s";
    return fmt(us);
  }

  function add(parent, name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    parent.appendChild(e);
    return e;
  }

  // First index in the sorted array `a` whose key is >= t.
  function lowerBound(a, key, t) {
    var lo = 0, hi = a.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (key(a[mid]) < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function Panel(root, d) {
    var self = this;
    this.root = root;
    this.d = d;
    this.sc = root.querySelector(".scroller");
    this.spacer = root.querySelector(".spacer");
    this.svg = root.querySelector("svg.diagram");
    this.end = Math.max(d.end, 1);
    // How long any arrow stays on screen, to find those sent before the window.
    this.maxSpan = 0;
    d.a.forEach(function (a) {
      var last = a[3] <= 1 ? a[4] : a[3] === 5 ? d.end : a[2];
      self.maxSpan = Math.max(self.maxSpan, last - a[2]);
    });
    // Down periods: from each crash to the node's next restart, or the end.
    this.down = [];
    var since = {};
    d.m.forEach(function (m) {
      if (m[2] === 0) since[m[1]] = m[0];
      if (m[2] === 1 && since[m[1]] !== undefined) {
        self.down.push([m[1], since[m[1]], m[0]]);
        delete since[m[1]];
      }
    });
    Object.keys(since).forEach(function (n) { self.down.push([+n, since[n], d.end]); });
    this.pending = false;
    this.sc.addEventListener("scroll", function () {
      self.request();
      if (!syncing) {
        syncing = true;
        panels.forEach(function (p) { if (p !== self) p.sc.scrollTop = self.sc.scrollTop; });
        syncing = false;
      }
    });
    this.sc.addEventListener("wheel", function (e) {
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        zoom(e.deltaY < 0 ? 1.25 : 0.8, self, e.clientY);
      }
    }, { passive: false });
    this.svg.addEventListener("mousemove", function (e) { showTip(e); });
    this.svg.addEventListener("mouseleave", function () { tip.hidden = true; });
  }

  Panel.prototype.viewHeight = function () { return Math.max(this.sc.clientHeight, 200); };
  Panel.prototype.fitScale = function () { return (this.viewHeight() - TOP - BOTTOM) / this.end; };
  Panel.prototype.maxScale = function () { return Math.min(0.4, MAX_HEIGHT / this.end); };
  // About 24 px per event on average, but never less than the whole run.
  Panel.prototype.defaultScale = function () {
    var events = this.d.a.length + this.d.m.length;
    return Math.min(this.maxScale(), Math.max(this.fitScale(), events * 24 / this.end));
  };
  Panel.prototype.request = function () {
    var self = this;
    if (this.pending) return;
    this.pending = true;
    window.requestAnimationFrame(function () { self.pending = false; self.draw(); });
  };

  Panel.prototype.columns = function (width) {
    var n = this.d.nodes.length;
    var room = Math.min(260, Math.max(60, width * 0.26));
    var left = AXIS + (n > 1 ? room : 0), right = width - (n > 1 ? room : 0) - 12;
    if (n === 1) return [(AXIS + width) / 2];
    var xs = [];
    for (var i = 0; i < n; i++) xs.push(left + (right - left) * i / (n - 1));
    return xs;
  };

  // The x where a partition cut the path from `f` to `t`: the edge of the
  // first band in the way that was up when the message left.
  Panel.prototype.cutAt = function (f, t, sent, xs) {
    var lo = Math.min(f, t), hi = Math.max(f, t);
    for (var i = 0; i < this.d.p.length; i++) {
      var b = this.d.p[i];
      if (sent < b[0] || sent >= b[1]) continue;
      var gaps = this.gutters(b);
      var order = f < t ? gaps : gaps.slice().reverse();
      for (var k = 0; k < order.length; k++) {
        var g = order[k];
        if (g >= lo && g < hi) {
          var r = this.bandRect(g, xs);
          return f < t ? r[0] : r[1];
        }
      }
    }
    return xs[f] + (xs[t] - xs[f]) * 0.45;
  };
  // The gaps between neighbouring node lines that a partition separates.
  Panel.prototype.gutters = function (b) {
    var out = [];
    for (var g = 0; g + 1 < this.d.nodes.length; g++) {
      var left = function (n) { return n <= g; };
      var cut = (b[2].some(left) && b[3].some(function (n) { return !left(n); })) ||
                (b[3].some(left) && b[2].some(function (n) { return !left(n); }));
      if (cut) out.push(g);
    }
    return out;
  };
  Panel.prototype.bandRect = function (g, xs) {
    var w = xs[g + 1] - xs[g];
    return [xs[g] + w * 0.4, xs[g + 1] - w * 0.4];
  };

  Panel.prototype.arrowTip = function (a) {
    var d = this.d, s = d.s;
    var lines = [s[a[5]] + (a[8] ? "   (a copy made by the network)" : ""),
      d.nodes[a[0]] + " \u2192 " + d.nodes[a[1]] + "   message #" + a[7],
      "sent " + fmt(a[2]) + "; the network: " + s[a[6]]];
    var k = a[3];
    if (k === 0) lines.push("arrived " + fmt(a[4]) + " (after " + fmt(a[4] - a[2]) + ")");
    if (k === 1) lines.push("reached " + d.nodes[a[1]] + " at " + fmt(a[4]) + " while it was down: lost");
    if (k === 2) lines.push("lost: the network dropped it");
    if (k === 3) lines.push("lost: cut by a partition");
    if (k === 4) lines.push("when it arrives, and what happens then, is for you to work out");
    if (k === 5) lines.push("still in flight when the run ended at " + fmt(d.end) + " (due " + fmt(a[4]) + ")");
    return lines.join("\n");
  };

  Panel.prototype.draw = function () {
    var started = performance.now();
    var self = this, d = this.d, svg = this.svg;
    var W = this.sc.clientWidth, H = this.viewHeight();
    if (!this.scale) this.scale = this.defaultScale();
    var scale = this.scale;
    this.spacer.style.height = Math.ceil(TOP + this.end * scale + BOTTOM) + "px";
    var top = this.sc.scrollTop;
    svg.style.top = top + "px";
    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    var y = function (t) { return TOP + t * scale - top; };
    var t0 = (top - TOP) / scale, t1 = (top + H - TOP) / scale;
    var xs = this.columns(W);
    svg.textContent = "";
    var defs = add(svg, "defs", {});
    var pat = add(defs, "pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
    add(pat, "rect", { width: 6, height: 6, fill: "#8e44ad", "fill-opacity": "0.07" });
    add(pat, "line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#8e44ad", "stroke-opacity": "0.35", "stroke-width": 2 });
    [["arrow", "#2b5797"], ["arrow-copy", "#b86e00"]].forEach(function (m) {
      var mk = add(defs, "marker", { id: m[0], viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" });
      add(mk, "path", { d: "M0,1 L10,5 L0,9 z", fill: m[1] });
    });

    // The time axis: a tick every 1, 2 or 5 times a power of ten, 56 px apart or more.
    var step = 1;
    while (step * scale < 56) {
      var s = String(step)[0];
      step = s === "1" ? step * 2 : s === "2" ? step * 2.5 : step * 2;
    }
    var ticks = add(svg, "g", { "class": "ticks" });
    for (var t = Math.max(0, Math.floor(t0 / step) * step); t <= Math.min(t1, this.end); t += step) {
      var g = add(ticks, "g", { "class": "tick" });
      add(g, "line", { x1: AXIS, x2: W, y1: y(t), y2: y(t) });
      add(g, "text", { x: AXIS - 6, y: y(t) + 3 }, fmtAxis(t, step));
    }
    var scaleText = this.root.closest(".run");
    if (scaleText) {
      var sp = scaleText.querySelector(".toolbar .scale");
      if (sp) sp.textContent = "a tick every " + fmtAxis(step, step);
    }

    // Partition bands, under everything else.
    var bands = add(svg, "g", { "class": "bands" });
    d.p.forEach(function (b) {
      var until = Math.min(b[1], d.end);
      if (until < t0 || b[0] > t1) return;
      self.gutters(b).forEach(function (g) {
        var r = self.bandRect(g, xs);
        var bg = add(bands, "g", { "class": "band", "data-tip": "partition " + d.s[b[5]] + "\nfrom " + fmt(b[0]) + " to " + fmt(b[1]) + (b[4] ? "" : "\n(one way: the other direction still works)") });
        add(bg, "rect", { x: r[0], y: y(b[0]), width: r[1] - r[0], height: Math.max(2, (until - b[0]) * scale) });
      });
    });

    // One line per node; dashed while the node is down.
    var nodes = add(svg, "g", { "class": "nodes" });
    var yEnd = y(d.end);
    d.nodes.forEach(function (name, i) {
      var g = add(nodes, "g", { "class": "node", "data-node": name });
      add(g, "line", { "class": "node-line", x1: xs[i], x2: xs[i], y1: Math.max(y(0), 0), y2: Math.min(yEnd, H) });
      self.down.forEach(function (dn) {
        if (dn[0] !== i) return;
        add(g, "line", { "class": "node-down", x1: xs[i], x2: xs[i], y1: y(dn[1]), y2: y(dn[2]) });
        add(g, "rect", { x: xs[i] - 3, y: y(dn[1]), width: 6, height: Math.max(1, (dn[2] - dn[1]) * scale), fill: "#fbfcfe" });
        add(g, "line", { "class": "node-down", x1: xs[i], x2: xs[i], y1: y(dn[1]), y2: y(dn[2]) });
      });
    });
    if (yEnd >= 0 && yEnd <= H) {
      add(svg, "line", { "class": "endline", x1: AXIS, x2: W, y1: yEnd, y2: yEnd });
      add(svg, "text", { "class": "endtext", x: AXIS + 4, y: yEnd + 14 }, "end of run, " + fmt(d.end));
    }

    // The arrows in the window: sent before its end, and still in view.
    var first = lowerBound(d.a, function (a) { return a[2]; }, t0 - this.maxSpan - 1);
    var visible = [];
    for (var i = first; i < d.a.length && d.a[i][2] <= t1; i++) {
      var a = d.a[i], k = a[3];
      var last = k <= 1 ? a[4] : k === 5 ? d.end : a[2];
      if (last >= t0 - 20 / scale) visible.push(a);
    }
    var m0 = lowerBound(d.m, function (m) { return m[0]; }, t0 - 20 / scale);
    var m1 = lowerBound(d.m, function (m) { return m[0]; }, t1 + 20 / scale);
    var arrowsG = add(svg, "g", { "class": "arrows" });
    var labelsG = add(svg, "g", { "class": "labels" });
    var marks = add(svg, "g", { "class": "marks" });
    var dense = visible.length > MAX_ARROWS;
    // Labels only where rows have room for them, and only where they overlap
    // no other label (crashes and restarts first); hovering shows the rest.
    var labels = !dense && (visible.length + (m1 - m0)) * 15 <= H * 1.3;
    this.placed = [];
    var order = [];
    for (var j = m0; j < m1; j++) order.push(j);
    order.sort(function (p, q) { return (d.m[p][2] > 1) - (d.m[q][2] > 1) || p - q; });
    order.forEach(function (j) {
      var m = d.m[j];
      if (dense && m[2] > 1) return;
      var x = xs[m[1]], ym = y(m[0]);
      var g = add(marks, "g", { "class": "mark " + MARK[m[2]], "data-tip": d.nodes[m[1]] + " at " + fmt(m[0]) + "\n" + d.s[m[3]] });
      add(g, "circle", { cx: x, cy: ym, r: 9, fill: "transparent" });
      add(g, "text", { "class": "g", x: x, y: ym }, GLYPH[m[2]]);
      if (!labels && m[2] > 1) return;
      // The first node writes to its left, the others to their right, in the room there is.
      var leftSide = m[1] === 0 && d.nodes.length > 1;
      var room = leftSide ? x - 12 - AXIS - 4 : (m[1] + 1 < xs.length ? xs[m[1] + 1] - x - 40 : W - x - 16);
      var text = d.s[m[3]];
      var fit = Math.max(4, Math.floor(room / CH));
      if (text.length > fit) text = text.slice(0, fit - 1) + "\u2026";
      var w = text.length * CH;
      // Beside its mark, or just below or above it when two share a moment.
      var shifts = [0, 13, -13];
      for (var i = 0; i < shifts.length; i++) {
        var ty = ym + shifts[i];
        if (self.free(leftSide ? x - 12 - w : x + 12, ty - 7, w, 14)) {
          add(g, "text", { "class": "t", x: leftSide ? x - 12 : x + 12, y: ty, "text-anchor": leftSide ? "end" : "start" }, text);
          break;
        }
      }
    });
    if (dense) {
      this.density(arrowsG, visible, y, xs, H);
    } else {
      visible.forEach(function (a) { self.arrow(arrowsG, labels ? labelsG : null, a, xs, y); });
    }

    // Node names stay at the top.
    var head = add(svg, "g", { "class": "head" });
    add(head, "rect", { x: 0, y: 0, width: W, height: 27 });
    d.nodes.forEach(function (name, i) { add(head, "text", { x: xs[i], y: 18 }, name); });
    add(head, "text", { x: AXIS - 30, y: 18, style: "font-weight:400;fill:#5b6475;font-size:11px" }, "time");

    var drawn = dense ? 0 : visible.length;
    this.root.setAttribute("data-nodes", d.nodes.length);
    this.root.setAttribute("data-drawn-arrows", drawn);
    this.root.setAttribute("data-arrows-in-view", visible.length);
    this.root.setAttribute("data-total-arrows", d.a.length);
    this.root.setAttribute("data-window", Math.max(0, Math.round(t0)) + ".." + Math.round(t1));
    this.root.setAttribute("data-draw-ms", (performance.now() - started).toFixed(1));
  };

  Panel.prototype.arrow = function (parent, labels, a, xs, y) {
    var k = a[3], x1 = xs[a[0]], x2 = xs[a[1]], y1 = y(a[2]);
    var cls = "msg " + KIND[k] + (a[8] ? " copy" : "") + (k === 2 || k === 3 ? " lost" : "") + (k === 4 ? " hidden" : "");
    var g = add(parent, "g", { "class": cls, "data-msg": a[7] + "." + a[8], "data-tip": this.arrowTip(a) });
    var xe, ye, head = false, cross = false, q = false;
    if (k === 0 || k === 1) { xe = x2; ye = y(a[4]); head = k === 0; cross = k === 1; }
    if (k === 2) { xe = x1 + (x2 - x1) * 0.45; ye = y1 + 12; cross = true; }
    if (k === 3) { xe = this.cutAt(a[0], a[1], a[2], xs); ye = y1 + 12; cross = true; }
    if (k === 4) { xe = x1 + (x2 - x1) * 0.5; ye = y1; q = true; }
    if (k === 5) {
      var frac = Math.min(1, (this.d.end - a[2]) / Math.max(1, a[4] - a[2]));
      xe = x1 + (x2 - x1) * frac; ye = y(this.d.end);
    }
    var attrs = { "class": "path", x1: x1, y1: y1, x2: xe, y2: ye };
    if (head) attrs["marker-end"] = a[8] ? "url(#arrow-copy)" : "url(#arrow)";
    add(g, "line", attrs);
    add(g, "line", { "class": "hit", x1: x1, y1: y1, x2: xe, y2: ye });
    if (cross) add(g, "text", { "class": "x", x: xe, y: ye }, "\u2717");
    if (q) add(g, "text", { "class": "q", x: xe + (x2 > x1 ? 4 : -12), y: ye }, "?");
    if (labels) {
      // A blank's label carries what the network decided, as the timeline does.
      var text = this.d.s[a[5]] + (a[8] ? " (copy)" : "") + (k === 4 ? ", " + this.d.s[a[6]] : "");
      var w = text.length * CH;
      // Half-way along, or failing that a third or two thirds of the way.
      var spots = k === 4 ? [0.25] : [0.5, 0.3, 0.7];
      // Kept between the two node lines, clear of their marks.
      var lo = Math.min(x1, x2) + 12 + w / 2, hi = Math.max(x1, x2) - 12 - w / 2;
      for (var i = 0; i < spots.length; i++) {
        var lx = x1 + (xe - x1) * spots[i], ly = y1 + (ye - y1) * spots[i] - 4;
        if (lo <= hi) lx = Math.min(hi, Math.max(lo, lx));
        if (this.free(lx - w / 2, ly - 10, w, 12)) {
          // On a plate, so the line it sits on does not strike it through.
          var lg = add(labels, "g", { "data-tip": g.getAttribute("data-tip") });
          add(lg, "rect", { "class": "plate", x: lx - w / 2 - 2, y: ly - 10, width: w + 4, height: 13, rx: 2 });
          add(lg, "text", { "class": "lbl" + (k === 2 || k === 3 ? " lost" : a[8] ? " copy" : ""), x: lx, y: ly, "text-anchor": "middle" }, text);
          break;
        }
      }
    }
  };

  // Claims a box for a label if it overlaps none placed so far.
  Panel.prototype.free = function (x, y, w, h) {
    for (var i = 0; i < this.placed.length; i++) {
      var b = this.placed[i];
      if (x < b[0] + b[2] && b[0] < x + w && y < b[1] + b[3] && b[1] < y + h) return false;
    }
    this.placed.push([x, y, w, h]);
    return true;
  };

  // Too many messages in view to draw one by one: how many leave in each
  // slice of 4 px, as bars, and a word on how to see them.
  Panel.prototype.density = function (parent, visible, y, xs, H) {
    var rows = Math.ceil(H / 4), counts = new Array(rows).fill(0), max = 1;
    visible.forEach(function (a) {
      var r = Math.floor(y(a[2]) / 4);
      if (r >= 0 && r < rows) { counts[r]++; max = Math.max(max, counts[r]); }
    });
    var g = add(parent, "g", { "class": "density" });
    var x0 = xs[0], span = xs[xs.length - 1] - xs[0] || 200;
    counts.forEach(function (c, r) {
      if (c) add(g, "rect", { x: x0, y: r * 4, width: Math.max(1, span * c / max), height: 3 });
    });
    var text = visible.length.toLocaleString("en") + " messages in view, drawn as how many leave per moment: zoom in (+) to see each one";
    add(parent, "rect", { "class": "plate", x: x0 + 4, y: TOP + 2, width: text.length * 7 + 8, height: 18, rx: 3 });
    add(parent, "text", { "class": "note-dense", x: x0 + 8, y: TOP + 15 }, text);
  };

  function showTip(e) {
    var el = e.target.closest ? e.target.closest("[data-tip]") : null;
    if (!el) { tip.hidden = true; return; }
    tip.textContent = el.getAttribute("data-tip");
    tip.hidden = false;
    var x = e.clientX + 14, yy = e.clientY + 14;
    var r = tip.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 8) x = e.clientX - r.width - 14;
    if (yy + r.height > window.innerHeight - 8) yy = e.clientY - r.height - 14;
    tip.style.left = x + "px";
    tip.style.top = yy + "px";
  }

  // Every panel shares one time scale, so the runs line up side by side.
  function zoom(factor, anchor, clientY) {
    var p0 = anchor || panels[0];
    if (!p0) return;
    var rect = p0.sc.getBoundingClientRect();
    var at = clientY === undefined ? p0.viewHeight() / 2 : clientY - rect.top;
    var t = (p0.sc.scrollTop + at - TOP) / p0.scale;
    var scale;
    if (factor === 0) {
      scale = Math.min.apply(null, panels.map(function (p) { return p.fitScale(); }));
    } else {
      var hi = Math.min.apply(null, panels.map(function (p) { return p.maxScale(); }));
      var lo = Math.min.apply(null, panels.map(function (p) { return p.fitScale(); }));
      scale = Math.max(lo, Math.min(hi, p0.scale * factor));
    }
    syncing = true;
    panels.forEach(function (p) {
      p.scale = scale;
      p.spacer.style.height = Math.ceil(TOP + p.end * scale + BOTTOM) + "px";
      p.sc.scrollTop = Math.max(0, t * scale + TOP - at);
      p.draw();
    });
    syncing = false;
  }

  document.querySelectorAll("script.run-data").forEach(function (s) {
    var root = document.getElementById(s.getAttribute("data-panel"));
    if (root) panels.push(new Panel(root, JSON.parse(s.textContent)));
  });
  if (panels.length) {
    var scale = Math.min.apply(null, panels.map(function (p) { return p.defaultScale(); }));
    panels.forEach(function (p) { p.scale = scale; p.draw(); });
  }
  document.querySelectorAll("[data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () {
      var z = b.getAttribute("data-zoom");
      zoom(z === "in" ? 1.5 : z === "out" ? 1 / 1.5 : 0);
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "+" || e.key === "=") zoom(1.5);
    else if (e.key === "-") zoom(1 / 1.5);
    else if (e.key === "0") zoom(0);
  });
  window.addEventListener("resize", function () { panels.forEach(function (p) { p.request(); }); });
  document.body.setAttribute("data-panels", panels.length);
})();
