// dronesense live page: server-sent events in, SVG out. No libraries, nothing from the internet
// except base-map tiles when the operator gave a tile URL.
"use strict";

// NS, VIRIDIS, colour, el and fmt come from svgkit.js (loaded first)
const S = { config: null, state: null, points: [], quantity: null };

function clock(s) {
  if (s === null || s === undefined) return "–";
  s = Math.floor(s);
  const p = n => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${p(Math.floor(s / 60) % 60)}:${p(s % 60)}`;
}

// web mercator, in world units 0..1
function merc(lat, lon) {
  const s = Math.sin(lat * Math.PI / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
}

function units(q) { return (S.state && S.state.units && S.state.units[q]) || ""; }

function displayUnits(u) {
  return { "1e-6": "ppm", "1e-9": "ppb", "ug m-3": "µg/m³", "ug/m3": "µg/m³" }[u] || u;
}

function drawMap() {
  const svg = document.getElementById("map");
  svg.replaceChildren();
  const W = 800, H = 560, pad = 30;
  const pts = S.points;
  const src = S.config.source;
  const xy = pts.map(p => merc(p[0], p[1]));
  const all = xy.slice();
  if (src) all.push(merc(src[0], src[1]));
  if (!all.length) {
    svg.append(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" },
      "no positioned sample yet"));
    return;
  }
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of all) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const span = Math.max(x1 - x0, y1 - y0, 1e-7);
  const k = Math.min((W - 2 * pad) / Math.max(x1 - x0, span * 0.2),
    (H - 2 * pad) / Math.max(y1 - y0, span * 0.2));
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const px = ([x, y]) => [W / 2 + (x - cx) * k, H / 2 + (y - cy) * k];
  if (S.config.tiles) drawTiles(svg, k, cx, cy, W, H);
  const qi = S.state.quantities.indexOf(S.quantity);
  const vals = pts.filter(p => p[3] === qi).map(p => p[4]);
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const g = el("g", { id: "track" });
  pts.forEach((p, i) => {
    const [x, y] = px(xy[i]);
    const mine = p[3] === qi;
    const c = el("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: mine ? 3 : 1.5,
      fill: mine ? colour((p[4] - lo) / (hi - lo || 1)) : "#888",
      "fill-opacity": mine ? 0.9 : 0.5, class: "pt" });
    g.append(c);
  });
  svg.append(g);
  if (src) {
    const [x, y] = px(merc(src[0], src[1]));
    svg.append(el("path", { d: `M${x} ${y - 9} L${x + 8} ${y + 6} L${x - 8} ${y + 6} Z`,
      fill: "#d32f2f", stroke: "#fff", id: "sourcemark" }));
    svg.append(el("text", { x: x + 10, y: y + 4 }, "source"));
  }
  // scale bar: metres per world unit at this latitude
  const lat = pts.length ? pts[pts.length - 1][0] : src[0];
  const mPerUnit = 40075016.7 * Math.cos(lat * Math.PI / 180);
  const mPerPx = mPerUnit / k;
  let bar = Math.pow(10, Math.floor(Math.log10(mPerPx * 150)));
  if (bar / mPerPx < 60) bar *= 5; else if (bar / mPerPx < 100) bar *= 2;
  svg.append(el("line", { x1: 20, y1: H - 15, x2: 20 + bar / mPerPx, y2: H - 15,
    stroke: "#000", "stroke-width": 3 }));
  svg.append(el("text", { x: 20, y: H - 20 }, `${bar} m`));
  svg.append(el("text", { x: W - 20, y: 20, "text-anchor": "end" }, "N ↑"));
  drawLegend(lo, hi);
}

function drawTiles(svg, k, cx, cy, W, H) {
  const z = Math.max(0, Math.min(19, Math.round(Math.log2(k / 256))));
  const n = 2 ** z, size = k / n;
  const wx0 = cx - W / 2 / k, wy0 = cy - H / 2 / k;
  for (let tx = Math.floor(wx0 * n); tx <= Math.floor((wx0 + W / k) * n); tx++) {
    for (let ty = Math.floor(wy0 * n); ty <= Math.floor((wy0 + H / k) * n); ty++) {
      if (ty < 0 || ty >= n) continue;
      const href = S.config.tiles.replace("{z}", z).replace("{x}", ((tx % n) + n) % n)
        .replace("{y}", ty).replace("{s}", "a");
      svg.append(el("image", { href, x: W / 2 + (tx / n - cx) * k, y: H / 2 + (ty / n - cy) * k,
        width: size + 0.5, height: size + 0.5, opacity: 0.8 }));
    }
  }
}

function drawLegend(lo, hi) {
  const svg = document.getElementById("legend");
  svg.replaceChildren();
  if (!isFinite(lo)) return;
  for (let i = 0; i < 100; i++) {
    svg.append(el("rect", { x: 100 + i * 5, y: 4, width: 5.5, height: 14, fill: colour(i / 99) }));
  }
  const u = displayUnits(units(S.quantity));
  svg.append(el("text", { x: 95, y: 15, "text-anchor": "end" }, fmt(lo)));
  svg.append(el("text", { x: 605, y: 15 }, `${fmt(hi)} ${u}`));
  svg.append(el("text", { x: 100, y: 34 }, `${S.quantity} (${u || "no units"})`));
}

function table(id, head, rows) {
  const t = document.getElementById(id);
  t.replaceChildren();
  const tr = el("tr");
  head.forEach(h => tr.append(el("th", {}, h)));
  t.append(tr);
  rows.forEach(r => t.append(r));
}

function row(cells) {
  const tr = el("tr");
  for (const c of cells) {
    if (c instanceof Node) { const td = el("td"); td.append(c); tr.append(td); }
    else if (typeof c === "object" && c !== null) { tr.append(el("td", c.attrs || {}, c.text)); }
    else tr.append(el("td", {}, c === null || c === undefined ? "–" : String(c)));
  }
  return tr;
}

function drawPanels() {
  const st = S.state;
  document.getElementById("where").textContent =
    `listening on ${st.where || "–"} → ${st.out || "–"}`;
  document.getElementById("elapsed").textContent = `elapsed ${clock(st.elapsed_s)}`;
  const w = document.getElementById("warnings");
  w.replaceChildren();
  const alerts = st.alerts || [];
  if (!alerts.length) w.append(el("li", { class: "none" }, "no warnings"));
  alerts.forEach(a => w.append(el("li", { class: "warning" }, a)));
  const lossCls = st.loss > 0.05 ? "bad" : st.loss > 0.01 ? "warn" : "good";
  const link = [
    row(["link", { text: st.link.toUpperCase(), attrs: { class: st.link === "up" ? "good" : "bad", id: "linkstate" } }]),
    row(["rate", `${fmt(st.rate, 3)} msg/s`]),
    row(["packets", st.packets]),
    row(["loss", { text: `${(100 * st.loss).toFixed(2)} %`, attrs: { class: lossCls } }]),
    row(["bad bytes", st.bad_bytes]),
    row(["CRC errors", st.crc_errors]),
    row(["samples", `${st.samples} (+${st.pending} waiting), ${st.positioned} with a position`]),
  ];
  const sg = st.signing || {};
  const verdicts = Object.entries(sg.signing || {}).map(([k, v]) => `${k} ${v}`).join(", ");
  link.push(row(["signed packets", `${sg.signed || 0}` + (verdicts ? ` (${verdicts})` : "")]));
  table("link", ["", ""], link);
  table("vehicles", ["sys", "armed", "mode", "GNSS", "lat", "lon", "height m", "battery", "item"],
    st.vehicles.map(v => {
      const b = v.battery || {};
      const m = v.mission;
      return row([v.sysid,
        { text: v.armed === null ? "?" : v.armed ? "ARMED" : "disarmed", attrs: { class: v.armed ? "bad" : "" } },
        v.mode, { text: v.fix_ok === null ? "–" : v.fix_ok ? "fix" : "NO FIX", attrs: { class: v.fix_ok === false ? "bad" : "" } },
        fmt(v.lat, 7), fmt(v.lon, 7), fmt(v.height, 3),
        b.remaining === undefined ? "–" : `${b.remaining} %` + (b.voltage ? ` ${b.voltage.toFixed(1)} V` : ""),
        m ? (m.total ? `${m.seq}/${m.total}` : m.seq) : "–"]);
    }));
  table("values", ["sys", "quantity", "latest", "units", "age", "peak"],
    (st.values || []).map(v => {
      const tr = row([v.sysid, v.quantity, { text: fmt(v.value), attrs: { class: "num value" } }, v.units,
        { text: v.age_s === null ? "–" : `${v.age_s.toFixed(0)} s`, attrs: { class: v.age_s > 5 ? "stale" : "" } },
        { text: fmt(v.peak), attrs: { class: "num" } }]);
      tr.setAttribute("data-quantity", v.quantity);
      tr.setAttribute("data-value", String(v.value));
      return tr;
    }));
  const src = S.config.source;
  document.getElementById("source").textContent =
    src ? `source ▲ ${src[0].toFixed(6)}, ${src[1].toFixed(6)}` : "no source given";
  const stopped = document.getElementById("stopped");
  stopped.hidden = !st.stopped;
  stopped.textContent = st.stopped ? `recording stopped: ${st.stopped}` : "";
}

function drawField() {
  const box = document.getElementById("field");
  box.replaceChildren();
  const f = (S.state.field || {})[S.quantity];
  const note = document.getElementById("fieldnote");
  if (!f || !f.layers.length) { note.textContent = "(no layer flown yet)"; return; }
  const u = displayUnits(units(S.quantity));
  note.textContent = `(${S.quantity}, ${u}; ${f.cell_m} m blocks; origin ${f.origin[0].toFixed(5)} N ${f.origin[1].toFixed(5)} E)`;
  let lo = Infinity, hi = -Infinity;
  f.layers.forEach(l => l.cells.forEach(c => { lo = Math.min(lo, c[2]); hi = Math.max(hi, c[2]); }));
  const n = Math.max(f.nx, f.ny), cs = 260 / n;
  f.layers.forEach(l => {
    const fig = el("figure", { class: "layer" });
    const svg = el("svg", { viewBox: "0 0 300 300" });
    l.cells.forEach(c => {
      const r = el("rect", { x: 30 + c[0] * cs, y: 270 - (c[1] + 1) * cs, width: cs, height: cs,
        fill: colour((c[2] - lo) / (hi - lo || 1)) });
      r.append(el("title", {}, `${fmt(c[2])} ${u} (${c[3]} samples)`));
      svg.append(r);
    });
    svg.append(el("text", { x: 30, y: 290 }, "0"));
    svg.append(el("text", { x: 30 + f.nx * cs, y: 290, "text-anchor": "end" }, `${Math.round(f.cell_m * f.nx)} m east`));
    svg.append(el("rect", { x: 30, y: 270 - f.ny * cs, width: f.nx * cs, height: f.ny * cs, fill: "none", stroke: "#bbb" }));
    svg.append(el("text", { x: 14, y: 140, "text-anchor": "middle", transform: "rotate(-90 14 140)" },
      `0 – ${Math.round(f.cell_m * f.ny)} m north`));
    fig.append(svg);
    fig.append(el("figcaption", {}, `height ${l.height} m: ${fmt(lo)}–${fmt(hi)} ${u}`));
    box.append(fig);
  });
}

function drawSelect() {
  const sel = document.getElementById("quantity");
  const qs = S.state.quantities;
  if (!S.quantity || !qs.includes(S.quantity)) {
    S.quantity = qs.includes(S.config.quantity) ? S.config.quantity : qs[0] || null;
  }
  if (sel.options.length !== qs.length) {
    sel.replaceChildren(...qs.map(q => el("option", { value: q }, q)));
  }
  if (S.quantity) sel.value = S.quantity;
}

function render() {
  drawSelect();
  drawPanels();
  drawMap();
  drawField();
  const c = document.getElementById("count");
  c.textContent = String(S.points.length);
  c.setAttribute("data-count", String(S.points.length));
}

function start() {
  document.getElementById("quantity").addEventListener("change", e => {
    S.quantity = e.target.value;
    if (S.state) render();
  });
  const es = new EventSource("events");
  const conn = document.getElementById("connection");
  es.onopen = () => { conn.textContent = "connected"; conn.className = "good"; };
  es.onerror = () => { conn.textContent = "not connected (retrying)"; conn.className = "bad"; };
  es.onmessage = ev => {
    const d = JSON.parse(ev.data);
    if (d.from === 0) S.points = [];
    if (d.from !== S.points.length) return;  // out of step: the next connection resends all
    S.config = d.config;
    for (const p of d.points) S.points.push(p);
    S.state = d.state;
    if (!S.state || !S.state.link) return;
    render();
    document.body.setAttribute("data-ready", "1");
  };
}

document.addEventListener("DOMContentLoaded", start);
