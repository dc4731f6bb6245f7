// The public AI register page: renders /public/ai.json (no login).
const LABELS = {
  tier_1: "Summary", tier_2: "Details", owner_and_responsibility: "Owner and responsibility",
  description_and_rationale: "Description and rationale", decision_making_process: "Decision making",
  model_specification: "Model", data_specification: "Data", risks_and_mitigations: "Risks and mitigations",
};
const label = (key) => LABELS[key] || key.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());

function value(v) {
  if (v === null || v === undefined || v === "") return document.createTextNode("—");
  if (Array.isArray(v)) {
    const ul = document.createElement("ul");
    for (const item of v) { const li = document.createElement("li"); li.append(value(item)); ul.append(li); }
    return ul;
  }
  if (typeof v === "object") return list(v);
  const s = String(v);
  if (/^[0-9a-f]{64}$/.test(s)) { const c = document.createElement("code"); c.textContent = s; return c; }
  return document.createTextNode(typeof v === "boolean" ? (v ? "yes" : "no") : s);
}

function list(obj) {
  const dl = document.createElement("dl");
  for (const [k, v] of Object.entries(obj)) {
    const dt = document.createElement("dt"); dt.textContent = label(k);
    const dd = document.createElement("dd"); dd.append(value(v));
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
    for (const [k, v] of Object.entries(record)) {
      const h3 = document.createElement("h3"); h3.textContent = label(k);
      box.append(h3, list(v));
    }
    root.append(box);
  }
}

main().catch((err) => { document.getElementById("records").textContent = `Could not load: ${err}`; });
