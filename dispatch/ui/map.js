// The map of the control room and the officer view, on Leaflet (vendored, nothing fetched from
// outside): the basemap dispatch names — an offline tile file it serves, a force's own tile
// server, or a plain grid — and the layers the pages show: no-fly zones, docks, drones with
// their trails, incidents, detections and a picked point. Each layer is kept in step with
// the page's state by id, so a refresh moves markers instead of redrawing the map.
"use strict";

import * as L from "./vendor/leaflet/leaflet-src.esm.js";
import { dockStatus } from "./common.js";

const OSM_COPYRIGHT = "https://www.openstreetmap.org/copyright";
const CLUSTER_PX = 36;   // detections closer than this on screen share one marker
const FOLLOW_MAX_ZOOM = 17;   // follow mode comes no closer: the scene's streets stay readable

// Group points within `radius` pixels of a group's first point (`project` gives a point's
// pixel position at the current zoom); each group: its mean position, members and a label
// counting each class, most frequent first ("3 person, 1 bus"), or the one object's class and
// confidence.
export function clusterDetections(points, project, radius) {
  const groups = [];
  for (const d of points) {
    const at = project(d);
    const g = groups.find((c) => Math.hypot(c.at.x - at.x, c.at.y - at.y) <= radius);
    if (g) g.members.push(d); else groups.push({ at, members: [d] });
  }
  return groups.map(({ members }) => {
    const counts = new Map();
    for (const d of members) counts.set(d.cls, (counts.get(d.cls) || 0) + 1);
    const label = members.length === 1 ? `${members[0].cls} ${(members[0].conf * 100).toFixed(0)}%`
      : [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([c, n]) => `${n} ${c}`).join(", ");
    return { members, label, lat: members.reduce((s, d) => s + d.lat, 0) / members.length,
      lon: members.reduce((s, d) => s + d.lon, 0) / members.length };
  });
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// The credit line as HTML: escaped, with OpenStreetMap's credit linked to its licence page.
function attributionHtml(text) {
  return escapeHtml(text).replace("OpenStreetMap contributors",
    `<a href="${OSM_COPYRIGHT}" target="_blank" rel="noopener">OpenStreetMap contributors</a>`);
}

// Without a basemap: a light grid with the corner of each tile labelled, so positions still read.
const Grid = L.GridLayer.extend({
  createTile(coords) {
    const tile = document.createElement("canvas");
    const size = this.getTileSize();
    tile.width = size.x; tile.height = size.y;
    const ctx = tile.getContext("2d");
    ctx.strokeStyle = "rgba(60,80,100,0.25)";
    ctx.strokeRect(0.5, 0.5, size.x, size.y);
    const corner = this._map.unproject(coords.scaleBy(size), coords.z);
    ctx.fillStyle = "rgba(60,80,100,0.6)";
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillText(`${corner.lat.toFixed(4)}, ${corner.lng.toFixed(4)}`, 4, 12);
    return tile;
  },
});

function icon(className, html, size) {
  return L.divIcon({ className, html, iconSize: [size, size], iconAnchor: [size / 2, size / 2] });
}

// Colours by class and rotation as an SVG attribute: the page's policy forbids inline styles.
function dockIcon(d) {
  return icon("or-dock", `<span class="st-${dockStatus(d)}"></span>`, 16);
}

function droneIcon(d) {
  const colour = d.stale ? "#8a94a0" : "#2563eb";
  return icon("or-drone", `<svg viewBox="-12 -12 24 24" width="24" height="24"><g transform="rotate(${
    Math.round(d.heading_deg || 0)})"><path d="M0,-11 L7,8 L0,4 L-7,8 Z" fill="${colour}" stroke="#fff" stroke-width="1.5"/></g></svg>`, 24);
}

// A dock's label: its name, and how far it can go now when docked.
function dockLabel(d) {
  return d.reach_m > 0 && !d.in_air ? `${d.id} · ${(d.reach_m / 1000).toFixed(1)} km` : d.id;
}

// Keep `layers` (id -> layer, all in `group`) in step with `items`: add, update, remove.
function sync(group, layers, items, key, create, update) {
  const seen = new Set();
  for (const item of items) {
    const id = key(item);
    if (id == null) continue;
    seen.add(id);
    const layer = layers.get(id);
    if (layer) update(layer, item);
    else { const made = create(item); layers.set(id, made); group.addLayer(made); }
  }
  for (const [id, layer] of layers) {
    if (!seen.has(id)) { group.removeLayer(layer); layers.delete(id); }
  }
}

function setIcon(marker, made) {
  const html = made.options.html;
  if (marker._orHtml !== html) { marker.setIcon(made); marker._orHtml = html; }
}

export class OutriderMap {
  // `cfg` is GET /api/v1/map; `token` (an officer link) goes with every tile request.
  constructor(element, cfg, { token = null, onClick = null } = {}) {
    const map = this.leaflet = L.map(element, { zoomControl: true, maxZoom: 20, minZoom: 3 });
    map.attributionControl.setPrefix(`<a href="https://leafletjs.com" target="_blank" rel="noopener">Leaflet</a>`);
    this.basemap = cfg.basemap;
    this.tiles = this._basemap(cfg.basemap, token).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    map.setView([cfg.center.lat, cfg.center.lon], cfg.zoom);
    this.zones = L.geoJSON(cfg.no_fly || undefined, {
      style: { color: "#dc2626", weight: 1.5, opacity: 0.7, fillOpacity: 0.12 },
      onEachFeature: (f, layer) => {
        if (f.properties && f.properties.name) {
          const short = String(f.properties.name).split(" (")[0];   // the rest is in the legend of the file
          layer.bindTooltip(`No-fly: ${short}`, { permanent: true, direction: "center", className: "or-label or-zone-label" });
        }
      },
    }).addTo(map);
    this.groups = {};
    this.layers = {};
    for (const name of ["rings", "footprints", "route", "trails", "incidents", "docks", "drones", "detections", "pick"]) {
      this.groups[name] = L.layerGroup().addTo(map);
      this.layers[name] = new Map();
    }
    if (onClick) map.on("click", (e) => onClick(e.latlng.lat, e.latlng.lng));
    map.on("zoomend", () => { if (this._detections) this.detections(this._detections); });
    this._followControl();
  }

  // The Follow button (top left, under the zoom): on by default; a drag of the map turns it off.
  _followControl() {
    const control = L.control({ position: "topleft" });
    control.onAdd = () => {
      const bar = L.DomUtil.create("div", "leaflet-bar or-follow-bar");
      const button = this.followButton = L.DomUtil.create("a", "or-follow", bar);
      button.href = "#"; button.setAttribute("role", "button"); button.id = "map-follow";
      button.title = "Keep the selected incident's drone and scene in view";
      button.textContent = "Follow";
      L.DomEvent.disableClickPropagation(bar);
      L.DomEvent.on(button, "click", (e) => { L.DomEvent.preventDefault(e); this.setFollowing(!this.following);
        if (this.following && this.onFollow) this.onFollow(); });
      return bar;
    };
    control.addTo(this.leaflet);
    this.setFollowing(true);
    this.leaflet.on("dragstart", () => this.setFollowing(false));
    this.leaflet.on("zoomstart", () => { if (!this._moving) this.setFollowing(false); });
  }

  _basemap(b, token) {
    if (!b.tile_url) return new Grid({ maxZoom: 20 });
    let url = b.tile_url;
    if (token && b.kind === "file") url += `?token=${encodeURIComponent(token)}`;
    const options = { attribution: attributionHtml(b.attribution || ""), maxZoom: 20,
      maxNativeZoom: b.max_zoom, minNativeZoom: Math.min(b.min_zoom, b.max_zoom) };
    if (b.bounds) options.bounds = L.latLngBounds([b.bounds[1], b.bounds[0]], [b.bounds[3], b.bounds[2]]);
    return L.tileLayer(url, options);
  }

  setView(lat, lon, zoom = this.leaflet.getZoom()) { this._auto(() => this.leaflet.setView([lat, lon], zoom, { animate: false })); }

  // Bring every point into view, not closer than a street's scale.
  fit(points) {
    this.leaflet.invalidateSize({ pan: false });   // the page may have laid itself out since
    this._auto(() => this.leaflet.fitBounds(L.latLngBounds(points), { padding: [30, 30], maxZoom: 17, animate: false }));
  }

  shows(lat, lon) { return this.leaflet.getBounds().contains([lat, lon]); }

  // Click-to-pick mode (e.g. a retask target): the cursor and outline show it.
  setPicking(on) { this.leaflet.getContainer().classList.toggle("picking", on); }

  docks(docks) {
    sync(this.groups.docks, this.layers.docks, docks.filter((d) => d.home), (d) => d.id,
      (d) => {
        const m = L.marker([d.home.lat, d.home.lon], { icon: dockIcon(d), keyboard: false, title: d.id });
        m._orHtml = m.options.icon.options.html;
        return m.bindTooltip(dockLabel(d), { permanent: true, direction: "right", offset: [8, -8], className: "or-label" });
      },
      (m, d) => { m.setLatLng([d.home.lat, d.home.lon]); setIcon(m, dockIcon(d)); m.setTooltipContent(dockLabel(d)); });
    this.rings(docks);
  }

  // How far each docked drone can go now (out, on scene, back with its reserve), as a ring.
  rings(docks) {
    const shown = docks.filter((d) => d.home && d.reach_m > 0 && !d.in_air);
    const style = (d) => ({ radius: d.reach_m, color: dockStatus(d) === "ready" ? "#1f9d55" : "#b7791f",
      weight: 1.5, opacity: 0.7, dashArray: "4 6", fill: false, interactive: false });
    sync(this.groups.rings, this.layers.rings, shown, (d) => d.id,
      (d) => L.circle([d.home.lat, d.home.lon], style(d)),
      (c, d) => { c.setLatLng([d.home.lat, d.home.lon]); c.setStyle(style(d)); c.setRadius(d.reach_m); });
  }

  drones(docks, trails) {
    const flying = docks.filter((d) => d.in_air && d.position);
    const label = (d) => [d.id, `${Math.round(d.position.alt_rel_m || 0)} m`,
      d.battery_pct != null ? `${Math.round(d.battery_pct)}%` : null, (d.phase || "").replace("_", " ")]
      .filter(Boolean).join(" · ");
    sync(this.groups.drones, this.layers.drones, flying, (d) => d.id,
      (d) => {
        const m = L.marker([d.position.lat, d.position.lon], { icon: droneIcon(d), keyboard: false, zIndexOffset: 1000 });
        m._orHtml = m.options.icon.options.html;
        return m.bindTooltip(label(d), { permanent: true, direction: "left", offset: [-12, 0], className: "or-label or-drone-label" });
      },
      (m, d) => { m.setLatLng([d.position.lat, d.position.lon]); setIcon(m, droneIcon(d)); m.setTooltipContent(label(d)); });
    this.footprints(flying);
    const lines = [...trails.entries()].filter(([, t]) => t.length > 1).map(([id, t]) => ({ id, t }));
    sync(this.groups.trails, this.layers.trails, lines, (l) => l.id,
      (l) => L.polyline(l.t, { color: "#2563eb", opacity: 0.6, weight: 2, interactive: false }),
      (p, l) => p.setLatLngs(l.t));
  }

  // What each flying drone's camera shows on the ground (dispatch projects the picture's corners).
  footprints(flying) {
    const shown = flying.filter((d) => d.footprint && d.footprint.length >= 3);
    const corners = (d) => d.footprint.map((c) => [c.lat, c.lon]);
    sync(this.groups.footprints, this.layers.footprints, shown, (d) => d.id,
      (d) => L.polygon(corners(d), { color: "#0ea5e9", weight: 1.5, opacity: 0.9, fillColor: "#38bdf8",
        fillOpacity: 0.18, interactive: false, className: "or-footprint" }),
      (p, d) => p.setLatLngs(corners(d)));
  }

  incidents(incidents, selected, onSelect = null) {
    const style = (i) => ({ radius: i.id === selected ? 10 : 7, weight: 2,
      color: i.id === selected ? "#111" : "#fff", fillOpacity: 0.85,
      fillColor: i.status === "closed" ? "#777" : "#dc2626" });
    sync(this.groups.incidents, this.layers.incidents, incidents, (i) => i.id,
      (i) => {
        const m = L.circleMarker([i.lat, i.lon], { ...style(i), bubblingMouseEvents: false });
        if (onSelect) m.on("click", () => onSelect(i.id));
        return m.bindTooltip("", { direction: "right", offset: [10, 0], className: "or-label" });
      },
      (m, i) => {
        m.setLatLng([i.lat, i.lon]); m.setStyle(style(i)); m.setRadius(style(i).radius);
      });
    const moved = incidents.filter((i) => i.status !== "closed" && i.target
      && (Math.abs(i.target.lat - i.lat) > 1e-6 || Math.abs(i.target.lon - i.lon) > 1e-6));
    sync(this.groups.incidents, this.layers.targets || (this.layers.targets = new Map()), moved, (i) => `target:${i.id}`,
      (i) => L.circleMarker([i.target.lat, i.target.lon], { radius: 6, weight: 2, color: "#dc2626", fill: false, dashArray: "3 3" })
        .bindTooltip("retask target", { permanent: true, direction: "right", offset: [8, 0], className: "or-label" }),
      (m, i) => m.setLatLng([i.target.lat, i.target.lon]));
    for (const i of incidents) {
      const m = this.layers.incidents.get(i.id);
      m.setTooltipContent(`${i.type} · ${i.status}`);
      if (i.id === selected) m.openTooltip(); else m.closeTooltip();
    }
  }

  // Confirmed detections only (a track id: the edge saw the object in several frames), those
  // within CLUSTER_PX of each other on screen as one marker with a count per class.
  detections(detections) {
    this._detections = detections;
    const confirmed = detections.filter((d) => d.lat != null && d.track_id != null);
    const map = this.leaflet;
    const groups = clusterDetections(confirmed, (d) => map.latLngToLayerPoint([d.lat, d.lon]), CLUSTER_PX);
    const items = groups.map((g) => ({ ...g, key: g.members.map((d) => `${d.sortie_id || ""}:${d.track_id}`).sort()[0] }));
    const radius = (g) => Math.min(14, 5 + 2 * Math.sqrt(g.members.length - 1));
    sync(this.groups.detections, this.layers.detections, items, (g) => g.key,
      (g) => {
        const m = L.circleMarker([g.lat, g.lon], { radius: radius(g), weight: 1.5, color: "#fff", fillColor: "#9333ea",
          fillOpacity: 0.9, className: "or-detection" });
        m._orCount = g.members.length;
        return m.bindTooltip(g.label, { permanent: true, direction: "top", offset: [0, -8], className: "or-label or-detection-label" });
      },
      (m, g) => { m.setLatLng([g.lat, g.lon]); m.setRadius(radius(g)); m._orCount = g.members.length; m.setTooltipContent(g.label); });
  }

  // Follow mode: keep `points` (the selected incident's drone and its scene) in view as they
  // move, as close as a street's scale; off as soon as the dispatcher drags or zooms the map,
  // back on with the button.
  setFollowing(on) {
    this.following = on;
    this.followButton.setAttribute("aria-pressed", String(on));
    this.followButton.classList.toggle("on", on);
  }

  follow(points, { force = false } = {}) {
    if (!this.following || !points.length) return;
    const map = this.leaflet;
    map.invalidateSize({ pan: false });
    const want = L.latLngBounds(points);
    const zoom = map.getZoom();
    const best = Math.min(FOLLOW_MAX_ZOOM, map.getBoundsZoom(want, false, L.point(120, 120)));
    const inner = map.getBounds().pad(-0.15);   // a margin: move before anything reaches the edge
    // As close as they fit (no closer than FOLLOW_MAX_ZOOM): zoom out when they no longer fit,
    // in as the drone nears its scene; otherwise only pan, and only when they near the edge.
    if (force || best !== zoom) this._auto(() => map.setView(want.getCenter(), best, { animate: false }));
    else if (!inner.contains(want)) this._auto(() => map.panTo(want.getCenter(), { animate: false }));
  }

  // Move the map on the page's own account (not the dispatcher's: follow mode stays on).
  _auto(move) {
    this._moving = true;
    try { move(); } finally { this._moving = false; }
  }

  // A planned route (the confirm step's), dashed; none when empty.
  route(points) {
    const items = points && points.length > 1 ? [{ id: "route", pts: points.map((p) => [p.lat, p.lon]) }] : [];
    sync(this.groups.route, this.layers.route, items, (r) => r.id,
      (r) => L.polyline(r.pts, { color: "#b91c1c", weight: 3, opacity: 0.8, dashArray: "6 6", interactive: false }),
      (line, r) => line.setLatLngs(r.pts));
  }

  // The point picked for a new incident (a cross), or none.
  pick(point) {
    const items = point ? [{ id: "pick", ...point }] : [];
    sync(this.groups.pick, this.layers.pick, items, (p) => p.id,
      (p) => L.marker([p.lat, p.lon], { icon: icon("or-pick", "<span></span>", 18), interactive: false }),
      (m, p) => m.setLatLng([p.lat, p.lon]));
  }
}
