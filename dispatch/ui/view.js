// The officer's live view: one incident, its drone's video, a map and the timeline, behind a
// signed link (?token=...) that expires.
"use strict";

import { OutriderMap } from "./map.js";
import { api, ApiError, VideoFeed, timelineList } from "./common.js";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token");
const incidentId = decodeURIComponent(location.pathname.split("/").pop());
const state = { incident: null, dock: null, trail: [], map: null };
window.outrider = state;
let map, video;

function redraw() {
  const inc = state.incident;
  map.incidents(inc ? [inc] : [], inc && inc.id);
  const docks = state.dock ? [state.dock] : [];
  map.docks(docks);
  map.drones(docks, new Map(state.dock ? [[state.dock.id, state.trail]] : []));
}

async function refresh() {
  const inc = await api(`/incidents/${encodeURIComponent(incidentId)}`, { token });
  state.incident = inc;
  $("title").textContent = `${inc.type} · P${inc.priority}`;
  $("status").textContent = inc.status;
  $("eta").textContent = inc.eta_s != null ? `${inc.eta_s.toFixed(0)} s` : "—";
  timelineList($("timeline"), inc.timeline.slice().reverse());
  if (inc.dock_id) {
    state.dock = await api(`/docks/${encodeURIComponent(inc.dock_id)}`, { token });
    const p = state.dock.position;
    if (state.dock.in_air && p) state.trail.push([p.lat, p.lon]);
    if (state.trail.length > 300) state.trail.shift();
    video.watch(inc.dock_id, token);
  }
  redraw();
}

function loop() {
  refresh().then(() => { $("conn").textContent = ""; setTimeout(loop, 1000); }, (e) => {
    $("conn").textContent = e instanceof ApiError && e.status === 401 ? "this link has expired" : `connection problem: ${e.message}`;
    if (!(e instanceof ApiError && e.status === 401)) setTimeout(loop, 3000);
    else video.stop();
  });
}

async function main() {
  const cfg = await api("/map", { token }).catch(() => ({ center: { lat: 51.5, lon: -0.12 }, zoom: 15,
    basemap: { kind: "none", tile_url: "", attribution: "" }, no_fly: null }));
  map = state.map = new OutriderMap($("map"), cfg, { token });
  video = new VideoFeed($("video"), $("video-stats"));
  const first = await api(`/incidents/${encodeURIComponent(incidentId)}`, { token }).catch((e) => e);
  if (!(first instanceof Error)) map.setView(first.lat, first.lon, 16);
  loop();
}

main();
