// dronesense flight report: inlined in the page after svgkit.js; no libraries, nothing from
// the internet.
"use strict";

// NS, VIRIDIS, colour, el and fmt come from svgkit.js (inlined before this)
const D = JSON.parse(document.getElementById("data").textContent);
const NODATA = "#ddd";

function range(vals) {
  let lo = Infinity, hi = -Infinity;
  for (const v of vals) if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return [lo, hi];
}

function section(id, title) {
  const s = el("section", { id });
  s.append(el("h2", {}, title));
  document.getElementById("main").append(s);
  const a = el("a", { href: "#" + id }, title);
  document.getElementById("nav").append(a);
  return s;
}

function control(parent, label, input) {
  const l = el("label", {}, label + " ");
  l.append(input);
  parent.append(l);
  return input;
}

function select(options) {
  const s = el("select");
  options.forEach(([v, t]) => s.append(el("option", { value: v }, t)));
  return s;
}

function colourbar(svg, x, y, w, lo, hi, label) {
  for (let i = 0; i < 50; i++) {
    svg.append(el("rect", { x: x + i * w / 50, y, width: w / 50 + 0.5, height: 10, fill: colour(i / 49, NODATA) }));
  }
  svg.append(el("text", { x, y: y + 22 }, fmt(lo)));
  svg.append(el("text", { x: x + w, y: y + 22, "text-anchor": "end" }, fmt(hi)));
  svg.append(el("text", { x: x + w / 2, y: y + 22, "text-anchor": "middle" }, label));
}

// a heat map of cols x rows cells; val(i, j) with j = 0 at the bottom
function heatmap(svg, cols, rows, val, o) {
  svg.replaceChildren();
  const W = 460, H = 360, L = 55, R = 15, T = 25, B = 70;
  const cw = (W - L - R) / cols, ch = (H - T - B) / rows;
  const [lo, hi] = o.lo !== undefined ? [o.lo, o.hi] : range(
    Array.from({ length: cols * rows }, (_, k) => val(k % cols, Math.floor(k / cols))));
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < cols; i++) {
      const v = val(i, j);
      const r = el("rect", { x: L + i * cw, y: T + (rows - 1 - j) * ch, width: cw + 0.3,
        height: ch + 0.3, fill: v === null ? "#f4f4f4" : colour((v - lo) / (hi - lo || 1), NODATA) });
      if (v !== null) r.append(el("title", {}, `${fmt(v)} ${o.units}`));
      svg.append(r);
    }
  }
  svg.append(el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#999" }));
  svg.append(el("text", { x: L, y: H - B + 14 }, o.x0));
  svg.append(el("text", { x: W - R, y: H - B + 14, "text-anchor": "end" }, o.x1));
  svg.append(el("text", { x: (L + W - R) / 2, y: H - B + 14, "text-anchor": "middle" }, o.xlabel));
  svg.append(el("text", { x: L - 4, y: H - B, "text-anchor": "end" }, o.y0));
  svg.append(el("text", { x: L - 4, y: T + 8, "text-anchor": "end" }, o.y1));
  const my = (T + H - B) / 2;
  svg.append(el("text", { x: 12, y: my, "text-anchor": "middle", transform: `rotate(-90 12 ${my})` }, o.ylabel));
  if (o.leftEnd) {
    svg.append(el("text", { x: L, y: T - 6, class: "end" }, o.leftEnd));
    svg.append(el("text", { x: W - R, y: T - 6, class: "end", "text-anchor": "end" }, o.rightEnd));
  }
  colourbar(svg, L, H - 40, W - L - R, lo, hi, `${o.name} (${o.units})`);
}

function merc(lat, lon) {
  const s = Math.sin(lat * Math.PI / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
}

function samplesSection(S, n) {
  const sec = section(`samples${n}`, `Flight map: ${S.label}`);
  if (!S.count) { sec.append(el("p", {}, "no positioned sample")); return; }
  sec.setAttribute("data-count", String(S.count));
  sec.append(el("p", {}, `${S.count} positioned samples of ${S.total} readings` +
    (S.start ? `, from ${S.start.replace("T", " ").replace("Z", " UTC")}` : "")));
  if (S.notes.length) {
    const ul = el("ul", { class: "warnings" });
    S.notes.forEach(t => ul.append(el("li", { class: "warning" }, t)));
    sec.append(ul);
  }
  const ctl = el("div", { class: "controls" });
  sec.append(ctl);
  const qsel = control(ctl, "quantity", select(S.quantities.map(q => [q, `${q} (${S.units[q] || "no units"})`])));
  const slider = control(ctl, "time", el("input", { type: "range", min: 0, max: S.count - 1, value: S.count - 1, class: "time" }));
  const readout = el("span", { class: "readout" });
  ctl.append(readout);
  const svg = el("svg", { class: "map", viewBox: "0 0 720 500" });
  sec.append(svg);
  const xy = S.lat.map((la, i) => merc(la, S.lon[i]));
  const [x0, x1] = range(xy.map(p => p[0])), [y0, y1] = range(xy.map(p => p[1]));
  const k = Math.min(660 / Math.max(x1 - x0, 1e-9), 420 / Math.max(y1 - y0, 1e-9));
  const px = p => [360 + (p[0] - (x0 + x1) / 2) * k, 240 + (p[1] - (y0 + y1) / 2) * k];
  const mPerPx = 40075016.7 * Math.cos(S.lat[0] * Math.PI / 180) / k;
  function draw() {
    svg.replaceChildren();
    const q = qsel.value, vals = S.values[q];
    const [lo, hi] = range(vals);
    const upto = Number(slider.value);
    const g = el("g", { class: "track" });
    for (let i = 0; i <= upto; i++) {
      if (vals[i] === null) continue;
      const [x, y] = px(xy[i]);
      g.append(el("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5, fill: colour((vals[i] - lo) / (hi - lo || 1), NODATA) }));
    }
    svg.append(g);
    const [cx, cy] = px(xy[upto]);
    svg.append(el("circle", { cx, cy, r: 7, fill: "none", stroke: "#d32f2f", "stroke-width": 2, class: "now" }));
    let bar = Math.pow(10, Math.floor(Math.log10(mPerPx * 150)));
    if (bar / mPerPx < 60) bar *= 5; else if (bar / mPerPx < 100) bar *= 2;
    svg.append(el("line", { x1: 20, y1: 485, x2: 20 + bar / mPerPx, y2: 485, stroke: "#000", "stroke-width": 3 }));
    svg.append(el("text", { x: 20, y: 478 }, `${bar} m`));
    svg.append(el("text", { x: 700, y: 20, "text-anchor": "end" }, "N ↑"));
    colourbar(svg, 420, 462, 280, lo, hi, `${q} (${S.units[q]})`);
    let last = upto;
    while (last > 0 && vals[last] === null) last--;
    readout.setAttribute("data-quantity", q);
    readout.setAttribute("data-value", String(vals[last]));
    const t = S.t[upto];
    const when = S.start ? new Date(Date.parse(S.start) + 1000 * t).toISOString().slice(11, 19) + " UTC" : `${fmt(t)} s`;
    readout.textContent = `${when}: ${S.lat[upto].toFixed(6)} N ${S.lon[upto].toFixed(6)} E, ` +
      `height ${fmt(S.height[upto], 3)} m, ${q} ${fmt(vals[last])} ${S.units[q]}`;
  }
  qsel.addEventListener("change", draw);
  slider.addEventListener("input", draw);
  draw();
}

function gridSection(G, n) {
  const sec = section(`grid${n}`, `Grid: ${G.long_name} (${G.label})`);
  const [nz, ny, nx] = G.shape;
  const at = (k, j, i) => G.values[(k * ny + j) * nx + i];
  const [lo, hi] = range(G.values);
  const origin = G.origin ? `${Math.abs(G.origin[0]).toFixed(4)} ${G.origin[0] >= 0 ? "N" : "S"} ${Math.abs(G.origin[1]).toFixed(4)} ${G.origin[1] >= 0 ? "E" : "W"}` : "the grid origin";
  const error = G.grid_error === null || G.grid_error === undefined ? "" : `expected grid error ${fmt(G.grid_error, 3)} ${G.units}${G.grid_error_method ? ` (${G.grid_error_method})` : ""}; `;
  const info = `${G.units}; ${error}cross-validation RMSE ${G.cv_rmse === null ? "–" : fmt(G.cv_rmse, 3) + " " + G.units}; ${G.method}`;
  sec.append(el("p", {}, info));
  const ctl = el("div", { class: "controls" });
  sec.append(ctl);
  const level = control(ctl, "level", el("input", { type: "range", min: 0, max: nz - 1, value: 0, class: "level" }));
  const levelText = el("span", { class: "readout" });
  ctl.append(levelText);
  const row = el("div", { class: "row" });
  sec.append(row);
  const slice = el("svg", { class: "plot slice", viewBox: "0 0 460 360" });
  const prof = el("svg", { class: "plot profile", viewBox: "0 0 460 360" });
  row.append(slice, prof);
  const ctl2 = el("div", { class: "controls" });
  sec.append(ctl2);
  const dir = control(ctl2, "curtain", select([["we", "west → east"], ["sn", "south → north"]]));
  const pos = control(ctl2, "at", el("input", { type: "range", min: 0, max: ny - 1, value: Math.floor(ny / 2), class: "curtainpos" }));
  const posText = el("span", { class: "readout" });
  ctl2.append(posText);
  const curtain = el("svg", { class: "plot curtain", viewBox: "0 0 460 360" });
  sec.append(curtain);
  const opt = { lo, hi, units: G.units, name: G.quantity };
  function drawSlice() {
    const k = Number(level.value);
    levelText.textContent = `${G.z_name} ${fmt(G.z[k], 4)} m`;
    heatmap(slice, nx, ny, (i, j) => at(k, j, i), { ...opt, x0: `${fmt(G.x[0])}`, x1: `${fmt(G.x[nx - 1])} m`,
      xlabel: `m east of ${origin}`, y0: fmt(G.y[0]), y1: fmt(G.y[ny - 1]), ylabel: `m north of ${origin}; level ${fmt(G.z[k], 4)} m` });
  }
  function drawCurtain() {
    const we = dir.value === "we";
    pos.max = (we ? ny : nx) - 1;
    const p = Math.min(Number(pos.value), Number(pos.max));
    posText.textContent = we ? `${fmt(G.y[p])} m north of ${origin}` : `${fmt(G.x[p])} m east of ${origin}`;
    const cols = we ? nx : ny, coord = we ? G.x : G.y;
    heatmap(curtain, cols, nz, (i, k) => we ? at(k, p, i) : at(k, i, p), { ...opt,
      x0: fmt(coord[0]), x1: `${fmt(coord[cols - 1])} m`, xlabel: we ? `m east of ${origin}` : `m north of ${origin}`,
      y0: fmt(G.z[0]), y1: `${fmt(G.z[nz - 1])} m`, ylabel: G.z_name + " (m)",
      leftEnd: we ? "W" : "S", rightEnd: we ? "E" : "N" });
  }
  function drawProfile() {
    prof.replaceChildren();
    const [plo, phi] = range(G.profile);
    const L = 60, W = 460, H = 360, T = 20, B = 50;
    const sx = v => L + (v - plo) / (phi - plo || 1) * (W - L - 20);
    const sz = z => H - B - (z - G.z[0]) / (G.z[nz - 1] - G.z[0] || 1) * (H - T - B);
    const pts = G.profile.map((v, k) => v === null ? null : `${sx(v).toFixed(1)},${sz(G.z[k]).toFixed(1)}`).filter(Boolean);
    prof.append(el("polyline", { points: pts.join(" "), fill: "none", stroke: "#21918c", "stroke-width": 2 }));
    G.profile.forEach((v, k) => { if (v !== null) prof.append(el("circle", { cx: sx(v), cy: sz(G.z[k]), r: 3, fill: "#21918c" })); });
    prof.append(el("rect", { x: L, y: T, width: W - L - 20, height: H - T - B, fill: "none", stroke: "#999" }));
    prof.append(el("text", { x: L, y: H - B + 14 }, fmt(plo)));
    prof.append(el("text", { x: W - 20, y: H - B + 14, "text-anchor": "end" }, fmt(phi)));
    prof.append(el("text", { x: (L + W) / 2, y: H - 15, "text-anchor": "middle" }, `mean ${G.quantity} per level (${G.units})`));
    prof.append(el("text", { x: L - 4, y: H - B, "text-anchor": "end" }, `${fmt(G.z[0])} m`));
    prof.append(el("text", { x: L - 4, y: T + 8, "text-anchor": "end" }, `${fmt(G.z[nz - 1])} m`));
    prof.append(el("text", { x: 4, y: 12 }, "vertical profile: " + G.z_name));
  }
  level.addEventListener("input", drawSlice);
  dir.addEventListener("change", drawCurtain);
  pos.addEventListener("input", drawCurtain);
  drawSlice(); drawProfile(); drawCurtain();
}

function fluxSection(F, n) {
  const sec = section(`flux${n}`, `Emission rate: ${F.quantity} (${F.label})`);
  sec.append(el("p", { class: "big", id: `emission${n}` },
    `${fmt(F.emission, 3)} ± ${fmt(F.uncertainty, 2)} ${F.units} (${fmt(F.emission_kg_h, 3)} kg/h)`));
  const t = el("table", { class: "budget" });
  const head = el("tr");
  head.append(el("th", {}, "uncertainty component"), el("th", {}, F.units),
    el("th", {}, "share of variance"));
  t.append(head);
  const total = Object.values(F.components).reduce((a, v) => a + v * v, 0) || 1;
  for (const [k, v] of Object.entries(F.components)) {
    const tr = el("tr");
    const share = el("td");
    const bar = el("svg", { width: 160, height: 12 });
    bar.append(el("rect", { x: 0, y: 1, width: 160 * v * v / total, height: 10, fill: "#3b528b" }));
    share.append(bar, document.createTextNode(` ${(100 * v * v / total).toFixed(0)} %`));
    tr.append(el("td", {}, k.replace(/_/g, " ")), el("td", { class: "num" }, fmt(v, 3)), share);
    t.append(tr);
  }
  const tr = el("tr");
  tr.append(el("th", {}, "total (combined)"), el("th", { class: "num" }, fmt(F.uncertainty, 3)), el("th", {}, ""));
  t.append(tr);
  sec.append(t);
  if (isFinite(F.extrapolated_fraction)) sec.append(el("p", {}, `share of the flux extrapolated outside the flown area: ${(100 * F.extrapolated_fraction).toFixed(1)} %`));
  if (F.notes) sec.append(el("p", {}, F.notes));
  if (F.curtain && F.s && F.z) {
    const ctl = el("div", { class: "controls" });
    sec.append(ctl);
    const names = Object.keys(F.curtain);
    const which = control(ctl, "curtain of", select(names.map(k => [k, F.curtain[k].long_name])));
    const svg = el("svg", { class: "plot fluxcurtain", viewBox: "0 0 460 360" });
    sec.append(svg);
    const draw = () => {
      const c = F.curtain[which.value];
      const [nz, ns] = c.shape;
      heatmap(svg, ns, nz, (i, k) => c.values[k * ns + i], { units: c.units, name: which.value,
        x0: fmt(F.s[0]), x1: `${fmt(F.s[ns - 1])} m`, xlabel: `distance along the curtain from its centre (m), ${(F.ends || ["start"])[0]} → ${(F.ends || [0, "end"])[1]}`,
        y0: fmt(F.z[0]), y1: `${fmt(F.z[nz - 1])} m`, ylabel: "height (m)",
        leftEnd: (F.ends || ["start"])[0], rightEnd: (F.ends || [0, "end"])[1] });
    };
    which.addEventListener("change", draw);
    draw();
  }
}

function provenanceSection() {
  const sec = section("provenance", "Provenance");
  const t = el("table", { class: "prov" });
  for (const p of D.provenance) {
    const head = el("tr");
    head.append(el("th", { colspan: 2 }, `${p.product} (${p.kind})`));
    t.append(head);
    for (const [k, v] of Object.entries(p)) {
      if (k === "product" || k === "kind") continue;
      const tr = el("tr");
      tr.append(el("td", {}, k), el("td", { class: `prov-${k}` }, v));
      t.append(tr);
    }
  }
  sec.append(t);
  sec.append(el("p", {}, `report made by dronesense ${D.version}`));
}

D.samples.forEach(samplesSection);
D.grids.forEach(gridSection);
D.fluxes.forEach(fluxSection);
provenanceSection();
document.body.setAttribute("data-ready", "1");
