// encephagen viewer: draws the data that encephagen.view inlined above this script.
// Vanilla JS + SVG (graph) + canvas (raster, rates); no network access, no dependencies.
(function () {
  "use strict";
  const started = performance.now();
  const data = JSON.parse(document.getElementById("encephagen-data").textContent);
  const SVGNS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#8c6d31", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d"];
  const SIGN_COLOUR = { excitatory: "#c0392b", inhibitory: "#2471a3", mixed: "#7f8c8d" };
  const byId = new Map(data.nodes.map((n) => [n.id, n]));
  const edgeById = new Map(data.edges.map((e) => [e.id, e]));
  const diff = data.diff;
  const many = data.nodes.length > 60;
  let selected = null;

  // ------------------------------------------------------------------ small DOM helpers
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "onclick") e.addEventListener("click", v);
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  function s(tag, attrs, parent) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(+v.toPrecision(5));
    return String(v);
  }
  function classColour(node) { return PALETTE[(node.class_index >= 0 ? node.class_index : 0) % PALETTE.length]; }

  // ------------------------------------------------------------------ page frame
  const c = data.circuit;
  const search = h("input", { list: "pops", placeholder: "find a population…", "aria-label": "find a population" });
  const datalist = h("datalist", { id: "pops" }, data.nodes.map((n) => h("option", { value: n.id })));
  const header = h("header", {},
    h("h1", {}, `${c.name} ${c.version}`),
    h("span", { class: "counts" }, `${c.counts.populations} populations · ${c.counts.neurons.toLocaleString("en")} neurons · ` +
      `${c.counts.projections} projections` + (c.counts.matrix_projections ? ` · ${c.counts.matrix_projections} matrix projections` : "") +
      (diff ? ` · diff from ${diff.old}` : "")),
    h("span", { class: "tools" }, search, datalist,
      h("button", { onclick: () => clearSelection() }, "Overview"),
      h("button", { onclick: () => showParameters() }, "Parameters"),
      h("button", { onclick: () => showHistory() }, "History"),
      h("button", { onclick: () => showMatrix() }, "Matrix"),
      h("button", { onclick: () => resetView() }, "Reset view")));
  const graphBox = h("div", { id: "graph" });
  const panel = h("aside", { id: "panel" });
  document.body.append(header, graphBox, panel);
  search.addEventListener("change", () => { if (byId.has(search.value)) selectNode(search.value); });

  // ------------------------------------------------------------------ graph
  const svg = s("svg", { viewBox: "0 0 1000 700", role: "img", "aria-label": `population graph of ${c.name}` }, graphBox);
  if (many) svg.classList.add("many");
  if (diff) svg.classList.add("diff");
  const defs = s("defs", {}, svg);
  for (const [sign, colour] of Object.entries(SIGN_COLOUR)) {
    const m = s("marker", { id: `arrow-${sign}`, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: many ? "5" : "8", markerHeight: many ? "5" : "8", markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" }, defs);
    s(sign === "inhibitory" ? "circle" : "path", sign === "inhibitory" ? { cx: "5", cy: "5", r: "4", fill: colour } : { d: "M0,0 L10,5 L0,10 z", fill: colour }, m);
  }
  const gEdges = s("g", {}, svg), gNodes = s("g", {}, svg), gLabels = s("g", {}, svg);
  const maxSize = Math.max(...data.nodes.map((n) => n.size), 1);
  const huge = data.nodes.length > 200;
  const rMin = many ? 3.5 : 7, rMax = huge ? 6 : many ? 8 : 18;
  const radius = (n) => rMin + (rMax - rMin) * Math.sqrt(n.size / maxSize);
  const nodeEls = new Map(), edgeEls = new Map(), labelEls = new Map();
  const adjacency = new Map(data.nodes.map((n) => [n.id, []]));

  // Thousands of elements (celegans: 3,777 edges): built as one markup string each, with one delegated
  // click handler, which is several times faster than creating and wiring elements one by one.
  const esc = (t) => String(t).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
  function edgeMarkup(e, ghost) {
    const a = byId.get(e.source) || ghostNodes.get(e.source), b = byId.get(e.target) || ghostNodes.get(e.target);
    if (!a || !b) return "";
    let d;
    const rb = radius(b) + 2;
    if (a === b) {
      const r = radius(a);
      const f = (v) => v.toFixed(1);  // a loop above the node, from its top left back to its top right
      d = `M${f(a.x - 0.5 * r)},${f(a.y - 0.87 * r)} C${f(a.x - 2.2 * r)},${f(a.y - 3.4 * r)} ${f(a.x + 2.2 * r)},${f(a.y - 3.4 * r)} ${f(a.x + 0.5 * r)},${f(a.y - 0.87 * r - 2)}`;
    } else {
      const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
      const bend = Math.min(0.18 * len, 40);
      const mx = (a.x + b.x) / 2 - (dy / len) * bend, my = (a.y + b.y) / 2 + (dx / len) * bend;
      const k = rb / (Math.hypot(b.x - mx, b.y - my) || 1);
      d = `M${a.x.toFixed(1)},${a.y.toFixed(1)} Q${mx.toFixed(1)},${my.toFixed(1)} ${(b.x - (b.x - mx) * k).toFixed(1)},${(b.y - (b.y - my) * k).toFixed(1)}`;
    }
    const width = (many ? 0.35 : 0.8) + (many ? 1.6 : 4) * (e.strength || 0);
    const marker = many ? "" : ` marker-end="url(#arrow-${e.sign})"`;  // large graphs: arrows on highlighted edges only (CSS)
    const title = many ? "" : `<title>${esc(`${e.source} → ${e.target}  (${fmt(e.weight)} mV)`)}</title>`;
    for (const end of [e.source, e.target]) if (adjacency.has(end)) adjacency.get(end).push(e.id);
    return `<path d="${d}" class="edge ${e.sign}${ghost ? " ghost d-removed" : ""}" stroke-width="${width.toFixed(2)}" ` +
      `stroke-opacity="${huge ? 0.18 : many ? 0.35 : 0.75}" data-id="${esc(e.id)}"${marker}>${title}</path>`;
  }
  function nodeMarkup(n, ghost) {
    const r = radius(n);
    const title = `${n.id} · ${n.cell_class} · ${n.size} neuron${n.size === 1 ? "" : "s"}`;
    return `<circle cx="${n.x}" cy="${n.y}" r="${r.toFixed(2)}" fill="${classColour(n)}" class="node ${n.sign}${n.readout ? " readout" : ""}` +
      `${ghost ? " ghost d-removed" : ""}" data-id="${esc(n.id)}"><title>${esc(title)}</title></circle>` +
      (n.afferent ? `<rect x="${(n.x - r - 4).toFixed(1)}" y="${(n.y - r - 4).toFixed(1)}" width="${(2 * r + 8).toFixed(1)}" height="${(2 * r + 8).toFixed(1)}" class="afferent-mark"/>` : "");
  }
  function labelMarkup(n) {
    return `<text x="${n.x}" y="${(n.y + radius(n) + 11).toFixed(1)}" text-anchor="middle" class="label" data-id="${esc(n.id)}">${esc(n.id)}</text>`;
  }

  const ghostNodes = new Map(diff ? diff.ghosts.nodes.map((n) => [n.id, n]) : []);
  if (diff) for (const e of diff.ghosts.edges) edgeById.set(e.id, e);
  for (const n of ghostNodes.values()) { byId.set(n.id, n); adjacency.set(n.id, []); }
  gEdges.innerHTML = data.edges.map((e) => edgeMarkup(e, false)).join("") + (diff ? diff.ghosts.edges.map((e) => edgeMarkup(e, true)).join("") : "");
  const allNodes = data.nodes.concat([...ghostNodes.values()]);
  gNodes.innerHTML = allNodes.map((n) => nodeMarkup(n, ghostNodes.has(n.id))).join("");
  gLabels.innerHTML = allNodes.map(labelMarkup).join("");
  for (const el of gEdges.children) edgeEls.set(el.dataset.id, el);
  for (const el of gNodes.querySelectorAll("circle")) nodeEls.set(el.dataset.id, el);
  for (const el of gLabels.children) labelEls.set(el.dataset.id, el);
  if (diff) {
    for (const [id, st] of Object.entries(diff.status.nodes)) { const el = nodeEls.get(id); if (el) { el.classList.add(`d-${st}`); labelEls.get(id).classList.add("show"); } }
    for (const [id, st] of Object.entries(diff.status.edges)) { const el = edgeEls.get(id); if (el) el.classList.add(`d-${st}`); }
  }
  svg.addEventListener("click", (ev) => {
    const id = ev.target.dataset ? ev.target.dataset.id : undefined;
    if (id !== undefined && ev.target.classList.contains("node")) selectNode(id);
    else if (id !== undefined && ev.target.classList.contains("edge")) selectEdge(id);
    else clearSelection();
  });

  // legend: cell classes in use, signs, marks
  const classes = [...new Map(data.nodes.map((n) => [n.cell_class, n])).values()];
  const legend = h("div", { class: "legend" },
    classes.map((n) => h("span", {}, h("i", { style: `background:${classColour(n)}` }), n.cell_class)),
    h("br"),
    h("span", {}, h("i", { class: "line", style: `background:${SIGN_COLOUR.excitatory}` }), "excitatory"),
    h("span", {}, h("i", { class: "line", style: `background:${SIGN_COLOUR.inhibitory}` }), "inhibitory"),
    data.nodes.some((n) => n.readout) ? h("span", {}, "dashed ring: readout") : null,
    data.afferents.length ? h("span", {}, "square: afferent") : null,
    diff ? h("span", {}, h("i", { class: "line", style: "background:#1e8e3e" }), "added") : null,
    diff ? h("span", {}, h("i", { class: "line", style: "background:#d93025" }), "removed") : null,
    diff ? h("span", {}, h("i", { class: "line", style: "background:#e37400" }), "changed (dotted: through a parameter, model or class)") : null,
    many ? h("span", { class: "muted" }, "labels appear on selection; scroll to zoom, drag to pan") : null);
  graphBox.append(legend);

  // pan and zoom by rewriting the viewBox
  let view = [0, 0, 1000, 700];
  const setView = () => svg.setAttribute("viewBox", view.map((v) => v.toFixed(1)).join(" "));
  function resetView() { view = [0, 0, 1000, 700]; setView(); }
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const box = svg.getBoundingClientRect();
    const k = ev.deltaY > 0 ? 1.15 : 1 / 1.15;
    const px = view[0] + ((ev.clientX - box.left) / box.width) * view[2], py = view[1] + ((ev.clientY - box.top) / box.height) * view[3];
    view = [px - (px - view[0]) * k, py - (py - view[1]) * k, view[2] * k, view[3] * k];
    setView();
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (ev) => { if (ev.target === svg) { drag = [ev.clientX, ev.clientY, view[0], view[1], false]; } });
  window.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const box = svg.getBoundingClientRect();
    const dx = ev.clientX - drag[0], dy = ev.clientY - drag[1];
    if (Math.abs(dx) + Math.abs(dy) > 3) { drag[4] = true; svg.classList.add("dragging"); }
    view[0] = drag[2] - (dx / box.width) * view[2]; view[1] = drag[3] - (dy / box.height) * view[3]; setView();
  });
  window.addEventListener("pointerup", () => {
    if (drag && drag[4]) svg.addEventListener("click", (e) => e.stopPropagation(), { capture: true, once: true });
    drag = null; svg.classList.remove("dragging");
  });
  window.addEventListener("keydown", (ev) => { if (ev.key === "Escape") clearSelection(); });

  // ------------------------------------------------------------------ selection
  let lit = [];  // the elements highlighted now, so that clearing does not search the whole graph
  function light(el, ...names) { if (el) { el.classList.add(...names); lit.push(el); } }
  function clearHighlight() {
    svg.classList.remove("focus");
    for (const el of lit) el.classList.remove("hl", "sel");
    lit = [];
  }
  function clearSelection() { clearHighlight(); selected = null; overview(); if (run) run.draw(); }
  function selectNode(id) {
    clearHighlight();
    selected = { kind: "node", id };
    svg.classList.add("focus");
    light(nodeEls.get(id), "sel", "hl");
    light(labelEls.get(id), "hl");
    for (const eid of adjacency.get(id) || []) {
      const e = edgeById.get(eid);
      light(edgeEls.get(eid), "hl");
      for (const end of [e.source, e.target]) { light(nodeEls.get(end), "hl"); light(labelEls.get(end), "hl"); }
    }
    nodePanel(byId.get(id));
    if (run) run.draw();
  }
  function selectEdge(id) {
    clearHighlight();
    selected = { kind: "edge", id };
    const e = edgeById.get(id);
    svg.classList.add("focus");
    light(edgeEls.get(id), "sel", "hl");
    for (const end of [e.source, e.target]) { light(nodeEls.get(end), "hl"); light(labelEls.get(end), "hl"); }
    edgePanel(e);
  }

  // ------------------------------------------------------------------ side panel
  function refs(list) {
    if (!list || !list.length) return null;
    return h("ul", { class: "refs" }, list.map((r) => h("li", {}, r.citation,
      r.doi ? [" ", h("a", { href: `https://doi.org/${r.doi}`, target: "_blank", rel: "noopener" }, `doi:${r.doi}`)] : null,
      r.note ? h("div", { class: "muted" }, r.note) : null)));
  }
  function paramTable(rows) {
    if (!rows || !rows.length) return h("p", { class: "muted" }, "none");
    return h("table", {}, h("tr", {}, h("th", {}, "field"), h("th", {}, "value"), h("th", {}, "unit"), h("th", {}, "from parameter")),
      rows.map((r) => h("tr", {}, h("td", {}, r.field), h("td", { class: "num" }, fmt(r.value)), h("td", {}, r.unit || ""),
        h("td", {}, r.param ? [h("span", { class: "linklike", onclick: () => showParameters(r.param) }, r.param),
          r.factor !== 1 ? ` × ${fmt(r.factor)}` : "",
          r.free ? h("span", { class: "badge free", title: "calibration may change it" }, "free") : h("span", { class: "badge" }, "fixed"),
          r.bounds ? h("span", { class: "muted" }, ` [${fmt(Math.min(...r.bounds))}, ${fmt(Math.max(...r.bounds))}]`) : null] : h("span", { class: "muted" }, "literal")))));
  }
  function nodeLink(id) { return h("span", { class: "linklike", onclick: () => selectNode(id) }, id); }
  function changeList(items) {
    return h("div", {}, items.map((ch) => h("div", { class: `change ${ch.status}` }, (ch.section !== "metadata" && ch.section !== "populations" && ch.section !== "projections" ? `${ch.section}/${ch.name}: ` : "") + ch.text)));
  }
  function setPanel(...children) { panel.replaceChildren(...children.flat(Infinity).filter(Boolean)); panel.scrollTop = 0; }

  function nodePanel(n) {
    const incoming = data.edges.filter((e) => e.target === n.id), outgoing = data.edges.filter((e) => e.source === n.id);
    const edgeRow = (e, other) => h("tr", {}, h("td", {}, nodeLink(other)), h("td", { class: "num" }, fmt(e.weight)),
      h("td", {}, h("span", { class: "linklike", onclick: () => selectEdge(e.id) }, e.rule)));
    const ghost = ghostNodes.has(n.id);
    const models = ghost ? diff.ghosts.neuron_models : data.neuron_models, classes = ghost ? diff.ghosts.cell_classes : data.cell_classes;
    const model = models[n.neuron_model], cell = classes[n.cell_class];
    setPanel(
      h("h2", {}, n.id),
      h("div", {}, h("span", { class: `badge ${n.sign}` }, n.sign), h("span", { class: "badge" }, `cell class ${n.cell_class}`),
        h("span", { class: "badge" }, `${n.size} neuron${n.size === 1 ? "" : "s"}`), n.side ? h("span", { class: "badge" }, n.side) : null,
        n.region ? h("span", { class: "badge" }, n.region) : null, n.readout ? h("span", { class: "badge" }, "readout") : null,
        n.afferent ? h("span", { class: "badge" }, "afferent") : null, ghost ? h("span", { class: "badge" }, `removed since ${diff.old}`) : null),
      n.description ? h("p", {}, n.description) : null,
      diff && diff.notes[n.id] ? [h("h3", {}, "Changes"), changeList(diff.notes[n.id])] : null,
      h("h3", {}, "Population parameters"), paramTable(n.parameters),
      h("h3", {}, `Neuron model ${n.neuron_model}`), model ? [paramTable(model.parameters), refs(model.references)] : null,
      cell ? [h("h3", {}, `Cell class ${n.cell_class}`),
        h("p", {}, `transmitter ${cell.transmitter}` + (cell.markers.length ? ` · markers ${cell.markers.join(", ")}` : "")),
        cell.description ? h("p", {}, cell.description) : null, refs(cell.references)] : null,
      n.references.length ? [h("h3", {}, "References"), refs(n.references)] : null,
      run ? [h("h3", {}, "Activity"), h("p", {}, `mean rate ${fmt(run.meanRate(n.id))} Hz over ${fmt(data.run.duration_ms)} ms (seed ${data.run.seed}); its spikes are highlighted in the raster below`)] : null,
      h("h3", {}, `Inputs (${incoming.length})`),
      incoming.length ? h("table", {}, h("tr", {}, h("th", {}, "from"), h("th", {}, "weight (mV)"), h("th", {}, "rule")), incoming.slice(0, 200).map((e) => edgeRow(e, e.source))) : h("p", { class: "muted" }, "none"),
      h("h3", {}, `Outputs (${outgoing.length})`),
      outgoing.length ? h("table", {}, h("tr", {}, h("th", {}, "to"), h("th", {}, "weight (mV)"), h("th", {}, "rule")), outgoing.slice(0, 200).map((e) => edgeRow(e, e.target))) : h("p", { class: "muted" }, "none"));
  }

  function edgePanel(e) {
    setPanel(
      h("h2", {}, e.kind === "matrix" ? e.id : `projection ${e.id}`),
      h("div", {}, h("span", { class: `badge ${e.sign}` }, e.sign), h("span", { class: "badge" }, e.rule),
        e.weight_mode ? h("span", { class: "badge" }, `weight ${e.weight_mode.replace("_", " ")}`) : null),
      h("p", {}, nodeLink(e.source), " → ", nodeLink(e.target)),
      e.kind === "matrix" ? h("p", { class: "muted" }, `one pair of the matrix projection ${e.matrix_projection} (${e.pairs} population pairs; the ${e.shown} strongest by probability × |weight| are drawn; seed ${e.seed})`) : null,
      e.description ? h("p", {}, e.description) : null,
      diff && diff.notes[e.id] ? [h("h3", {}, "Changes"), changeList(diff.notes[e.id])] : null,
      h("h3", {}, "Parameters"), paramTable(e.parameters),
      e.references && e.references.length ? [h("h3", {}, "References"), refs(e.references)] : null);
  }

  function overview() {
    setPanel(
      h("h2", {}, `${c.name} ${c.version}`),
      c.description ? h("p", {}, c.description) : null,
      c.authors.length ? h("p", { class: "muted" }, `authors: ${c.authors.join(", ")}`) : null,
      c.license ? h("p", { class: "muted" }, `license: ${c.license}`) : null,
      h("p", { class: "muted" }, "Click a population (node) or a projection (edge) for its parameters, description and citations."),
      diff ? [h("h3", {}, `Semantic diff ${diff.old} → ${diff.new}`),
        diff.identical ? h("p", {}, "no semantic differences") : changeList(diff.changes.slice(0, 400)),
        diff.added_history.length ? [h("h4", {}, "new history entries"), historyTable(diff.added_history)] : null] : null,
      h("h3", {}, "Cell classes"),
      h("table", {}, h("tr", {}, h("th", {}, "class"), h("th", {}, "transmitter"), h("th", {}, "sign")),
        Object.entries(c.cell_classes).map(([name, cc]) => h("tr", {}, h("td", {}, name), h("td", {}, cc.transmitter), h("td", {}, cc.sign)))),
      Object.keys(data.readouts).length ? [h("h3", {}, "Readouts"), h("table", {}, Object.entries(data.readouts).map(([name, r]) =>
        h("tr", {}, h("td", {}, name), h("td", {}, r.terms.map(([p, k], i) => [i ? " + " : "", `${fmt(k)}·`, nodeLink(p)])), h("td", { class: "muted" }, `τ ${fmt(r.tau)} ms`))))] : null,
      data.afferents.length ? [h("h3", {}, "Afferents (driven by a body's sensors)"), h("p", {}, data.afferents.map((a, i) => [i ? ", " : "", nodeLink(a)]))] : null,
      c.references.length ? [h("h3", {}, "References"), refs(c.references)] : null,
      h("h3", {}, "Version history"), historyTable(c.history));
  }
  function historyTable(entries) {
    if (!entries.length) return h("p", { class: "muted" }, "no history entries");
    return h("table", {}, h("tr", {}, h("th", {}, "version"), h("th", {}, "date"), h("th", {}, "action"), h("th", {}, "what")),
      entries.slice().reverse().map((e) => h("tr", {}, h("td", {}, e.version), h("td", { class: "num" }, (e.date || "").slice(0, 10)),
        h("td", {}, e.action), h("td", {}, e.description, h("div", { class: "muted" }, e.author + (e.parent_version ? ` · from ${e.parent_version}` : ""))))));
  }
  function showHistory() { clearHighlight(); setPanel(h("h2", {}, `${c.name}: version history`), historyTable(c.history)); }
  function showParameters(focus) {
    clearHighlight();
    const rows = data.parameters.map((p) => h("tr", { id: `param-${p.name}`, style: p.name === focus ? "background:#fff3cd" : null },
      h("td", {}, p.name, p.description ? h("div", { class: "muted" }, p.description) : null, refs(p.references)),
      h("td", { class: "num" }, fmt(p.value)), h("td", {}, p.unit),
      h("td", {}, p.free ? h("span", { class: "badge free" }, "free") : h("span", { class: "badge" }, "fixed"),
        p.bounds ? h("span", { class: "muted" }, ` [${fmt(p.bounds[0])}, ${fmt(p.bounds[1])}]${p.scale === "log" ? " log" : ""}`) : null)));
    setPanel(h("h2", {}, `${c.name}: named parameters`),
      h("p", { class: "muted" }, `${data.parameters.filter((p) => p.free).length} of ${data.parameters.length} free for calibration`),
      h("table", {}, h("tr", {}, h("th", {}, "name"), h("th", {}, "value"), h("th", {}, "unit"), h("th", {}, "calibration")), rows));
    const row = focus && document.getElementById(`param-${focus}`);
    if (row) row.scrollIntoView({ block: "center" });
  }

  // ------------------------------------------------------------------ connectivity matrix, W[post, pre] like the compiled network
  function showMatrix() {
    clearHighlight();
    const ids = data.nodes.map((n) => n.id), index = new Map(ids.map((id, i) => [id, i])), n = ids.length;
    const pairs = new Map();
    for (const e of data.edges) {
      const t = index.get(e.target), src = index.get(e.source);
      if (t === undefined || src === undefined) continue;
      const key = t * n + src, cell = pairs.get(key) || { weight: 0, ids: [] };
      cell.weight += e.weight * (e.probability === undefined ? 1 : e.probability);
      cell.ids.push(e.id);
      pairs.set(key, cell);
    }
    const top = Math.max(1e-12, ...[...pairs.values()].map((c) => Math.abs(c.weight)));
    const size = 360, step = size / n;
    const canvas = h("canvas", { id: "matrix", width: String(size * 2), height: String(size * 2), style: `width:${size}px;height:${size}px;border:1px solid #dde1e4;cursor:crosshair` });
    const ctx = canvas.getContext("2d");
    ctx.scale(2, 2);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, size, size);
    for (const [key, cell] of pairs) {
      const t = Math.floor(key / n), src = key % n, level = Math.log1p(Math.abs(cell.weight)) / Math.log1p(top);
      ctx.fillStyle = cell.weight >= 0 ? `rgba(192,57,43,${0.15 + 0.85 * level})` : `rgba(36,113,163,${0.15 + 0.85 * level})`;
      ctx.fillRect(src * step, t * step, Math.max(step, 1), Math.max(step, 1));
    }
    const info = h("p", { class: "muted", id: "matrix-info" }, "hover a cell; click it for the projection");
    const at = (ev) => {
      const box = canvas.getBoundingClientRect();
      const src = Math.floor(((ev.clientX - box.left) / box.width) * n), t = Math.floor(((ev.clientY - box.top) / box.height) * n);
      return [t, src, pairs.get(t * n + src)];
    };
    canvas.addEventListener("mousemove", (ev) => {
      const [t, src, cell] = at(ev);
      if (t >= 0 && t < n && src >= 0 && src < n) info.textContent = `${ids[src]} → ${ids[t]}: ` + (cell ? `${fmt(cell.weight)} mV (${cell.ids.length} projection${cell.ids.length > 1 ? "s" : ""})` : "no projection");
    });
    canvas.addEventListener("click", (ev) => { const [, , cell] = at(ev); if (cell) selectEdge(cell.ids[0]); });
    setPanel(h("h2", {}, `${c.name}: connectivity`),
      h("p", { class: "muted" }, `rows: target, columns: source (W[post, pre]), in population order; colour: summed weight per pair ` +
        `(× probability for matrix projections), red excitatory, blue inhibitory, log scale; ${pairs.size} connected pairs of ${n * n}`),
      canvas, info);
  }

  // ------------------------------------------------------------------ run: raster and rates, linked to the graph
  const run = data.run ? makeRun(data.run) : null;
  function makeRun(r) {
    const section = h("section", { id: "run" });
    document.body.classList.add("has-run");
    const raster = h("canvas", { id: "raster", height: "220", "aria-label": "spike raster" });
    const rates = h("canvas", { id: "rates", height: "110", "aria-label": "population rates" });
    const info = h("div", { class: "muted", id: "run-info" });
    const gait = r.gait ? h("div", { id: "gait" }, h("h3", {}, "Gait (motor pools: " + Object.keys(r.gait.pools).join(", ") + ")"),
      r.gait.error ? h("p", {}, r.gait.error) : h("table", {}, Object.entries(r.gait.metrics).map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", { class: "num" }, fmt(v)))))) : null;
    section.append(h("div", { class: "runrow" },
      h("div", {}, h("h3", {}, `Run: seed ${r.seed}, ${fmt(r.duration_ms)} ms, dt ${fmt(r.dt)} ms` + (r.raster.thinned > 1 ? ` (raster shows every ${r.raster.thinned}th spike)` : "")),
        raster, h("div", { class: "muted" }, "population rate (Hz), bins of " + fmt(r.bin_ms) + " ms: the selected population in colour, the mean of all in grey"), rates, info),
      gait ? h("div", { style: "flex:0 0 240px" }, gait) : null));
    document.body.append(section);
    const index = new Map(r.populations.map((p, i) => [p, i]));
    const nRows = r.raster.row_start[r.raster.row_start.length - 1] || 1;
    const meanTrace = r.rates_hz.length ? r.rates_hz[0].map((_, t) => r.rates_hz.reduce((acc, row) => acc + row[t], 0) / r.rates_hz.length) : [];
    function fit(canvas) {
      const w = canvas.clientWidth || 800, ratio = window.devicePixelRatio || 1;
      canvas.width = Math.round(w * ratio); canvas.height = Math.round(canvas.getAttribute("height") * ratio);
      canvas.style.height = canvas.getAttribute("height") + "px";
      const ctx = canvas.getContext("2d"); ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      return [ctx, w, +canvas.getAttribute("height")];
    }
    function draw() {
      const pick = selected && selected.kind === "node" ? index.get(selected.id) : undefined;
      let [ctx, w, ht] = fit(raster);
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, ht);
      if (pick !== undefined) {
        const y0 = (r.raster.row_start[pick] / nRows) * ht, y1 = (r.raster.row_start[pick + 1] / nRows) * ht;
        ctx.fillStyle = "#fff3cd"; ctx.fillRect(0, y0 - 1, w, Math.max(y1 - y0, 2) + 2);
      }
      const colours = r.populations.map((p) => (byId.has(p) ? classColour(byId.get(p)) : "#555"));
      const rowPop = new Int32Array(nRows);
      for (let p = 0; p < r.populations.length; p++) for (let k = r.raster.row_start[p]; k < r.raster.row_start[p + 1]; k++) rowPop[k] = p;
      const times = r.raster.times, rows = r.raster.rows, tx = w / (r.duration_ms || 1), ty = ht / nRows;
      const mark = Math.max(1, Math.min(3, ty));
      for (let i = 0; i < times.length; i++) {
        const p = rowPop[rows[i]];
        ctx.fillStyle = pick === undefined || p === pick ? colours[p] : "#d0d4d8";
        ctx.fillRect(times[i] * tx, rows[i] * ty, 1.2, mark);
      }
      [ctx, w, ht] = fit(rates);
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, ht);
      const trace = pick !== undefined ? r.rates_hz[pick] : null;
      const top = Math.max(1, ...(trace || meanTrace));
      const line = (values, colour, width) => {
        ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.beginPath();
        values.forEach((v, t) => { const x = ((t + 0.5) * r.bin_ms) * tx, y = ht - 4 - (v / top) * (ht - 14); t ? ctx.lineTo(x, y) : ctx.moveTo(x, y); });
        ctx.stroke();
      };
      line(meanTrace, "#9aa0a6", 1);
      if (trace) line(trace, colours[pick], 1.5);
      ctx.fillStyle = "#333"; ctx.font = "11px sans-serif"; ctx.fillText(`${fmt(top)} Hz`, 4, 11);
      ctx.fillText(`${fmt(r.duration_ms)} ms`, w - 60, ht - 4);
      info.textContent = pick !== undefined ? `${r.populations[pick]}: ${r.sizes[pick]} neurons (raster rows ${r.raster.shown_rows[pick]}), mean ${fmt(r.mean_rates_hz[pick])} Hz` : "click a population in the graph or a row of the raster";
    }
    raster.addEventListener("click", (ev) => {
      const box = raster.getBoundingClientRect();
      const row = Math.floor(((ev.clientY - box.top) / box.height) * nRows);
      let p = 0;
      while (p + 1 < r.raster.row_start.length - 1 && r.raster.row_start[p + 1] <= row) p++;
      if (byId.has(r.populations[p])) selectNode(r.populations[p]);
    });
    window.addEventListener("resize", draw);
    return { draw, meanRate: (id) => (index.has(id) ? r.mean_rates_hz[index.get(id)] : null) };
  }

  // ------------------------------------------------------------------ film
  if (data.video) {
    const holder = document.getElementById("run") || h("section", { id: "run" });
    document.body.classList.add("has-run");
    holder.append(h("h3", {}, `Film: ${data.video.name}`), h("video", { controls: "", src: data.video.src, preload: "metadata", id: "film" }));
    if (!holder.parentNode) document.body.append(holder);
  }

  overview();
  if (run) run.draw();
  requestAnimationFrame(() => {
    window.encephagenViewer = { showMatrix, ready: true, renderMs: performance.now() - started, loadedMs: performance.now(), nodes: data.nodes.length, edges: data.edges.length, selectNode, selectEdge };
    document.body.dataset.ready = "1";
  });
})();
