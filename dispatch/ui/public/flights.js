// The public flight register page: reads /public/flights.json and .geojson (no login).
const text = (tag, value, cls) => {
  const el = document.createElement(tag);
  el.textContent = value;
  if (cls) el.className = cls;
  return el;
};

function drawPaths(svg, features, flights) {
  const lines = features.flatMap((f) => (f.geometry ? f.geometry.coordinates : []));
  const pts = lines.flat();
  if (!pts.length) {
    // A short flight can stay wholly inside the exclusion round its scene and dock.
    const why = flights ? "No path to draw: every published flight stayed near its scene or dock"
      : "No published paths yet";
    svg.append(Object.assign(document.createElementNS("http://www.w3.org/2000/svg", "text"),
      { textContent: why }));
    svg.lastChild.setAttribute("x", 20); svg.lastChild.setAttribute("y", 40);
    svg.lastChild.setAttribute("font-size", 14);
    return;
  }
  const lons = pts.map((p) => p[0]), lats = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const k = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
  const scale = Math.min(560 / Math.max((x1 - x0) * k, 1e-6), 270 / Math.max(y1 - y0, 1e-6));
  const ns = "http://www.w3.org/2000/svg";
  const metresPerUnit = 111320 / scale;  // one SVG unit on the ground
  const bar = [100, 200, 500, 1000, 2000, 5000, 10000].find((m) => m / metresPerUnit > 60) || 10000;
  const barLen = bar / metresPerUnit;
  const scaleLine = document.createElementNS(ns, "line");
  Object.entries({ x1: 20, y1: 312, x2: 20 + barLen, y2: 312, class: "scale" }).forEach(([k, v]) => scaleLine.setAttribute(k, v));
  const scaleText = document.createElementNS(ns, "text");
  scaleText.setAttribute("x", 26 + barLen); scaleText.setAttribute("y", 316); scaleText.setAttribute("class", "scale");
  scaleText.textContent = bar >= 1000 ? `${bar / 1000} km` : `${bar} m`;
  svg.append(scaleLine, scaleText);
  for (const line of lines) {
    const poly = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    poly.setAttribute("points", line.map(([x, y]) =>
      `${20 + (x - x0) * k * scale},${290 - (y - y0) * scale}`).join(" "));
    svg.append(poly);
  }
}

async function main() {
  const [register, geo] = await Promise.all([
    fetch("/public/flights.json").then((r) => r.json()),
    fetch("/public/flights.geojson").then((r) => r.json()),
  ]);
  const delay = register.publication_delay_h;
  document.getElementById("delay").textContent = delay > 0 ? `${delay} hours after landing` : "as soon as it lands";
  document.getElementById("exclusion").textContent = `${register.exclusion_m} m`;
  const flights = register.flights;
  const minutes = flights.reduce((s, f) => s + f.duration_min, 0);
  const km = flights.reduce((s, f) => s + f.distance_km, 0);
  const summary = document.getElementById("summary");
  for (const [label, value] of [["flights", flights.length], ["minutes flown", minutes],
    ["km flown", km.toFixed(1)]]) {
    const box = document.createElement("div");
    box.append(text("b", value), text("span", label));
    summary.append(box);
  }
  const body = document.getElementById("flights");
  body.replaceChildren();
  if (!flights.length) body.append(Object.assign(text("td", "No flights published yet."), { colSpan: 9 }));
  for (const f of flights) {
    const row = document.createElement("tr");
    row.append(text("td", f.date), text("td", f.takeoff_time), text("td", f.dock),
      text("td", f.category), text("td", `${f.duration_min} min`, "num"),
      text("td", `${f.distance_km.toFixed(1)} km`, "num"), text("td", f.detection_ran ? "yes" : "no"),
      text("td", f.redaction_ran ? "yes" : "no"), text("td", f.outcome.replace("_", " ")));
    body.append(row);
  }
  drawPaths(document.getElementById("paths"), geo.features, flights.length);
}

main().catch((err) => {
  document.getElementById("flights").replaceChildren(text("td", `Could not load the register: ${err}`));
});
