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

export function timelineList(ul, lines) {
  ul.replaceChildren(...lines.map((l) => el("li", { class: `tl-${l.kind}` },
    el("time", {}, fmtTime(l.at)), " ", l.text)));
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
