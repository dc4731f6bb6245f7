// Shared pieces of the control room and the officer view: API calls, live video, dock status.
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

// Live video of one dock over WebSocket: each message is uint32 header length, JSON header, JPEG
// (the framing of edge/protocol/video.py, relayed unchanged from the edge).
export class VideoFeed {
  constructor(img, statsEl, onHeader = null) {
    this.img = img;
    this.statsEl = statsEl;
    this.onHeader = onHeader;
    this.ws = null;
    this.dockId = null;
    this.frames = 0;
    this.times = [];
    this.url = null;
  }

  watch(dockId, token = null) {
    if (dockId === this.dockId) return;
    this.stop();
    this.dockId = dockId;
    if (!dockId) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const q = token ? `?token=${encodeURIComponent(token)}` : "";
    const ws = new WebSocket(`${scheme}://${location.host}${API}/video/${encodeURIComponent(dockId)}/ws${q}`);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (m) => this._frame(m.data);
    ws.onclose = () => {
      if (this.ws === ws) { this.ws = null; setTimeout(() => { const d = this.dockId; this.dockId = null; this.watch(d, token); }, 2000); }
    };
    this.ws = ws;
    this._stats("waiting for video…");
  }

  stop() {
    const ws = this.ws;
    this.ws = null;
    this.dockId = null;
    if (ws) ws.close();
  }

  _frame(buf) {
    const view = new DataView(buf);
    const n = view.getUint32(0);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
    const blob = new Blob([new Uint8Array(buf, 4 + n)], { type: "image/jpeg" });
    const url = URL.createObjectURL(blob);
    this.img.onload = () => { if (this.url && this.url !== url) URL.revokeObjectURL(this.url); this.url = url; };
    this.img.src = url;
    this.frames += 1;
    const now = performance.now();
    this.times.push(now);
    while (this.times.length && now - this.times[0] > 2000) this.times.shift();
    this.img.dataset.frames = String(this.frames);
    this._stats(`${this.frames} frames · ${(this.times.length / 2).toFixed(1)} fps · #${header.frame} ${header.rendition}`);
    if (this.onHeader) this.onHeader(header);
  }

  _stats(text) { if (this.statsEl) this.statsEl.textContent = text; }
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
