(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("didi-data").textContent);
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const tooltip = document.getElementById("tooltip");
  const [x0, x1, y0, y1] = data.extent;
  const P = data.points;
  const frames = data.frames;
  let F = frames[0];
  const view = { scale: 1, tx: 0, ty: 0 };
  function loadImage(frame, source) {
    const image = new Image();
    image.onload = () => { if (frame === F) draw(); };
    image.src = source;
    return image;
  }
  const backgrounds = frames.map((frame) => loadImage(frame, frame.background));
  const layerImages = frames.map((frame) => Object.fromEntries(
    Object.entries(frame.layers).map(([name, layer]) => [name, loadImage(frame, layer.image)])));
  let layer = "class";
  function backgroundOf(k) {
    return layerImages[k][layer] || backgrounds[k];
  }

  function el(tag, text) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function toScreen(x, y) {
    return [((x - x0) / (x1 - x0)) * canvas.width * view.scale + view.tx,
            (1 - (y - y0) / (y1 - y0)) * canvas.height * view.scale + view.ty];
  }
  function toMap(px, py) {
    return [x0 + ((px - view.tx) / (canvas.width * view.scale)) * (x1 - x0),
            y0 + (1 - (py - view.ty) / (canvas.height * view.scale)) * (y1 - y0)];
  }
  function colorOf(i) {
    const c = P.true && P.true[i] >= 0 ? P.true[i] : F.predicted[i];
    return data.colors[c];
  }
  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = false;
    const [ax, ay] = toScreen(F.extent[0], F.extent[3]);
    const [bx, by] = toScreen(F.extent[1], F.extent[2]);
    ctx.drawImage(backgroundOf(frames.indexOf(F)), ax, ay, bx - ax, by - ay);
    for (let i = 0; i < F.x.length; i++) {
      const [px, py] = toScreen(F.x[i], F.y[i]);
      ctx.beginPath();
      ctx.arc(px, py, 4, 0, 2 * Math.PI);
      ctx.fillStyle = colorOf(i);
      ctx.fill();
      ctx.lineWidth = 0.6;
      ctx.strokeStyle = "#000";
      ctx.stroke();
      if (P.true && P.true[i] !== F.predicted[i]) {
        ctx.strokeStyle = data.colors[F.predicted[i]];
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(px - 5, py - 5); ctx.lineTo(px + 5, py + 5);
        ctx.moveTo(px + 5, py - 5); ctx.lineTo(px - 5, py + 5);
        ctx.stroke();
      }
    }
    drawFindings();
    drawHighlight();
  }
  const found = data.findings;
  const shown = { unfamiliar: true, duplicates: true, issues: true };
  const twinsOf = new Map();
  if (found) found.duplicates.forEach((members) => members.forEach((i) => twinsOf.set(i, members)));
  let hovered = -1;
  function drawFindings() {
    if (!found) return;
    ctx.lineWidth = 1.4;
    if (shown.unfamiliar) {
      ctx.strokeStyle = "#000";
      for (const i of found.unfamiliar) {
        const [px, py] = toScreen(F.x[i], F.y[i]);
        ctx.beginPath(); ctx.arc(px, py, 9, 0, 2 * Math.PI); ctx.stroke();
      }
    }
    if (shown.duplicates) {
      for (const members of found.duplicates) {
        const hot = members.includes(hovered);
        ctx.strokeStyle = hot ? "#d00" : "#000";
        ctx.lineWidth = hot ? 2.5 : 1;
        ctx.setLineDash(hot ? [] : [4, 3]);
        const [ax, ay] = toScreen(F.x[members[0]], F.y[members[0]]);
        for (const j of members.slice(1)) {
          const [bx, by] = toScreen(F.x[j], F.y[j]);
          ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke();
        }
      }
      ctx.setLineDash([]);
    }
    if (shown.issues) {
      ctx.strokeStyle = "#e0e"; ctx.lineWidth = 1.6;
      for (const i of found.issues) {
        const [px, py] = toScreen(F.x[i], F.y[i]);
        ctx.strokeRect(px - 8, py - 8, 16, 16);
      }
    }
  }
  // The samples ringed on the map, and what asked for them ("confusion" for a cell of
  // the confusion matrix): one set at a time, whichever view of the page sets it.
  // highlight(indices, source) rings them (null clears); every listener hears of it.
  let selection = { indices: [], source: null };
  const selectionListeners = [];
  function highlight(indices, source) {
    selection = indices ? { indices: Array.from(indices), source: source || null }
      : { indices: [], source: null };
    draw();
    selectionListeners.forEach((listener) => listener(selection));
  }
  function drawHighlight() {
    // A white halo under a thick black ring shows on every class colour and stands
    // apart from the thin rings of unfamiliar samples.
    for (const [width, colour] of [[5, "#fff"], [2.5, "#000"]]) {
      ctx.lineWidth = width;
      ctx.strokeStyle = colour;
      for (const i of selection.indices) {
        const [px, py] = toScreen(F.x[i], F.y[i]);
        ctx.beginPath(); ctx.arc(px, py, 8, 0, 2 * Math.PI); ctx.stroke();
      }
    }
  }
  function nearestPoint(px, py, radius) {
    let best = -1, bestDistance = radius * radius;
    for (let i = 0; i < F.x.length; i++) {
      const [qx, qy] = toScreen(F.x[i], F.y[i]);
      const d = (qx - px) ** 2 + (qy - py) ** 2;
      if (d <= bestDistance) { best = i; bestDistance = d; }
    }
    return best;
  }
  function nearestProbe(x, y) {
    let best = 0, bestDistance = Infinity;
    for (let i = 0; i < F.probes.x.length; i++) {
      const d = (F.probes.x[i] - x) ** 2 + (F.probes.y[i] - y) ** 2;
      if (d < bestDistance) { best = i; bestDistance = d; }
    }
    return best;
  }
  function describe(i) {
    const lines = ["#" + i];
    if (P.labels) lines.push("true: " + P.labels[i]);
    lines.push("predicted: " + data.classes[F.predicted[i]]);
    lines.push("certainty: " + Math.round(100 * F.certainty[i]) + "%");
    if (found) {
      if (found.unfamiliar.includes(i)) lines.push("unfamiliar");
      if (found.issues.includes(i)) lines.push("label issue");
      if (twinsOf.has(i)) {
        lines.push("twins: " + twinsOf.get(i).filter((j) => j !== i).map((j) => "#" + j).join(", "));
      }
    }
    return lines;
  }
  function sampleNode(viewData) {
    if (!viewData) return el("div", "(no preview)");
    if (viewData.image) {
      const img = el("img"); img.src = viewData.image; img.alt = ""; return img;
    }
    const more = viewData.more ? " … (" + viewData.more + " more)" : "";
    return el("pre", viewData.values.join(", ") + more);
  }
  function showTooltip(i, clientX, clientY) {
    tooltip.replaceChildren(...describe(i).map((line) => el("div", line)), sampleNode(P.views[i]));
    tooltip.style.left = clientX + 14 + "px";
    tooltip.style.top = clientY + 14 + "px";
    tooltip.style.display = "block";
  }
  function showPanel(title, lines, viewData) {
    document.getElementById("panel-title").textContent = title;
    document.getElementById("panel-body").replaceChildren(
      ...lines.map((line) => el("div", line)), sampleNode(viewData));
  }
  function localXY(event) {
    const box = canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }
  let drag = null;
  canvas.addEventListener("mousedown", (event) => {
    const [px, py] = localXY(event);
    drag = { px, py, tx: view.tx, ty: view.ty, moved: false };
  });
  window.addEventListener("mouseup", (event) => {
    if (drag && !drag.moved && event.target === canvas) click(event);
    drag = null;
  });
  canvas.addEventListener("mousemove", (event) => {
    const [px, py] = localXY(event);
    if (drag && (Math.abs(px - drag.px) + Math.abs(py - drag.py) > 3)) {
      drag.moved = true;
      view.tx = drag.tx + px - drag.px;
      view.ty = drag.ty + py - drag.py;
      draw();
    }
    const i = nearestPoint(px, py, 7);
    if (i >= 0) showTooltip(i, event.clientX, event.clientY);
    else tooltip.style.display = "none";
    if (i !== hovered) { hovered = i; if (found) draw(); }
  });
  canvas.addEventListener("mouseleave", () => {
    tooltip.style.display = "none";
    if (hovered !== -1) { hovered = -1; draw(); }
  });
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const [px, py] = localXY(event);
    const factor = event.deltaY < 0 ? 1.2 : 1 / 1.2;
    view.tx = px - (px - view.tx) * factor;
    view.ty = py - (py - view.ty) * factor;
    view.scale *= factor;
    draw();
  }, { passive: false });
  // Selecting a sample (a click on its point, or another view of the page asking for
  // it) opens its panel and rings it; listeners (a report's lists) hear of it, and of
  // a click on the background, by the probe it shows.
  const sampleListeners = [];
  const probeListeners = [];
  function select(i) {
    showPanel("Sample #" + i, describe(i).slice(1), P.views[i]);
    highlight([i], "sample");
    sampleListeners.forEach((listener) => listener(i));
  }
  function click(event) {
    const [px, py] = localXY(event);
    const i = nearestPoint(px, py, 7);
    if (i >= 0) { select(i); return; }
    const [x, y] = toMap(px, py);
    const k = nearestProbe(x, y);
    highlight(null);  // the panel now shows a position, not the ringed samples
    showPanel("π⁻¹ near (" + x.toFixed(2) + ", " + y.toFixed(2) + ")",
      ["label: " + F.probes.labels[k],
       "certainty: " + Math.round(100 * F.probes.certainty[k]) + "%"],
      F.probes.views[k]);
    probeListeners.forEach((listener) => listener(k));
  }
  // Scores that are not shares: a gradient, and a count of round trips.
  const PLAIN_SCORES = ["gradient", "class_stability"];
  function showScores() {
    document.getElementById("scores").textContent = Object.entries(F.scores)
      .map(([name, value]) => name + " " + (value === null ? "n/a"
        : PLAIN_SCORES.includes(name) ? value.toFixed(2) : (100 * value).toFixed(1) + "%"))
      .join(" · ");
  }
  function showLayerScale() {
    const info = F.layers[layer];
    document.getElementById("layer-scale").hidden = !info;
    if (!info) return;
    document.getElementById("layer-low").textContent = info.ends[0];
    document.getElementById("layer-high").textContent = info.ends[1];
    document.getElementById("layer-label").textContent = info.label;
    document.getElementById("layer-bar").style.background =
      "linear-gradient(to right, " + info.stops.join(", ") + ")";
  }
  // The confusion matrix of the current frame: true labels in rows, predictions in
  // columns. The labels are the same in every frame, the predictions are not.
  function confusionOf(frame) {
    const n = data.classes.length;
    const counts = Array.from({ length: n }, () => new Array(n).fill(0));
    P.true.forEach((t, i) => { if (t >= 0) counts[t][frame.predicted[i]] += 1; });
    return counts;
  }
  function samplesOfCell(row, column) {
    const indices = [];
    P.true.forEach((t, i) => { if (t === row && F.predicted[i] === column) indices.push(i); });
    return indices;
  }
  let cellButtons = [];  // cellButtons[row][column]
  let pickedCell = null;  // [row, column] of the cell whose samples are ringed
  function headerCell(name, scope) {
    const th = el("th", name);
    th.scope = scope;
    return th;
  }
  function cellButton(row, column) {
    const button = el("button");
    button.type = "button";
    button.title = "true " + data.classes[row] + ", predicted " + data.classes[column];
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => pickCell(row, column));
    return button;
  }
  function buildConfusionTable() {
    const head = el("tr");
    // The corner stays empty: the text above the table names rows and columns.
    head.append(el("th"), ...data.classes.map((name) => headerCell(name, "col")));
    const body = el("tbody");
    cellButtons = data.classes.map((name, row) => {
      const tr = el("tr");
      tr.append(headerCell(name, "row"));
      const buttons = data.classes.map((_, column) => cellButton(row, column));
      buttons.forEach((button, column) => {
        const td = el("td");
        if (row === column) td.className = "diagonal";
        td.append(button);
        tr.append(td);
      });
      body.append(tr);
      return buttons;
    });
    const thead = el("thead");
    thead.append(head);
    document.getElementById("confusion-table").replaceChildren(thead, body);
  }
  function showConfusion() {
    confusionOf(F).forEach((counts, row) => {
      const total = counts.reduce((a, b) => a + b, 0);
      counts.forEach((count, column) => {
        const button = cellButtons[row][column];
        const share = total ? count / total : 0;
        button.textContent = String(count);
        button.style.background = "rgba(31, 119, 180, " + share.toFixed(3) + ")";
        button.classList.toggle("dark", share > 0.5);
      });
    });
    // A picked cell follows the frame: it rings the samples this checkpoint puts in it.
    if (pickedCell) highlight(samplesOfCell(...pickedCell), "confusion");
  }
  function isPicked(row, column) {
    return pickedCell !== null && pickedCell[0] === row && pickedCell[1] === column;
  }
  function pickCell(row, column) {
    if (isPicked(row, column)) { highlight(null); return; }
    pickedCell = [row, column];
    highlight(samplesOfCell(row, column), "confusion");
  }
  function markPickedCell() {
    // Samples ringed by another view of the page unpick the cell.
    if (selection.source !== "confusion") pickedCell = null;
    cellButtons.forEach((buttons, row) => buttons.forEach((button, column) => {
      button.setAttribute("aria-pressed", String(isPicked(row, column)));
    }));
  }
  const clearButton = document.getElementById("highlight-clear");
  clearButton.addEventListener("click", () => highlight(null));
  selectionListeners.push((current) => {
    clearButton.disabled = current.source === null && current.indices.length === 0;
  });
  if (P.true) {
    buildConfusionTable();
    selectionListeners.push(markPickedCell);
    document.getElementById("confusion").hidden = false;
  }
  function showFrame(k) {
    F = frames[k];
    // What the panel shows belongs to the previous checkpoint.
    document.getElementById("panel-title").textContent = "Click a point or the map";
    document.getElementById("panel-body").replaceChildren();
    document.getElementById("frame-name").textContent = F.name;
    showScores();
    showLayerScale();
    if (P.true) showConfusion();
    draw();
  }
  const layerChoice = document.getElementById("layer");
  const layerNames = [...new Set(frames.flatMap((frame) => Object.keys(frame.layers)))];
  for (const name of layerNames) {
    const option = el("option", name.replace("_", " "));
    option.value = name;
    layerChoice.append(option);
  }
  layerChoice.addEventListener("change", () => {
    layer = layerChoice.value; showLayerScale(); draw();
  });
  const slider = document.getElementById("frame");
  if (frames.length > 1) {
    slider.max = String(frames.length - 1);
    slider.addEventListener("input", () => showFrame(Number(slider.value)));
    document.getElementById("frames").hidden = false;
  }
  if (found) {
    document.getElementById("findings").hidden = false;
    for (const [name, id] of [["unfamiliar", "show-unfamiliar"], ["duplicates", "show-duplicates"],
                              ["issues", "show-issues"]]) {
      document.getElementById(id).addEventListener("change", (event) => {
        shown[name] = event.target.checked; draw();
      });
    }
  }
  showFrame(0);
  const legend = document.getElementById("legend");
  data.classes.forEach((name, k) => {
    const item = el("span"); const swatch = el("i");
    swatch.style.background = data.colors[k];
    item.append(swatch, document.createTextNode(name));
    legend.append(item);
  });
  // For tests and scripts: where a point is drawn, in page coordinates, what a pixel
  // shows, the confusion matrix of the frame (null without labels) and the ringed samples.
  window.didi = {
    pointOnPage(i) {
      const box = canvas.getBoundingClientRect();
      const [px, py] = toScreen(F.x[i], F.y[i]);
      return [box.left + px, box.top + py];
    },
    canvasPixel(x, y) {
      const [px, py] = toScreen(x, y);
      return Array.from(ctx.getImageData(Math.floor(px), Math.floor(py), 1, 1).data.slice(0, 3));
    },
    showFrame,
    highlight,
    select,
    onSelect(listener) { sampleListeners.push(listener); },
    onProbe(listener) { probeListeners.push(listener); },
    onHighlight(listener) { selectionListeners.push(listener); },
    highlighted() { return selection.indices.slice(); },
    confusion() { return P.true ? confusionOf(F) : null; },
    shown,
    get hovered() { return hovered; },
    view,
  };
})();
