// The control room: map of docks, drones and incidents; click to raise; incident panel; fleet.
"use strict";

import { OutriderMap } from "./map.js";
import { api, ApiError, el, fmtTime, dockStatus, timelineList } from "./common.js";
import { LivePlayer } from "./player.js";

const $ = (id) => document.getElementById(id);
const state = { docks: [], incidents: [], selected: null, detail: null, detections: [],
  trails: new Map(), pick: null, me: null, map: null };
window.outrider = state;   // for people debugging in the console, and for the UI test

let map, video;

async function signIn() {
  try {
    state.me = await api("/auth/me");
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    $("login").hidden = false;
    await new Promise((resolve) => {
      $("login-form").onsubmit = async (ev) => {
        ev.preventDefault();
        try {
          state.me = await api("/auth/login", { method: "POST", body: { token: $("login-token").value } });
          $("login").hidden = true;
          resolve();
        } catch (err) { $("login-error").textContent = err.message; }
      };
    });
  }
  $("who").textContent = `${state.me.name} (${state.me.role})`;
  $("btn-signout").hidden = false;
}

async function signOut() {
  await api("/auth/logout", { method: "POST" }).catch(() => null);
  location.reload();
}

// Bring the map's layers in step with the state.
function redraw() {
  map.incidents(state.incidents, state.selected, select);
  map.docks(state.docks);
  map.drones(state.docks, state.trails);
  map.detections(state.detections);
  map.pick(state.pick);
}

function onMapClick(lat, lon) {
  if (state.retaskFor) { retask(lat, lon); return; }
  state.pick = { lat, lon };
  $("raise-where").textContent = `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
  $("raise").hidden = false;
  $("raise-result").replaceChildren();
  redraw();
}

async function raise(ev) {
  ev.preventDefault();
  const body = { lat: state.pick.lat, lon: state.pick.lon, type: $("raise-type").value,
    priority: Number($("raise-priority").value) };
  if ($("raise-description").value) body.description = $("raise-description").value;
  if ($("raise-cad").value) body.cad_ref = $("raise-cad").value;
  $("raise-submit").disabled = true;
  try {
    const inc = await api("/incidents", { method: "POST", body });
    $("raise").hidden = true;
    state.pick = null;
    await refreshIncidents();
    select(inc.id);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const docks = (e.body.docks || []).map((d) => el("li", {}, `${d.dock_id}: ${d.code} — ${d.reason}`));
    $("raise-result").replaceChildren(el("p", { class: "error" }, e.message), el("ul", {}, ...docks));
    if (e.body.incident_id) { await refreshIncidents(); select(e.body.incident_id); }
  } finally { $("raise-submit").disabled = false; }
}

function select(id) {
  state.selected = id;
  state.detail = null;
  state.detections = [];
  $("inc-link").replaceChildren();
  $("inc-links").replaceChildren();
  $("incident").hidden = !id;
  refreshDetail();
}

async function refreshDetail() {
  const id = state.selected;
  if (!id) return;
  const inc = await api(`/incidents/${encodeURIComponent(id)}`);
  if (state.selected !== id) return;
  state.detail = inc;
  $("inc-title").textContent = `${inc.id} · ${inc.type} · P${inc.priority}`;
  $("inc-status").textContent = inc.status;
  $("inc-status").dataset.status = inc.status;
  $("inc-dock").textContent = inc.dock_id || "—";
  $("inc-eta").textContent = inc.eta_s != null ? etaText(inc) : "—";
  timelineList($("inc-timeline"), inc.timeline);
  const open = inc.status !== "closed";
  $("btn-recall").disabled = $("btn-retask").disabled = !(open && inc.dock_id);
  $("btn-close").disabled = $("btn-link").disabled = !open;
  await refreshLinks(id, open);
  video.watch(inc.dock_id);
  state.detections = await api(`/incidents/${encodeURIComponent(id)}/detections`);
  $("inc-detections").replaceChildren(...state.detections.map((d) =>
    el("li", {}, `#${d.track_id ?? "?"} ${d.cls} ${(d.conf * 100).toFixed(0)}%`,
      d.lat != null ? ` @ ${d.lat.toFixed(5)}, ${d.lon.toFixed(5)}` : "")));
  redraw();
}

function etaText(inc) {
  const dispatched = inc.timeline.find((l) => l.type === "dispatched");
  const since = dispatched ? (Date.now() - Date.parse(dispatched.at)) / 1000 : 0;
  const left = Math.max(0, inc.eta_s - since);
  return ["on_scene", "returning", "completed", "closed"].includes(inc.status)
    ? `${inc.eta_s.toFixed(0)} s (planned)` : `${left.toFixed(0)} s`;
}

async function act(kind, body = null) {
  const id = state.selected;
  $("inc-action").textContent = `${kind}…`;
  try {
    const r = await api(`/incidents/${encodeURIComponent(id)}/${kind}`, { method: "POST", body });
    $("inc-action").textContent = kind === "links" ? "" : `${kind}: ${r.code || r.status}`;
    if (kind === "links") $("inc-link").replaceChildren(el("a", { href: r.url, target: "_blank", "data-link": r.id }, "officer view link"),
      ` (expires ${fmtTime(r.expires_at)})`);
  } catch (e) { $("inc-action").textContent = `${kind} failed: ${e.message}`; }
  refreshDetail();
}

// The incident's officer links: who made each, until when, and a Revoke button for live ones.
async function refreshLinks(id, open) {
  if (state.me.role === "viewer") return;
  const links = await api(`/incidents/${encodeURIComponent(id)}/links`);
  if (state.selected !== id) return;
  const live = (l) => open && !l.revoked_at && Date.parse(l.expires_at) > Date.now();
  $("inc-links").replaceChildren(...links.map((l) => el("li", { class: live(l) ? "" : "revoked", "data-link": l.id },
    `link ${l.id.slice(0, 6)} by ${l.created_by.replace("user:", "")}, `,
    l.revoked_at ? "revoked" : !open ? "ended with the incident" : `until ${fmtTime(l.expires_at)}`,
    live(l) ? el("button", { onclick: () => revokeLink(id, l.id) }, "Revoke") : "")));
}

async function revokeLink(id, linkId) {
  try {
    await api(`/incidents/${encodeURIComponent(id)}/links/${encodeURIComponent(linkId)}`, { method: "DELETE" });
    $("inc-action").textContent = "link revoked";
    const shown = $("inc-link").querySelector("a");
    if (shown && shown.dataset.link === linkId) $("inc-link").replaceChildren();
  } catch (e) { $("inc-action").textContent = `revoke failed: ${e.message}`; }
  refreshDetail();
}

async function retask(lat, lon) {
  state.retaskFor = null;
  map.setPicking(false);
  await act("retask", { lat, lon });
}

async function refreshDocks() {
  state.docks = await api("/docks");
  for (const d of state.docks) {
    let trail = state.trails.get(d.id) || [];
    if (d.in_air && d.position) {
      const last = trail[trail.length - 1];
      if (!last || last[0] !== d.position.lat || last[1] !== d.position.lon) trail.push([d.position.lat, d.position.lon]);
      if (trail.length > 300) trail = trail.slice(-300);
    } else if (!d.in_air) trail = [];
    state.trails.set(d.id, trail);
  }
  $("fleet-body").replaceChildren(...state.docks.map((d) => el("tr", { "data-dock": d.id, "data-status": dockStatus(d) },
    el("td", {}, d.id), el("td", { class: `st-${dockStatus(d)}` }, dockStatus(d)),
    el("td", {}, d.phase || "—", d.scene_in_view != null
      ? el("div", { class: "scene-view" }, `scene in view ${Math.round(d.scene_in_view * 100)} %`) : ""),
    el("td", {}, d.battery_pct != null ? `${d.battery_pct.toFixed(0)}%` : "—"),
    el("td", {}, d.stale_reason || (d.not_ready[0] ? d.not_ready[0].reason : "")))));
  redraw();
}

async function refreshIncidents() {
  state.incidents = await api("/incidents?limit=100");
  $("incident-list").replaceChildren(...state.incidents.map((i) => el("li", {
    class: i.id === state.selected ? "sel" : "", onclick: () => select(i.id) },
  `${fmtTime(i.created_at)} ${i.type} · ${i.status}${i.dock_id ? " · " + i.dock_id : ""}`)));
  redraw();
}

function every(ms, fn) {
  const loop = async () => {
    try { await fn(); $("conn").textContent = ""; } catch (e) { $("conn").textContent = `connection problem: ${e.message}`; }
    setTimeout(loop, ms);
  };
  loop();
}

async function main() {
  await signIn();
  const cfg = await api("/map");
  map = state.map = new OutriderMap($("map"), cfg, { onClick: onMapClick });
  video = new LivePlayer($("video"), $("video-stats"));
  $("raise-form").onsubmit = raise;
  $("raise-cancel").onclick = () => { $("raise").hidden = true; state.pick = null; redraw(); };
  $("btn-recall").onclick = () => act("recall");
  $("btn-close").onclick = () => act("close");
  $("btn-link").onclick = () => act("links", {});
  $("btn-signout").onclick = signOut;
  $("btn-retask").onclick = () => { state.retaskFor = state.selected; map.setPicking(true);
    $("inc-action").textContent = "click the map for the new target"; };
  every(500, refreshDocks);
  every(2000, refreshIncidents);
  every(1000, refreshDetail);
}

main();
