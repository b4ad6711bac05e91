// dronesense pages (the live page and the offline report): SVG and number helpers both use.
// No libraries. Loaded before the page's own script (served beside it, or inlined first).
"use strict";

const NS = "http://www.w3.org/2000/svg";
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const SVG_TAGS = ["svg", "circle", "rect", "line", "text", "polyline", "g", "image", "path",
  "title"];

// the viridis colour of t in [0, 1] (clipped); `missing` for null and non-finite t
function colour(t, missing = "#999") {
  if (t === null || !isFinite(t)) return missing;
  t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i;
  const c = VIRIDIS[i].map((a, k) => Math.round(a + f * (VIRIDIS[i + 1][k] - a)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// an element (SVG for SVG tag names and prefixed ones) with attributes and text
function el(tag, attrs, text) {
  const e = tag.includes(":") || SVG_TAGS.includes(tag) ? document.createElementNS(NS, tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// a number with `digits` significant digits (4), trailing zeros dropped; "–" if there is none
function fmt(x, digits) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  return Number(x).toPrecision(digits || 4).replace(/\.?0+(e|$)/, "$1");
}
