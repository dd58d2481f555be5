(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("didi-data").textContent);
  const R = data.report;
  const api = window.didi;
  if (!R || !api) return;
  const P = data.points;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  function sampleButton(i, text) {
    const button = el("button", null, "sample");
    button.dataset.index = String(i);
    const view = P.views[i];
    if (view && view.image) {
      const img = el("img"); img.src = view.image; img.alt = ""; button.append(img);
    }
    button.append(el("span", "#" + i + (text ? " " + text : "")));
    button.addEventListener("click", () => api.select(i));
    return button;
  }
  function shown(cell) {
    if (cell === null || cell === undefined) return "n/a";
    if (typeof cell === "number" && !Number.isInteger(cell)) return String(Number(cell.toPrecision(4)));
    return String(cell);
  }
  function table(rows, header) {
    const node = el("table");
    if (header) {
      const head = el("tr");
      header.forEach((name) => head.append(el("th", name)));
      node.append(head);
    }
    rows.forEach((cells) => {
      const row = el("tr");
      cells.forEach((cell) => row.append(el("td", shown(cell))));
      node.append(row);
    });
    return node;
  }

  function showSummary() {
    const node = document.getElementById("summary");
    R.summary.forEach(([name, value]) => {
      const row = el("tr"); row.append(el("td", name), el("td", value)); node.append(row);
    });
  }
  function showFamiliarity() {
    const found = R.familiarity;
    if (!found) return;
    document.getElementById("familiarity-section").hidden = false;
    for (const which of ["least", "most"]) {
      const list = document.getElementById(which);
      found[which].forEach(([i, score]) => {
        const item = el("li"); item.append(sampleButton(i, "log-density " + score)); list.append(item);
      });
    }
  }
  function showDuplicates() {
    const found = R.duplicates;
    if (!found) return;
    document.getElementById("duplicates-section").hidden = false;
    document.getElementById("duplicates-note").textContent = found.sets.length +
      " sets of samples the classifier's probabilities cannot tell apart (distance below " +
      found.threshold.toPrecision(3) + "), tightest first; dashed lines on the map.";
    const list = document.getElementById("duplicates");
    found.sets.forEach((members, k) => {
      const item = el("li");
      members.forEach((i) => item.append(sampleButton(i)));
      item.append(el("span", " mean distance " + found.means[k]));
      list.append(item);
    });
  }
  function showIssues() {
    const found = R.issues;
    if (!found) return;
    document.getElementById("issues-section").hidden = false;
    const body = document.querySelector("#issues tbody");
    found.rows.forEach(([i, given, predicted, quality]) => {
      const row = el("tr");
      row.dataset.index = String(i);
      row.append(el("td", "#" + i), el("td", given), el("td", predicted), el("td", String(quality)));
      row.addEventListener("click", () => api.select(i));
      body.append(row);
    });
  }
  function showUnits() {
    const found = R.units;
    if (!found) return;
    document.getElementById("units-section").hidden = false;
    const note = document.getElementById("units-note");
    const box = document.getElementById("units");
    if (found.note) { note.textContent = found.note; return; }
    note.textContent = "Layers: " + found.layers.join(", ") + "." +
      (found.skipped.length ? " Not analysed: " + found.skipped.join("; ") + "." : "");
    for (const [name, title] of [["inactive", "Inactive units"], ["filters", "Principal filters"]]) {
      const part = found[name];
      box.append(el("h3", title));
      const header = Object.keys(part.rows[0] || {});
      box.append(table(part.rows.map((row) => header.map((key) => row[key])), header));
      const img = el("img"); img.src = part.plot; img.alt = title; box.append(img);
    }
  }

  const saliencyBox = el("div"); saliencyBox.id = "panel-saliency";
  document.getElementById("panel").append(saliencyBox);
  function showSaliency(view, where) {
    saliencyBox.replaceChildren();
    if (!R.saliency) return;
    if (R.saliency.note) { saliencyBox.append(el("div", R.saliency.note)); return; }
    if (!view) {
      saliencyBox.append(el("div", "No saliency for " + where.replace("of ", "") +
        ": the report explains the first " + R.saliency.explained + " samples."));
      return;
    }
    saliencyBox.append(el("h3", "Saliency " + where),
      el("div", R.saliency.method + " of " + R.saliency.score + " of " + view.target +
        " (" + Math.round(100 * view.probability) + "%)"));
    if (view.images) {
      const grid = el("div", null, "grid");
      for (const name of ["baseline", "saliency", "delta", "overlay"]) {
        const figure = el("figure"); const img = el("img");
        img.src = view.images[name]; img.alt = name;
        figure.append(img, el("figcaption", name));
        grid.append(figure);
      }
      saliencyBox.append(grid, el("div", "blue − · red + · scale ±" + view.limit +
        " (overlay ±" + view.overlay_limit + ")"));
      return;
    }
    const largest = Math.max(...view.bars.map(([, value]) => Math.abs(value)), 1e-300);
    for (const [name, value] of view.bars) {
      const bar = el("div", null, "bar"); const swatch = el("i");
      swatch.style.width = Math.round(80 * Math.abs(value) / largest) + "px";
      swatch.style.background = value >= 0 ? "#b2182b" : "#2166ac";
      bar.append(el("span", name), swatch, el("span", String(value)));
      saliencyBox.append(bar);
    }
  }
  function markSelected(i) {
    document.querySelectorAll("#report .selected").forEach((node) => node.classList.remove("selected"));
    document.querySelectorAll('#report [data-index="' + i + '"]').forEach(
      (node) => node.classList.add("selected"));
  }

  showSummary(); showFamiliarity(); showDuplicates(); showIssues(); showUnits();
  api.onSelect((i) => {
    markSelected(i);
    showSaliency((R.saliency || {}).samples && R.saliency.samples[i], "of #" + i);
  });
  // Rings from elsewhere (a cell of the confusion matrix, the clear button) end the
  // selection of a single sample.
  api.onHighlight((selection) => {
    if (selection.source === "sample") return;
    markSelected(-1);
    saliencyBox.replaceChildren();
  });
  api.onProbe((k) => {
    markSelected(-1);
    showSaliency((R.saliency || {}).probes && R.saliency.probes[k], "of π⁻¹ here");
  });
})();
