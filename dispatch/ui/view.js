// The officer's live view: one incident, its drone's video, a map and the timeline, behind a
// link (?token=...) that expires, can be withdrawn, and ends with the incident or its sortie.
"use strict";

import { OutriderMap } from "./map.js";
import { api, ApiError, timelineList, incidentWords, etaText } from "./common.js";
import { LivePlayer } from "./player.js";

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
  // the scene and the drone both in view, once, when the drone is first seen in the air
  const p = state.dock && state.dock.in_air && state.dock.position;
  if (inc && p && !state.framed) {
    map.fit([[inc.target.lat, inc.target.lon], [p.lat, p.lon]]);
    state.framed = map.shows(p.lat, p.lon);
  } else if (inc && p) {
    map.follow([[inc.target.lat, inc.target.lon], [p.lat, p.lon]]);   // until the officer drags the map
  }
}

// Why a link no longer opens anything, in the officer's words.
const LINK_ENDED = {
  link_expired: ["link expired", "This link has expired. Ask the control room for a new one."],
  link_revoked: ["link withdrawn", "This link was withdrawn by the control room."],
  link_ended: ["incident closed", "The incident is closed, and this link with it."],
  unauthorized: ["invalid link", "This link is not valid. Check that it was copied whole."],
};

async function refresh() {
  const inc = await api(`/incidents/${encodeURIComponent(incidentId)}`, { token });
  state.incident = inc;
  state.gotAt = Date.now();
  $("title").textContent = `${inc.type} · P${inc.priority}`;
  $("status").textContent = inc.status;
  $("eta").textContent = etaText(inc, state.gotAt);
  incidentWords($("words"), inc);
  timelineList($("timeline"), inc.timeline);
  if (inc.dock_id) {
    try {
      state.dock = await api(`/docks/${encodeURIComponent(inc.dock_id)}`, { token });
    } catch (e) {
      // 403: the drone's sortie for this incident is over; the link shows nothing of the dock now
      if (!(e instanceof ApiError && e.status === 403)) throw e;
      state.dock = null; state.trail = []; video.stop();
      $("video-stats").textContent = "the drone's sortie for this incident is over";
      redraw();
      return;
    }
    const p = state.dock.position;
    if (state.dock.in_air && p) state.trail.push([p.lat, p.lon]);
    if (state.trail.length > 300) state.trail.shift();
    video.watch(inc.dock_id, token);
  }
  redraw();
}

function loop() {
  refresh().then(() => { $("conn").textContent = ""; setTimeout(loop, 1000); }, (e) => {
    const ended = e instanceof ApiError && e.status === 401;
    if (!ended) { $("conn").textContent = `connection problem: ${e.message}`; setTimeout(loop, 3000); return; }
    const [short, why] = LINK_ENDED[e.body.code] || LINK_ENDED.unauthorized;
    $("conn").textContent = short;
    $("conn").dataset.code = e.body.code || "unauthorized";
    // what the link showed goes too: the control room took it back, or it ran out
    video.stop();
    $("content").hidden = true;
    $("title").textContent = "live view";
    $("ended-text").textContent = why;
    $("ended").hidden = false;
  });
}

async function main() {
  const cfg = await api("/map", { token }).catch(() => ({ center: { lat: 51.5, lon: -0.12 }, zoom: 15,
    basemap: { kind: "none", tile_url: "", attribution: "" }, no_fly: null }));
  map = state.map = new OutriderMap($("map"), cfg, { token });
  video = new LivePlayer($("video"), $("video-stats"));
  const first = await api(`/incidents/${encodeURIComponent(incidentId)}`, { token }).catch((e) => e);
  if (!(first instanceof Error)) map.setView(first.lat, first.lon, 16);
  loop();
  setInterval(() => { if (state.incident) $("eta").textContent = etaText(state.incident, state.gotAt); }, 250);
}

main();
