// A small canvas map in Web Mercator: optional XYZ tiles, a graticule that works offline,
// pan (drag), zoom (wheel, buttons), click-to-pick, and layers drawn by the page.
"use strict";

const TILE = 256;

function clampLat(lat) { return Math.max(-85.05, Math.min(85.05, lat)); }

function project(lat, lon, zoom) {
  const scale = TILE * Math.pow(2, zoom);
  const s = Math.sin(clampLat(lat) * Math.PI / 180);
  return [(lon + 180) / 360 * scale, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale];
}

function unproject(x, y, zoom) {
  const scale = TILE * Math.pow(2, zoom);
  const lon = x / scale * 360 - 180;
  const n = Math.PI - 2 * Math.PI * y / scale;
  return [180 / Math.PI * Math.atan(0.5 * (Math.exp(n) - Math.exp(-n))), lon];
}

export class OutriderMap {
  constructor(canvas, { center, zoom, tileUrl = "", attribution = "", onClick = null, draw = null }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.center = center;            // [lat, lon]
    this.zoom = zoom;
    this.tileUrl = tileUrl;
    this.attribution = attribution;
    this.onClick = onClick;
    this.drawLayers = draw;
    this.tiles = new Map();
    this.drag = null;
    this.pending = false;
    this._bind();
    new ResizeObserver(() => this.redraw()).observe(canvas);
    this.redraw();
  }

  _bind() {
    const c = this.canvas;
    c.addEventListener("pointerdown", (e) => {
      c.setPointerCapture(e.pointerId);
      this.drag = { x: e.clientX, y: e.clientY, moved: 0, start: project(...this.center, this.zoom) };
    });
    c.addEventListener("pointermove", (e) => {
      if (!this.drag) return;
      const dx = e.clientX - this.drag.x, dy = e.clientY - this.drag.y;
      this.drag.moved = Math.max(this.drag.moved, Math.abs(dx) + Math.abs(dy));
      if (this.drag.moved > 4) {
        this.center = unproject(this.drag.start[0] - dx, this.drag.start[1] - dy, this.zoom);
        this.redraw();
      }
    });
    c.addEventListener("pointerup", (e) => {
      const d = this.drag;
      this.drag = null;
      if (d && d.moved <= 4 && this.onClick) {
        const r = c.getBoundingClientRect();
        this.onClick(...this.toLatLon(e.clientX - r.left, e.clientY - r.top));
      }
    });
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoomAt(e.deltaY < 0 ? 1 : -1, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
  }

  size() { return [this.canvas.clientWidth, this.canvas.clientHeight]; }

  toScreen(lat, lon) {
    const [w, h] = this.size();
    const [cx, cy] = project(...this.center, this.zoom);
    const [x, y] = project(lat, lon, this.zoom);
    return [x - cx + w / 2, y - cy + h / 2];
  }

  toLatLon(sx, sy) {
    const [w, h] = this.size();
    const [cx, cy] = project(...this.center, this.zoom);
    return unproject(cx + sx - w / 2, cy + sy - h / 2, this.zoom);
  }

  zoomAt(step, sx, sy) {
    const z = Math.max(2, Math.min(19, this.zoom + step));
    if (z === this.zoom) return;
    const anchor = this.toLatLon(sx, sy);
    this.zoom = z;
    const [ax, ay] = this.toScreen(...anchor);
    const [w, h] = this.size();
    const [cx, cy] = project(...this.center, z);
    this.center = unproject(cx + ax - sx, cy + ay - sy, z);
    this.redraw();
  }

  setView(center, zoom = this.zoom) { this.center = center; this.zoom = zoom; this.redraw(); }

  metresPerPixel() {
    return 156543.03392 * Math.cos(this.center[0] * Math.PI / 180) / Math.pow(2, this.zoom);
  }

  redraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this._draw(); });
  }

  _draw() {
    const [w, h] = this.size();
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr)) this.canvas.width = Math.round(w * dpr);
    if (this.canvas.height !== Math.round(h * dpr)) this.canvas.height = Math.round(h * dpr);
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#e9eef1";
    ctx.fillRect(0, 0, w, h);
    if (this.tileUrl) this._tiles(w, h);
    this._graticule(w, h);
    if (this.drawLayers) this.drawLayers(ctx, this);
    this._scale(w, h);
  }

  _tiles(w, h) {
    const z = Math.round(this.zoom);
    const [cx, cy] = project(...this.center, z);
    const x0 = Math.floor((cx - w / 2) / TILE), x1 = Math.floor((cx + w / 2) / TILE);
    const y0 = Math.floor((cy - h / 2) / TILE), y1 = Math.floor((cy + h / 2) / TILE);
    const n = Math.pow(2, z);
    for (let x = x0; x <= x1; x++) {
      for (let y = Math.max(0, y0); y <= Math.min(n - 1, y1); y++) {
        const tx = ((x % n) + n) % n;
        const key = `${z}/${tx}/${y}`;
        let tile = this.tiles.get(key);
        if (!tile) {
          tile = new Image();
          tile.onload = () => this.redraw();
          tile.onerror = () => { tile.failed = true; };
          tile.src = this.tileUrl.replace("{z}", z).replace("{x}", tx).replace("{y}", y);
          this.tiles.set(key, tile);
          if (this.tiles.size > 400) this.tiles.delete(this.tiles.keys().next().value);
        }
        if (tile.complete && !tile.failed && tile.naturalWidth) {
          this.ctx.drawImage(tile, x * TILE - cx + w / 2, y * TILE - cy + h / 2, TILE, TILE);
        }
      }
    }
  }

  _graticule(w, h) {
    const ctx = this.ctx;
    const [lat0, lon0] = this.toLatLon(0, h), [lat1, lon1] = this.toLatLon(w, 0);
    const span = Math.max(lon1 - lon0, 1e-6);
    const step = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10]
      .find((s) => span / s <= 10) || 20;
    ctx.strokeStyle = this.tileUrl ? "rgba(60,80,100,0.15)" : "rgba(60,80,100,0.25)";
    ctx.fillStyle = "rgba(60,80,100,0.6)";
    ctx.font = "10px system-ui, sans-serif";
    ctx.lineWidth = 1;
    for (let lon = Math.ceil(lon0 / step) * step; lon <= lon1; lon += step) {
      const [x] = this.toScreen(lat0, lon);
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, h); ctx.stroke();
      ctx.fillText(lon.toFixed(3), x + 2, h - 4);
    }
    for (let lat = Math.ceil(lat0 / step) * step; lat <= lat1; lat += step) {
      const [, y] = this.toScreen(lat, lon0);
      ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke();
      ctx.fillText(lat.toFixed(3), 2, y - 2);
    }
  }

  _scale(w, h) {
    const ctx = this.ctx, mpp = this.metresPerPixel();
    const metres = [50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000].find((m) => m / mpp >= 60) || 50000;
    const px = metres / mpp;
    ctx.fillStyle = "rgba(255,255,255,0.8)";
    ctx.fillRect(w - px - 24, h - 26, px + 16, 20);
    ctx.strokeStyle = "#233"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(w - px - 16, h - 12); ctx.lineTo(w - 16, h - 12); ctx.stroke();
    ctx.fillStyle = "#233"; ctx.font = "10px system-ui, sans-serif";
    ctx.fillText(metres >= 1000 ? `${metres / 1000} km` : `${metres} m`, w - px - 14, h - 15);
    if (this.attribution) ctx.fillText(this.attribution, 6, 12);
  }

  // Drawing helpers for layers.
  polygon(ring, fill, stroke) {
    const ctx = this.ctx;
    ctx.beginPath();
    ring.forEach(([lon, lat], i) => {
      const [x, y] = this.toScreen(lat, lon);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.closePath();
    ctx.fillStyle = fill; ctx.fill();
    ctx.strokeStyle = stroke; ctx.lineWidth = 1.5; ctx.stroke();
  }

  line(points, stroke, width = 2) {
    if (points.length < 2) return;
    const ctx = this.ctx;
    ctx.beginPath();
    points.forEach(([lat, lon], i) => {
      const [x, y] = this.toScreen(lat, lon);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.strokeStyle = stroke; ctx.lineWidth = width; ctx.stroke();
  }

  label(lat, lon, text, dx = 8, dy = -8) {
    const [x, y] = this.toScreen(lat, lon);
    const ctx = this.ctx;
    ctx.font = "11px system-ui, sans-serif";
    const wdt = ctx.measureText(text).width;
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(x + dx - 2, y + dy - 10, wdt + 4, 13);
    ctx.fillStyle = "#112"; ctx.fillText(text, x + dx, y + dy);
  }
}
