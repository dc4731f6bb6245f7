// The public AI register page: renders /public/ai.json (no login).
const LABELS = {
  tier_1: "Summary", tier_2: "Details", owner_and_responsibility: "Owner and responsibility",
  description_and_rationale: "Description and rationale", decision_making_process: "Decision making",
  model_specification: "Model", data_specification: "Data", risks_and_mitigations: "Risks and mitigations",
  sha256: "SHA-256", iou_threshold: "IoU threshold", f1: "F1", min_height_px: "Smallest object (px)",
};
const label = (key) => LABELS[key] || key.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());

const short = (v) => v === null || ["string", "number", "boolean"].includes(typeof v);

function value(v, depth = 0) {
  if (v === null || v === undefined || v === "") return document.createTextNode("—");
  if (Array.isArray(v)) {
    if (v.every((item) => short(item) && String(item).length < 40)) {
      return document.createTextNode(v.join(", "));  // class names and the like, inline
    }
    const ul = document.createElement("ul");
    for (const item of v) { const li = document.createElement("li"); li.append(value(item, depth + 1)); ul.append(li); }
    return ul;
  }
  if (typeof v === "object") {
    if (depth >= 2 && Object.values(v).every(short)) {  // a small record, on one line
      return document.createTextNode(Object.entries(v).map(([k, x]) => `${label(k)} ${x ?? "—"}`).join(" · "));
    }
    return list(v, depth + 1);
  }
  const s = String(v);
  if (/^[0-9a-f]{64}$/.test(s)) { const c = document.createElement("code"); c.textContent = s; return c; }
  return document.createTextNode(typeof v === "boolean" ? (v ? "yes" : "no") : s);
}

function list(obj, depth = 0) {
  const dl = document.createElement("dl");
  for (const [k, v] of Object.entries(obj)) {
    const dt = document.createElement("dt"); dt.textContent = label(k);
    const dd = document.createElement("dd"); dd.append(value(v, depth));
    dl.append(dt, dd);
  }
  return dl;
}

async function main() {
  const register = await fetch("/public/ai.json").then((r) => r.json());
  document.getElementById("standard").textContent = register.standard;
  const root = document.getElementById("records");
  root.replaceChildren();
  for (const record of register.records) {
    const box = document.createElement("section"); box.className = "record";
    const h = document.createElement("h2"); h.textContent = record.tier_1.name;
    box.append(h);
    const summary = document.createElement("h3"); summary.textContent = "Summary";
    box.append(summary, list(record.tier_1));
    for (const [section, content] of Object.entries(record.tier_2 || {})) {
      const h3 = document.createElement("h3"); h3.textContent = label(section);
      box.append(h3, list(content, 1));
    }
    root.append(box);
  }
}

main().catch((err) => { document.getElementById("records").textContent = `Could not load: ${err}`; });
