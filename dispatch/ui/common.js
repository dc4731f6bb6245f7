// Shared pieces of the control room and the officer view: API calls and dock status.
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
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
}

export function dockStatus(d) {
  if (d.availability === "offline") return "offline";
  if (d.stale) return "stale";
  if (d.sortie_id || d.in_air) return "busy";
  return d.ready ? "ready" : "not_ready";
}

// Milestones of an incident: the newest one shown is highlighted.
const MILESTONES = new Set(["raised", "queued", "dispatched", "unassigned", "airborne", "on_scene",
  "retasked", "recalled", "returning", "landed", "docked", "failsafe", "aborted", "cancelled", "closed"]);

// The dock's acceptance is told three ways (dispatch's own line, the dock's ack, its event):
// one line. Other lines repeated within a minute are one line with a count.
function sameKey(l) {
  const accepted = (l.kind === "dispatch" && l.type === "dispatched")
    || (l.kind === "ack" && l.type === "dispatch" && l.code === "accepted")
    || (l.kind === "event" && l.type === "accepted");
  return accepted ? `accepted:${l.dock_id}` : `${l.kind}:${l.type}:${l.dock_id}:${l.text}`;
}

export function mergedTimeline(lines) {
  const out = [], last = new Map();
  for (const l of lines) {
    const key = sameKey(l), prev = last.get(key);
    if (prev && Date.parse(l.at) - Date.parse(prev.at) < 60000) {
      if (key.startsWith("accepted:")) { if (l.kind === "dispatch") prev.line = l; }
      else prev.n += 1;
      prev.at = l.at;
      continue;
    }
    const item = { line: l, n: 1, at: l.at };
    last.set(key, item);
    out.push(item);
  }
  return out.reverse();
}

// The timeline, newest first, duplicates merged, the latest milestone highlighted.
export function timelineList(ul, lines) {
  const items = mergedTimeline(lines);
  const latest = items.find((i) => MILESTONES.has(i.line.type));
  ul.replaceChildren(...items.map((i) => el("li", {
    class: `tl-${i.line.kind}${i === latest ? " latest" : ""}`, "data-type": i.line.type },
  el("time", {}, fmtTime(i.line.at)), " ", i.line.text, i.n > 1 ? ` (×${i.n})` : "")));
}

// The live ETA, counted down from when the incident was read (`gotAt`, ms): "ETA 1:12 (on
// scene 18:42)" on the way, "on scene 2:31" once there.
export function etaText(inc, gotAt) {
  const e = inc.eta;
  if (!e) return "ETA —";
  const since = (Date.now() - gotAt) / 1000;
  if (e.state === "on_scene") return `on scene ${fmtDuration(e.on_scene_for_s + since)}`;
  const left = Math.max(0, e.to_scene_s - since);
  return `ETA ${fmtDuration(left)} (on scene ${fmtClock(new Date(gotAt + e.to_scene_s * 1000))})`;
}

// A duration as m:ss ("2:31"), or h:mm:ss from an hour on.
export function fmtDuration(seconds) {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

// A wall-clock time of day, hours and minutes ("18:42").
export function fmtClock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

// What the caller said, where, and the CAD reference, as a definition list.
export function incidentWords(dl, inc) {
  const rows = [["Caller", inc.description], ["Address", inc.address], ["CAD ref", inc.cad_ref]]
    .filter(([, v]) => v);
  dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}
