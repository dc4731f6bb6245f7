// Pieces of the control room beside the map: every sortie's live video in a strip, and the
// tone for what needs the dispatcher's eyes, with its mute button.
"use strict";

import { el } from "./common.js";
import { LivePlayer } from "./player.js";

// Every sortie's live video, small: a player per flying dock, made when it takes off and
// dropped when it lands; a click on one calls `onPick(incidentId)`. The selected incident's
// dock plays large in the incident panel instead, so no dock's video comes twice.
export class VideoStrip {
  constructor(container, onPick) {
    this.box = container;
    this.onPick = onPick;
    this.items = new Map();   // dock id -> { node, player, incident }
  }

  // Bring the strip in step; true when it was shown or hidden (the map must resize).
  update(docks, incidents, selectedDock) {
    const flying = docks.filter((d) => d.in_air && d.sortie_id);
    for (const [id, item] of this.items) {
      if (!flying.some((d) => d.id === id)) { item.player.destroy(); item.node.remove(); this.items.delete(id); }
    }
    for (const d of flying) {
      let item = this.items.get(d.id);
      if (!item) {
        const picture = el("div", { class: "strip-video" });
        const node = el("div", { class: "strip-item", "data-dock": d.id,
          onclick: () => { if (item.incident) this.onPick(item.incident); } }, picture, el("div", { class: "caption" }));
        this.box.append(node);
        item = { node, player: new LivePlayer(picture), incident: null };
        this.items.set(d.id, item);
      }
      if (d.id === selectedDock) item.player.stop(); else item.player.watch(d.id);
      item.incident = d.incident_id;
      const inc = incidents.find((i) => i.id === d.incident_id);
      item.node.querySelector(".caption").textContent = [d.id, inc ? inc.type : d.incident_id,
        (d.phase || "").replace("_", " ")].filter(Boolean).join(" · ");
      item.node.classList.toggle("sel", d.id === selectedDock);
    }
    const was = this.box.hidden;
    this.box.hidden = flying.length === 0;
    return was !== this.box.hidden;
  }
}

// A short tone for a new incident (lower) or a failsafe (higher), unless muted; the choice is
// kept on this desk. `played` counts the tones, `last` names the latest alert.
export class Chime {
  constructor(button) {
    this.button = button;
    this.played = 0;
    this.last = null;
    this.setMuted(localStorage.getItem("outrider.sound") === "off");
    button.onclick = () => this.setMuted(!this.muted);
  }

  setMuted(on) {
    this.muted = on;
    localStorage.setItem("outrider.sound", on ? "off" : "on");
    this.button.setAttribute("aria-pressed", String(on));
    this.button.textContent = on ? "Sound off" : "Sound on";
  }

  ring(failsafe) {
    this.last = failsafe ? "failsafe" : "incident";
    if (this.muted) return;
    this.played += 1;
    try {
      const ctx = this.audio || (this.audio = new AudioContext());
      const tone = ctx.createOscillator(), gain = ctx.createGain();
      tone.frequency.value = failsafe ? 1320 : 880;
      gain.gain.setValueAtTime(0.15, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.4);
      tone.connect(gain).connect(ctx.destination);
      tone.start(); tone.stop(ctx.currentTime + 0.4);
    } catch (e) { /* no audio device: the highlight still shows */ }
  }
}
