// The control room: map of docks, drones and incidents; click to raise; incident panel; fleet.
"use strict";

import { OutriderMap } from "./map.js";
import { api, ApiError, el, fmtTime, fmtDuration, fmtClock, dockStatus, timelineList, incidentWords, etaText }
  from "./common.js";
import { LivePlayer } from "./player.js";
import { Chime, VideoStrip } from "./room.js";

const $ = (id) => document.getElementById(id);
// Statuses in which the incident's drone is out for it: recall and retask mean something.
const DRONE_OUT = new Set(["dispatched", "launching", "en_route", "on_scene", "returning"]);
const state = { docks: [], incidents: [], selected: null, detail: null, detections: [],
  trails: new Map(), pick: null, preview: null, me: null, map: null, chime: null, strip: null };
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
  map.route(state.preview && state.pick ? state.preview.route : headingFor(state.detail));
  followSelected();
}

// The selected incident's scene and, while it flies, its drone: what follow mode keeps in view.
function followPoints() {
  const inc = state.detail;
  if (!inc || inc.id !== state.selected) return [];
  const scene = inc.target || { lat: inc.lat, lon: inc.lon };
  const points = [[scene.lat, scene.lon]];
  const d = inc.status !== "closed" && state.docks.find((x) => x.id === inc.dock_id);
  if (d && d.in_air && d.position) points.push([d.position.lat, d.position.lon]);
  else if (d && d.home && ["dispatched", "launching"].includes(inc.status)) points.push([d.home.lat, d.home.lon]);
  return points;
}

function followSelected(force = false) {
  if (state.pick || state.retaskFor) return;   // the dispatcher is placing something: hold still
  const points = followPoints();
  if (!points.length) return;
  map.follow(points, { force: force || state.refit });
  state.refit = false;
}

// Where the selected incident's drone is heading: from the drone to its (possibly retasked)
// target, while it is on its way.
function headingFor(inc) {
  if (!inc || !["dispatched", "launching", "en_route"].includes(inc.status)) return [];
  const d = state.docks.find((x) => x.id === inc.dock_id);
  if (!d || !d.in_air || !d.position) return [];
  return [{ lat: d.position.lat, lon: d.position.lon }, inc.target];
}

function onMapClick(lat, lon) {
  if (state.retaskFor) { retask(lat, lon); return; }
  placePick(lat, lon);
  openRaise();
}

function placePick(lat, lon) {
  state.pick = { lat, lon };
  state.preview = null;
  $("raise-where").textContent = `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
}

// The raise card, with or without a place picked yet (search, or click the map).
function openRaise() {
  if (!state.pick) $("raise-where").textContent = "— click the map or find an address";
  $("raise").hidden = false;
  $("raise-form").hidden = false;
  $("raise-confirm").hidden = true;
  $("raise-result").replaceChildren();
  redraw();
}

// Address search against the basemap's own places (offline): a pick fills the address and
// places the incident's pin there.
async function search() {
  const q = $("raise-search").value.trim();
  const list = $("raise-search-results");
  if (!q) { list.hidden = true; list.replaceChildren(); return; }
  const found = await api(`/map/search?q=${encodeURIComponent(q)}&limit=8`);
  if ($("raise-search").value.trim() !== q) return;   // typed on meanwhile
  list.replaceChildren(...(found.length ? found.map((p) => el("li", { tabindex: "0", "data-name": p.name,
    onclick: () => choosePlace(p), onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); choosePlace(p); } } },
  p.name, el("span", { class: "kind" }, p.kind.replace(/^[a-z_]+=/, "").replace(/_/g, " "))))
    : [el("li", { class: "muted" }, "nothing found on this map")]));
  list.hidden = false;
}

function choosePlace(p) {
  $("raise-address").value = p.name;
  $("raise-search").value = "";
  $("raise-search-results").hidden = true;
  placePick(p.lat, p.lon);
  $("raise-form").hidden = false;
  $("raise-confirm").hidden = true;
  map.setView(p.lat, p.lon, Math.max(map.leaflet.getZoom(), 17));
  redraw();
}

function closeRaise() {
  $("raise").hidden = true;
  $("raise-search").value = "";
  $("raise-search-results").hidden = true;
  state.pick = null;
  state.preview = null;
  redraw();
}

function raiseBody() {
  const body = { lat: state.pick.lat, lon: state.pick.lon, type: $("raise-type").value,
    priority: Number($("raise-priority").value) };
  for (const [field, id] of [["description", "raise-description"], ["address", "raise-address"], ["cad_ref", "raise-cad"]]) {
    const value = $(id).value.trim();
    if (value) body[field] = value;
  }
  return body;
}

// Step one: what would happen (dock, route, ETA; or queue; or refuse), nothing launched yet.
async function check(ev) {
  ev.preventDefault();
  if (!state.pick) {
    $("raise-result").replaceChildren(el("p", { class: "error" }, "Choose the place first: find the address or click the map."));
    return;
  }
  $("raise-submit").disabled = true;
  $("raise-result").replaceChildren();
  try {
    state.preview = await api("/incidents/preview", { method: "POST", body: raiseBody() });
    showPreview(state.preview);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    $("raise-result").replaceChildren(el("p", { class: "error" }, e.message));
  } finally { $("raise-submit").disabled = false; }
  redraw();
}

function showPreview(p) {
  const go = $("confirm-go");
  let text;
  go.hidden = false;
  if (p.outcome === "dispatch") {
    const arrive = fmtClock(new Date(Date.now() + p.eta_s * 1000));
    text = `${p.dock_id} goes: ${(p.route_m / 1000).toFixed(2)} km route, ETA ${fmtDuration(p.eta_s)} ` +
      `(on scene about ${arrive}); needs ${p.needed_pct.toFixed(0)}% of its ${p.battery_pct.toFixed(0)}% battery.`;
    go.textContent = `Dispatch ${p.dock_id}`;
  } else if (p.outcome === "queue") {
    text = "No dock can go now. The incident will be queued and sent as soon as one of these can:";
    go.textContent = "Queue incident";
  } else {
    text = "No dock could ever take this incident:";
    go.hidden = true;
  }
  go.dataset.outcome = p.outcome;
  const b = raiseBody();
  $("confirm-what").textContent = [`${b.type} · P${b.priority}`, b.address, b.description].filter(Boolean).join(" · ");
  $("confirm-summary").textContent = text;
  $("confirm-docks").replaceChildren(...p.docks.map((d) => el("li", {}, `${d.dock_id}: ${d.reason}`)));
  $("raise-form").hidden = true;
  $("raise-confirm").hidden = false;
}

// Step two, confirmed: raise it (dispatched at once, or queued).
async function raise() {
  $("confirm-go").disabled = true;
  try {
    const inc = await api("/incidents", { method: "POST", body: raiseBody() });
    closeRaise();
    $("raise-form").reset();
    await refreshIncidents();
    select(inc.id);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const docks = (e.body.docks || []).map((d) => el("li", {}, `${d.dock_id}: ${d.code} — ${d.reason}`));
    $("raise-result").replaceChildren(el("p", { class: "error" }, e.message), el("ul", {}, ...docks));
    if (e.body.incident_id) { await refreshIncidents(); select(e.body.incident_id); }
  } finally { $("confirm-go").disabled = false; }
}

function select(id) {
  if (id !== state.selected) { map.setFollowing(true); state.refit = true; }
  state.selected = id;
  for (const li of $("incident-list").children) li.classList.toggle("sel", li.dataset.id === id);
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
  state.detailAt = Date.now();
  $("inc-title").textContent = `${inc.id} · ${inc.type} · P${inc.priority}`;
  $("inc-status").textContent = inc.status;
  $("inc-status").dataset.status = inc.status;
  $("inc-dock").textContent = inc.dock_id || "—";
  $("inc-eta").textContent = etaText(inc, state.detailAt);
  incidentWords($("inc-words"), inc);
  showQueue(inc);
  timelineList($("inc-timeline"), inc.timeline);
  const open = inc.status !== "closed";
  const out = DRONE_OUT.has(inc.status) && inc.dock_id;   // a drone to call back or move
  $("btn-recall").disabled = $("btn-retask").disabled = !out;
  $("btn-close").disabled = !open;
  $("btn-link").disabled = !open || !inc.dock_id;   // a link follows a sortie: none yet
  $("btn-cancel").hidden = inc.status !== "queued";
  $("inc-priority").disabled = !open;
  if (document.activeElement !== $("inc-priority")) $("inc-priority").value = String(inc.priority);
  await refreshLinks(id, open);
  // the dock's video while it flies this incident (afterwards it may fly another one)
  const dock = state.docks.find((d) => d.id === inc.dock_id);
  video.watch(dock && dock.incident_id === inc.id ? inc.dock_id : null);
  state.detections = await api(`/incidents/${encodeURIComponent(id)}/detections`);
  $("inc-detections").replaceChildren(...state.detections.map((d) =>
    el("li", {}, `#${d.track_id ?? "?"} ${d.cls} ${(d.conf * 100).toFixed(0)}%`,
      d.lat != null ? ` @ ${d.lat.toFixed(5)}, ${d.lon.toFixed(5)}` : "")));
  redraw();
}

// A queued incident: its place in the queue, the expected wait and the docks it waits for.
function showQueue(inc) {
  const q = inc.queue;
  $("inc-queue").hidden = !q;
  if (!q) return;
  const wait = q.expected_wait_s != null ? `expected wait ${fmtDuration(q.expected_wait_s)}` : "wait unknown";
  $("inc-queue").textContent = `Queued: ${q.position === 1 ? "next" : `number ${q.position}`} in line, ${wait}; ` +
    `waiting for ${q.docks.map((d) => d.dock_id).join(", ") || "a dock"}`;
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
  const selectedDock = state.detail && state.detail.id === state.selected ? state.detail.dock_id : null;
  if (state.strip.update(state.docks, state.incidents, selectedDock)) map.leaflet.invalidateSize({ pan: false });
  const failing = state.docks.filter((d) => d.phase === "failsafe").map((d) => d.id);
  if (failing.some((id) => !(state.failsafe || []).includes(id))) state.chime.ring(true);
  state.failsafe = failing;
  $("fleet-body").replaceChildren(...state.docks.map((d) => el("tr", { "data-dock": d.id, "data-status": dockStatus(d),
    class: d.phase === "failsafe" ? "alarm" : "" },
    el("td", {}, d.id), el("td", { class: `st-${dockStatus(d)}` }, dockStatus(d)),
    el("td", {}, d.phase || "—", d.scene_in_view != null
      ? el("div", { class: "scene-view" }, `scene in view ${Math.round(d.scene_in_view * 100)} %`) : ""),
    el("td", {}, d.battery_pct != null ? `${d.battery_pct.toFixed(0)}%` : "—"),
    el("td", {}, d.stale_reason || (d.not_ready[0] ? d.not_ready[0].reason : "")))));
  redraw();
}

async function refreshIncidents() {
  state.incidents = await api("/incidents?limit=100");
  const known = state.knownIncidents;
  const fresh = known ? state.incidents.filter((i) => !known.has(i.id)) : [];
  state.knownIncidents = new Set(state.incidents.map((i) => i.id));
  const now = Date.now();
  state.fresh = state.fresh || new Map();
  for (const i of fresh) state.fresh.set(i.id, now);
  if (fresh.length) {
    state.chime.ring(false);
    if (!state.selected) select(fresh[0].id);   // nothing else in hand: show the new one
  }
  const isNew = (i) => now - (state.fresh.get(i.id) || 0) < 15000;
  $("incident-list").replaceChildren(...state.incidents.map((i) => el("li", {
    class: [i.id === state.selected ? "sel" : "", isNew(i) ? "new" : ""].join(" ").trim(),
    "data-id": i.id, onclick: () => select(i.id) },
  `${fmtTime(i.created_at)} ${i.type} · P${i.priority} · ${i.status}${i.dock_id ? " · " + i.dock_id : ""}`)));
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
  $("raise-form").onsubmit = check;
  let typing = null;
  $("raise-search").oninput = () => { clearTimeout(typing); typing = setTimeout(() => search().catch(() => null), 150); };
  $("raise-search").onkeydown = (e) => { if (e.key === "Enter") { e.preventDefault(); clearTimeout(typing); search(); } };
  $("raise-search").closest(".search").hidden = !(cfg.basemap.places > 0);
  $("btn-new").onclick = () => { state.pick = null; state.preview = null; openRaise(); redraw(); $("raise-search").focus(); };
  state.chime = new Chime($("btn-mute"));
  state.strip = new VideoStrip($("video-strip"), select);
  map.onFollow = () => followSelected(true);
  $("raise-cancel").onclick = closeRaise;
  $("confirm-go").onclick = raise;
  $("confirm-back").onclick = () => { $("raise-confirm").hidden = true; $("raise-form").hidden = false;
    state.preview = null; redraw(); };
  $("btn-cancel").onclick = () => act("cancel");
  $("inc-priority").onchange = () => act("priority", { priority: Number($("inc-priority").value) });
  $("btn-recall").onclick = () => act("recall");
  $("btn-close").onclick = () => act("close");
  $("btn-link").onclick = () => act("links", {});
  $("btn-signout").onclick = signOut;
  $("btn-retask").onclick = () => { state.retaskFor = state.selected; map.setPicking(true);
    $("inc-action").textContent = "click the map for the new target"; };
  every(500, refreshDocks);
  every(2000, refreshIncidents);
  every(1000, refreshDetail);
  setInterval(() => { if (state.detail) $("inc-eta").textContent = etaText(state.detail, state.detailAt); }, 250);
}

main();
