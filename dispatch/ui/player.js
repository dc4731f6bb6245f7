// The live video player of the control room and the officer view.
//
// One WebSocket per dock (/api/v1/video/{dock}/ws) carries the edge's messages as it sent them:
// uint32 header length, JSON header, then an H.264 access unit (Annex B) or a JPEG
// (edge/protocol/video.py). H.264 is decoded with WebCodecs (VideoDecoder) onto a canvas; where
// VideoDecoder is missing (an insecure context, an old browser) the frames are muxed into
// fragmented MP4 for Media Source Extensions (fmp4.js); where that is missing too, the picture
// is a snapshot (frame.jpg) refreshed twice a second. JPEG frames (the edge's fallback mode) are
// drawn as they come. Boxes, labels and the HUD are drawn from each frame's metadata on a layer
// of their own, so they can be switched off; the badge says how far behind live the picture is
// (capture → painted, by the edge's and this device's clocks).
"use strict";

import { API } from "./common.js";
import { fragment, initSegment, nalUnits, parameterSets } from "./fmp4.js";

const COLOURS = { person: "#ff3838", car: "#00c2ff", bus: "#1f70ff" };
const PALETTE = ["#ff3838", "#ff9d97", "#ff701f", "#ffb21d", "#cfd231"];
const STALE_MS = 2000;
const MAX_DECODE_QUEUE = 8;  // frames waiting in the decoder: more, and this device is behind

function colour(cls) {
  if (COLOURS[cls]) return COLOURS[cls];
  let h = 0;
  for (const c of cls) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

export function chooseMode() {
  if (typeof VideoDecoder === "function") return "webcodecs";
  if (typeof MediaSource === "function" && MediaSource.isTypeSupported('video/mp4; codecs="avc1.42C01E"')) return "mse";
  return "snapshot";
}

function parse(buf) {
  const n = new DataView(buf).getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
  return { header, body: new Uint8Array(buf, 4 + n), arrived: performance.now() };
}

function addStyles() {
  if (document.querySelector("link[data-player]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet"; link.href = "/ui/player.css"; link.dataset.player = "1";
  document.head.append(link);
}

export class LivePlayer {
  constructor(container, statsEl = null) {
    addStyles();
    this.box = container;
    this.statsEl = statsEl;
    this.mode = chooseMode();
    this.box.classList.add("player");
    this.box.player = this;
    this.box.innerHTML = "";
    this.canvas = Object.assign(document.createElement("canvas"), { className: "pl-picture", width: 640, height: 480 });
    this.video = Object.assign(document.createElement("video"), { className: "pl-picture", muted: true, playsInline: true, hidden: true });
    this.layer = Object.assign(document.createElement("canvas"), { className: "pl-layer", width: 640, height: 480 });
    this.badge = Object.assign(document.createElement("div"), { className: "pl-badge", textContent: "no video" });
    this.toggle = Object.assign(document.createElement("button"), { className: "pl-toggle", type: "button", textContent: "boxes" });
    this.showBoxes = localStorage.getItem("outrider.boxes") !== "off";
    this.toggle.setAttribute("aria-pressed", String(this.showBoxes));
    this.toggle.onclick = () => this.setBoxes(!this.showBoxes);
    this.box.append(this.canvas, this.video, this.layer, this.badge, this.toggle);
    this.ctx = this.canvas.getContext("2d");
    this.ws = null; this.dockId = null; this.token = null;
    this.frames = 0; this.latencies = []; this.times = []; this.lastHeader = null; this.lastPaint = 0;
    this.watchedAt = 0; this.firstPaintMs = null;
    this._reset();
    this.box.dataset.mode = this.mode;
    this.box.dataset.frames = "0";
    this.timer = setInterval(() => this._tick(), 500);
  }

  // Watch a dock's live video (``token``: an officer link's).
  watch(dockId, token = null) {
    if (dockId === this.dockId) return;
    this.stop();
    this._blank();   // nothing of the last dock's picture stays under another dock's name
    this.dockId = dockId; this.token = token;
    if (!dockId) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const q = token ? `?token=${encodeURIComponent(token)}` : "";
    const ws = new WebSocket(`${scheme}://${location.host}${API}/video/${encodeURIComponent(dockId)}/ws${q}`);
    ws.binaryType = "arraybuffer";
    this.watchedAt = performance.now(); this.firstPaintMs = null;
    ws.onmessage = (m) => this._message(parse(m.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      setTimeout(() => { const d = this.dockId; if (d) { this.dockId = null; this.watch(d, token); } }, 2000);
    };
    this.ws = ws;
    this._badge("connecting…", "wait");
  }

  stop() {
    const ws = this.ws;
    this.ws = null; this.dockId = null;
    if (ws) ws.close();
    this._reset();
  }

  // Stop for good: the connection and the timer (a player taken off the page).
  destroy() {
    this.stop();
    clearInterval(this.timer);
  }

  setBoxes(on) {
    this.showBoxes = on;
    localStorage.setItem("outrider.boxes", on ? "on" : "off");
    this.toggle.setAttribute("aria-pressed", String(on));
    this._drawLayer(this.lastHeader);
  }

  // Delivery figures the page shows and tests read: frames painted, latency quantiles (ms).
  stats() {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const q = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null);
    return { mode: this.mode, frames: this.frames, p50: q(0.5), p95: q(0.95), firstPaintMs: this.firstPaintMs,
      latencies: [...this.latencies] };
  }

  _blank() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.lastHeader = null; this.lastPaint = 0;
    this._drawLayer(null);
    this._badge("no video", "wait");
    if (this.statsEl) this.statsEl.textContent = "";
  }

  _reset() {
    if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
    this.decoder = null; this.decoderCodec = null; this.waitingKey = true;
    this.pending = new Map(); this.chunks = 0;
    if (this.mse) { URL.revokeObjectURL(this.video.src); this.video.removeAttribute("src"); }
    this.mse = null;
  }

  _message(m) {
    const h = m.header;
    if (h.codec === "jpeg") return this._jpeg(m);
    if (!h.key && this.waitingKey) return;  // joined or fell behind mid-group: wait for a keyframe
    this.waitingKey = false;
    if (this.mode === "webcodecs") this._decode(m);
    else if (this.mode === "mse") this._append(m);
    else this._snapshot(m);
  }

  _jpeg(m) {
    createImageBitmap(new Blob([m.body], { type: "image/jpeg" })).then((bitmap) => {
      this._paint(bitmap, m, bitmap.width, bitmap.height);
      bitmap.close();
    }, () => {});
  }

  _decode(m) {
    const h = m.header;
    if (h.key && (this.decoderCodec !== h.codec_string || !this.decoder || this.decoder.state === "closed")) {
      if (this.decoder && this.decoder.state !== "closed") this.decoder.close();
      this.decoder = new VideoDecoder({
        output: (frame) => this._decoded(frame),
        error: (e) => { console.warn("video decoder:", e.message); this.decoderCodec = null; this.waitingKey = true; },
      });
      this.decoder.configure({ codec: h.codec_string, optimizeForLatency: true });
      this.decoderCodec = h.codec_string;
    }
    if (!this.decoder || this.decoder.state !== "configured") { this.waitingKey = true; return; }
    if (this.decoder.decodeQueueSize > MAX_DECODE_QUEUE && !h.key) { this.waitingKey = true; return; }
    const ts = ++this.chunks;
    this.pending.set(ts, m);
    this.decoder.decode(new EncodedVideoChunk({ type: h.key ? "key" : "delta", timestamp: ts, data: m.body }));
  }

  _decoded(frame) {
    const m = this.pending.get(frame.timestamp);
    for (const ts of this.pending.keys()) { if (ts <= frame.timestamp) this.pending.delete(ts); else break; }
    // Catching up (a late joiner's keyframe group, a busy moment): a frame with two or more
    // newer ones already waiting is decoded, as they need it, but not drawn (at least four
    // pictures a second still are).
    const catchingUp = this.chunks - frame.timestamp >= 2 && performance.now() - this.lastPaint < 250;
    if (m && !catchingUp) this._paint(frame, m, frame.displayWidth, frame.displayHeight);
    frame.close();
  }

  _paint(picture, m, width, height) {
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = this.layer.width = width; this.canvas.height = this.layer.height = height;
    }
    this.canvas.hidden = false; this.video.hidden = true;
    this.ctx.drawImage(picture, 0, 0, width, height);
    this._painted(m.header);
  }

  _painted(h) {
    this.lastHeader = h;
    this._drawLayer(h);
    this.frames += 1;
    const now = performance.now();
    if (this.firstPaintMs === null && this.watchedAt) this.firstPaintMs = now - this.watchedAt;
    this.lastPaint = now;
    this.times.push(now);
    while (this.times.length && now - this.times[0] > 2000) this.times.shift();
    const behind = Date.now() - Date.parse(h.t);
    this.latencies.push(behind);
    if (this.latencies.length > 600) this.latencies.shift();
    this.box.dataset.frames = String(this.frames);
    this.box.dataset.frame = String(h.frame);
    this.box.dataset.latencyMs = String(Math.round(behind));
    const recent = this.latencies.slice(-15).sort((a, b) => a - b);
    const typical = Math.max(0, recent[Math.floor(recent.length / 2)]) / 1000;
    this._badge(`live · ${typical.toFixed(1)} s behind`, typical > 1.5 ? "late" : "live");
    if (this.statsEl) {
      this.statsEl.textContent = `${this.frames} frames · ${(this.times.length / 2).toFixed(1)} fps · #${h.frame} ${h.rendition} · ${this.mode === "webcodecs" && h.codec !== "jpeg" ? "H.264" : h.codec === "jpeg" ? "JPEG" : this.mode}`;
    }
  }

  _drawLayer(h) {
    const ctx = this.layer.getContext("2d");
    const W = this.layer.width, H = this.layer.height;
    ctx.clearRect(0, 0, W, H);
    if (!h || !this.showBoxes) return;
    const sx = W / h.width, sy = H / h.height;
    const bar = Math.round(Math.max(14, W / 32));  // the HUD's height; labels stay below it
    const size = Math.round(bar * 0.8);
    ctx.lineWidth = Math.max(2, W / 320); ctx.textBaseline = "top";
    ctx.font = `bold ${size}px system-ui, sans-serif`;
    for (const o of h.objects || []) {
      const [x1, y1, x2, y2] = o.bbox;
      const c = colour(o.cls);
      ctx.strokeStyle = c; ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
      const label = `${o.cls}${o.track_id != null ? " #" + o.track_id : ""} ${o.conf.toFixed(2)}`;
      const w = ctx.measureText(label).width + 6;
      const above = y1 * sy - size - 4;
      const top = above >= bar ? above : Math.max(bar, y1 * sy);  // inside the box near the top
      ctx.fillStyle = c; ctx.fillRect(x1 * sx, top, w, size + 4);
      ctx.fillStyle = "#fff"; ctx.fillText(label, x1 * sx + 3, top + 2);
    }
    const parts = [new Date(h.t).toISOString().slice(11, 19) + " UTC"];
    if (h.pose && h.pose.alt_agl_m != null) parts.push(`ALT ${h.pose.alt_agl_m.toFixed(0)} m`);
    if (h.pose && h.pose.heading_deg != null) parts.push(`HDG ${String(Math.round(h.pose.heading_deg) % 360).padStart(3, "0")}`);
    if (h.rendition === "redacted") parts.push("REDACTED");
    if (h.incident_id) parts.push(h.incident_id);  // last: the first to be cut on a narrow screen
    ctx.fillStyle = "rgba(0,0,0,0.45)"; ctx.fillRect(0, 0, W, bar);
    ctx.fillStyle = "#fff";
    let font = size;
    ctx.font = `${font}px system-ui, sans-serif`;
    const text = parts.join("   ");
    while (font > 9 && ctx.measureText(text).width > W - 12) ctx.font = `${--font}px system-ui, sans-serif`;
    ctx.fillText(text, 6, (bar - font) / 2);
  }

  _badge(text, kind) {
    this.badge.textContent = text;
    this.badge.dataset.kind = kind;
  }

  _tick() {
    if (!this.dockId) { this._badge("no video", "wait"); return; }
    const idle = performance.now() - this.lastPaint;
    if (this.lastPaint && idle > STALE_MS) this._badge(`stalled · last picture ${(idle / 1000).toFixed(0)} s ago`, "late");
  }

  // -- Media Source Extensions (no WebCodecs) ---------------------------------------------------

  _append(m) {
    const h = m.header, units = nalUnits(m.body);
    if (h.key && (!this.mse || this.mse.codec !== h.codec_string || this.mse.size !== `${h.width}x${h.height}`)) {
      const sets = parameterSets(units);
      if (!sets) { this.waitingKey = true; return; }
      this._openMse(h, sets);
    }
    const s = this.mse;
    if (!s) return;
    // Decode times from the capture clock, always rising: MSE treats a time that goes back, or
    // a gap of more than two frames, as a break and drops frames up to the next keyframe.
    const t = Date.parse(h.t);
    const step = s.lastT ? Math.max(1, Math.min(1000, t - s.lastT)) : 66;
    s.lastT = t;
    s.clock += step;
    const at = Math.round(s.clock * 90);
    s.queue.push({ data: fragment(units, h.key, ++s.sequence, at, Math.round(step * 90)), m });
    this._feed();
  }

  _openMse(h, sets) {
    if (this.mse) { URL.revokeObjectURL(this.video.src); }
    const source = new MediaSource();
    const s = { codec: h.codec_string, size: `${h.width}x${h.height}`, source, buffer: null, queue: [],
      sequence: 0, lastT: 0, clock: 0, marks: [] };
    s.queue.push({ data: initSegment(sets.sps, sets.pps, h.width, h.height), m: null });
    this.mse = s;
    this.video.src = URL.createObjectURL(source);
    this.video.hidden = false; this.canvas.hidden = true;
    this.layer.width = h.width; this.layer.height = h.height;
    source.addEventListener("sourceopen", () => {
      s.buffer = source.addSourceBuffer(`video/mp4; codecs="${h.codec_string}"`);
      s.buffer.mode = "sequence";
      s.buffer.addEventListener("updateend", () => { this._chase(); this._feed(); });
      this._feed();
    }, { once: true });
    this.video.play().catch(() => {});
    const onFrame = (_now, meta) => {
      if (this.mse !== s) return;
      let mark = null;
      for (const k of s.marks) { if (k.at <= meta.mediaTime + 0.001) mark = k; else break; }
      if (mark) { s.marks = s.marks.filter((k) => k.at >= mark.at); this._painted(mark.m.header); }
      this.video.requestVideoFrameCallback(onFrame);
    };
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(onFrame);
  }

  _feed() {
    const s = this.mse;
    if (!s || !s.buffer || s.buffer.updating || !s.queue.length) return;
    const { data, m } = s.queue.shift();
    if (m) s.marks.push({ at: s.buffer.timestampOffset, m });
    try { s.buffer.appendBuffer(data); } catch (e) { console.warn("video buffer:", e.message); this.waitingKey = true; this.mse = null; }
  }

  // Stay at the live edge: skip ahead when more than half a second is buffered, and let go of
  // what was played long ago.
  _chase() {
    const v = this.video, b = this.mse && this.mse.buffer;
    if (!b || !v.buffered.length) return;
    const end = v.buffered.end(v.buffered.length - 1);
    if (end - v.currentTime > 0.5) v.currentTime = end - 0.05;
    if (v.paused) v.play().catch(() => {});
    const start = v.buffered.start(0);
    if (v.currentTime - start > 30 && !b.updating) b.remove(start, v.currentTime - 10);
  }

  // -- snapshots (neither WebCodecs nor MSE) ----------------------------------------------------

  _snapshot(m) {
    const now = performance.now();
    if (this.snapshotAt && now - this.snapshotAt < 500) return;
    this.snapshotAt = now;
    const q = new URLSearchParams({ rendition: m.header.rendition, t: String(Date.now()) });
    if (this.token) q.set("token", this.token);
    fetch(`${API}/video/${encodeURIComponent(this.dockId)}/frame.jpg?${q}`, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.status))))
      .then((blob) => createImageBitmap(blob))
      .then((bitmap) => { this._paint(bitmap, m, bitmap.width, bitmap.height); bitmap.close(); }, () => {});
  }
}
