// Shared pieces of the control room and the officer view: API calls and drawing.
"use strict";

export const API = "/api/v1";

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.reason ? body.reason : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// fetch JSON from the API; `token` (an officer link) travels as ?token=.
export async function api(path, { method = "GET", body = null, token = null } = {}) {
  const url = new URL(API + path, location.origin);
  if (token) url.searchParams.set("token", token);
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== null) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(url, init);
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

export function fmtTime(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export const STATUS_COLOURS = {
  ready: "#1f9d55", busy: "#d68a00", not_ready: "#b7791f", stale: "#8a94a0", offline: "#c53030",
};

export function dockStatus(d) {
  if (d.availability === "offline") return "offline";
  if (d.stale) return "stale";
  if (d.sortie_id || d.in_air) return "busy";
  return d.ready ? "ready" : "not_ready";
}

export function drawDock(map, d) {
  if (!d.home) return;
  const [x, y] = map.toScreen(d.home.lat, d.home.lon);
  const ctx = map.ctx;
  ctx.fillStyle = STATUS_COLOURS[dockStatus(d)];
  ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
  ctx.fillRect(x - 7, y - 7, 14, 14); ctx.strokeRect(x - 7, y - 7, 14, 14);
  map.label(d.home.lat, d.home.lon, d.id);
}

export function drawDrone(map, d, trail) {
  if (trail && trail.length > 1) map.line(trail, "rgba(37,99,235,0.6)", 2);
  if (!d.position || !d.in_air) return;
  const [x, y] = map.toScreen(d.position.lat, d.position.lon);
  const ctx = map.ctx;
  ctx.save();
  ctx.translate(x, y);
  ctx.rotate(((d.heading_deg || 0) * Math.PI) / 180);
  ctx.beginPath(); ctx.moveTo(0, -11); ctx.lineTo(7, 8); ctx.lineTo(0, 4); ctx.lineTo(-7, 8); ctx.closePath();
  ctx.fillStyle = d.stale ? "#8a94a0" : "#2563eb"; ctx.fill();
  ctx.strokeStyle = "#fff"; ctx.lineWidth = 1.5; ctx.stroke();
  ctx.restore();
}

export function drawIncident(map, inc, selected) {
  const [x, y] = map.toScreen(inc.lat, inc.lon);
  const ctx = map.ctx;
  ctx.beginPath(); ctx.arc(x, y, selected ? 10 : 7, 0, 2 * Math.PI);
  ctx.fillStyle = inc.status === "closed" ? "rgba(100,100,100,0.5)" : "rgba(220,38,38,0.85)";
  ctx.fill(); ctx.strokeStyle = selected ? "#111" : "#fff"; ctx.lineWidth = 2; ctx.stroke();
  if (selected) map.label(inc.lat, inc.lon, `${inc.type} · ${inc.status}`);
}

export function drawDetections(map, detections) {
  const ctx = map.ctx;
  for (const d of detections) {
    if (d.lat == null) continue;
    const [x, y] = map.toScreen(d.lat, d.lon);
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI);
    ctx.fillStyle = "#9333ea"; ctx.fill();
    map.label(d.lat, d.lon, `${d.cls} ${(d.conf * 100).toFixed(0)}%`, 6, -4);
  }
}

export function drawZones(map, geojson) {
  for (const f of (geojson && geojson.features) || []) {
    const g = f.geometry;
    const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    for (const p of polys) map.polygon(p[0], "rgba(220,38,38,0.12)", "rgba(220,38,38,0.6)");
  }
}

export function timelineList(ul, lines) {
  ul.replaceChildren(...lines.map((l) => el("li", { class: `tl-${l.kind}` },
    el("time", {}, fmtTime(l.at)), " ", l.text)));
}
