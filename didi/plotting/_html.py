"""A fitted decision map as one self-contained web page.

The page needs no network and no server: the map's background, the points, their
thumbnails and a grid of samples synthesised by π⁻¹ are embedded as data, and a
small script draws them on a canvas with zoom (wheel), pan (drag), a tooltip per
point (hover) and a panel showing the sample behind a point or the synthesised
sample nearest to a clicked position. Text from the data (class names, labels,
the title) reaches the page only as JSON inside a ``<script type="application/json">``
element, with ``<``, ``>`` and ``&`` escaped, and is inserted with ``textContent``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..distance._divergence import normalized_entropy
from ._decision_map_display import background_image, class_colors, label_indices
from ._samples import as_image, colour_range

#: Thumbnails are embedded for at most this many points (each is a small PNG).
MAX_THUMBNAILS = 5000

#: Values shown for a sample that is not an image.
MAX_VALUES = 40


def _png_data_uri(image: np.ndarray) -> str:
    """A PNG of ``image`` (grey, or colour as :func:`colour_range` reads it) as a ``data:`` URI."""
    import matplotlib.image

    buffer = io.BytesIO()
    if image.ndim == 2:
        low, high = float(image.min()), float(image.max())
        matplotlib.image.imsave(
            buffer, image, cmap="gray_r", vmin=low, vmax=high if high > low else low + 1
        )
    else:
        matplotlib.image.imsave(buffer, colour_range(image))
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _sample_view(sample: np.ndarray, image_shape: tuple[int, ...] | None) -> dict:
    """How the page shows one sample: a thumbnail, or its first values."""
    image = as_image(sample, image_shape)
    if image is not None:
        return {"image": _png_data_uri(np.asarray(image, dtype=np.float64))}
    values = np.ravel(sample)
    shown = [float(f"{v:.4g}") for v in values[:MAX_VALUES]]
    return {"values": shown, "more": int(max(0, len(values) - MAX_VALUES))}


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _script_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element: no ``</script>``, no HTML entities."""
    text = json.dumps(_finite(data), separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def page_data(
    decision_map,
    *,
    image_shape: tuple[int, ...] | None = None,
    probe_resolution: int = 12,
    max_thumbnails: int = MAX_THUMBNAILS,
) -> dict:
    """Everything the page shows, as plain data."""
    dmap = decision_map
    n_classes = len(dmap.classes_)
    colors = class_colors(n_classes)
    background = background_image(dmap.grid_labels_, dmap.grid_entropy_, colors)
    # Row 0 of the grid is the lowest y; an image's row 0 is its top.
    background_uri = _png_data_uri(np.ascontiguousarray(background[::-1]))
    step_x = (dmap.grid_x_[-1] - dmap.grid_x_[0]) / max(1, len(dmap.grid_x_) - 1)
    step_y = (dmap.grid_y_[-1] - dmap.grid_y_[0]) / max(1, len(dmap.grid_y_) - 1)
    extent = [
        float(dmap.grid_x_[0] - step_x / 2),
        float(dmap.grid_x_[-1] + step_x / 2),
        float(dmap.grid_y_[0] - step_y / 2),
        float(dmap.grid_y_[-1] + step_y / 2),
    ]
    samples = dmap.projection_.metric_.X_fit_
    predicted = dmap.proba_.argmax(axis=1)
    certainty = 1.0 - normalized_entropy(dmap.proba_)
    true = None if dmap.y_ is None else label_indices(dmap.y_, dmap.classes_)
    views = (
        [_sample_view(s, image_shape) for s in samples]
        if len(samples) <= max_thumbnails
        else [None] * len(samples)
    )
    axis_x = np.linspace(extent[0], extent[1], probe_resolution + 2)[1:-1]
    axis_y = np.linspace(extent[2], extent[3], probe_resolution + 2)[1:-1]
    positions = np.stack(np.meshgrid(axis_x, axis_y), axis=-1).reshape(-1, 2)
    found = dmap.probe(positions)
    return {
        "classes": [str(name) for name in dmap.classes_],
        "colors": [_hex_colour(rgb) for rgb in colors],
        "background": background_uri,
        "extent": extent,
        "points": {
            "x": dmap.embedding_[:, 0].round(6).tolist(),
            "y": dmap.embedding_[:, 1].round(6).tolist(),
            "predicted": predicted.tolist(),
            "true": None if true is None else true.tolist(),
            "labels": None if dmap.y_ is None else [str(v) for v in dmap.y_],
            "certainty": certainty.round(4).tolist(),
            "views": views,
        },
        "probes": {
            "x": positions[:, 0].round(6).tolist(),
            "y": positions[:, 1].round(6).tolist(),
            "labels": [str(v) for v in found.labels],
            "certainty": found.certainty.round(4).tolist(),
            "views": [_sample_view(s, image_shape) for s in found.samples],
        },
        "scores": {name: round(float(value), 4) for name, value in dmap.scores_.items()},
    }


def _hex_colour(rgb: np.ndarray) -> str:
    red, green, blue = (round(255 * float(c)) for c in rgb)
    return f"#{red:02x}{green:02x}{blue:02x}"


def write_html(
    decision_map,
    path: str | Path,
    *,
    title: str = "Decision map",
    image_shape: tuple[int, ...] | None = None,
    probe_resolution: int = 12,
    max_thumbnails: int = MAX_THUMBNAILS,
) -> Path:
    """Write the page; see :meth:`DecisionMap.to_html`."""
    data = page_data(
        decision_map,
        image_shape=image_shape,
        probe_resolution=probe_resolution,
        max_thumbnails=max_thumbnails,
    )
    # One pass, so that a placeholder inside the title or the data stays text.
    parts = {"TITLE": html.escape(title), "DATA": _script_json(data), "SCRIPT": _SCRIPT}
    page = re.sub(r"@(TITLE|DATA|SCRIPT)@", lambda match: parts[match[1]], _TEMPLATE)
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>@TITLE@</title>
<style>
body { font-family: sans-serif; margin: 1em; color: #222; }
#layout { display: flex; gap: 1em; align-items: flex-start; }
#map { border: 1px solid #999; cursor: grab; touch-action: none; }
#tooltip { position: fixed; pointer-events: none; background: #fff; border: 1px solid #666;
  padding: 4px 6px; font-size: 12px; display: none; box-shadow: 1px 1px 4px #0003; }
#tooltip img, #panel img { image-rendering: pixelated; display: block; }
#tooltip img { width: 64px; }
#panel { width: 260px; font-size: 13px; }
#panel img { width: 200px; }
#legend span { display: inline-block; margin-right: 0.8em; }
#legend i { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.2em;
  border: 1px solid #333; vertical-align: middle; }
pre { white-space: pre-wrap; }
</style>
</head>
<body>
<h1 id="title">@TITLE@</h1>
<p id="scores"></p>
<div id="legend"></div>
<div id="layout">
  <canvas id="map" width="720" height="720"
    aria-label="decision map: wheel to zoom, drag to pan, click for a sample"></canvas>
  <aside id="panel"><h2 id="panel-title">Click a point or the map</h2>
    <div id="panel-body"></div></aside>
</div>
<div id="tooltip" role="tooltip"></div>
<script type="application/json" id="didi-data">@DATA@</script>
<script>@SCRIPT@</script>
</body>
</html>
"""

_SCRIPT = r"""
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("didi-data").textContent);
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const tooltip = document.getElementById("tooltip");
  const [x0, x1, y0, y1] = data.extent;
  const P = data.points;
  const view = { scale: 1, tx: 0, ty: 0 };
  const background = new Image();
  background.onload = draw;
  background.src = data.background;

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
    const c = P.true && P.true[i] >= 0 ? P.true[i] : P.predicted[i];
    return data.colors[c];
  }
  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(background, view.tx, view.ty, canvas.width * view.scale,
                  canvas.height * view.scale);
    for (let i = 0; i < P.x.length; i++) {
      const [px, py] = toScreen(P.x[i], P.y[i]);
      ctx.beginPath();
      ctx.arc(px, py, 4, 0, 2 * Math.PI);
      ctx.fillStyle = colorOf(i);
      ctx.fill();
      ctx.lineWidth = 0.6;
      ctx.strokeStyle = "#000";
      ctx.stroke();
      if (P.true && P.true[i] !== P.predicted[i]) {
        ctx.strokeStyle = data.colors[P.predicted[i]];
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(px - 5, py - 5); ctx.lineTo(px + 5, py + 5);
        ctx.moveTo(px + 5, py - 5); ctx.lineTo(px - 5, py + 5);
        ctx.stroke();
      }
    }
  }
  function nearestPoint(px, py, radius) {
    let best = -1, bestDistance = radius * radius;
    for (let i = 0; i < P.x.length; i++) {
      const [qx, qy] = toScreen(P.x[i], P.y[i]);
      const d = (qx - px) ** 2 + (qy - py) ** 2;
      if (d <= bestDistance) { best = i; bestDistance = d; }
    }
    return best;
  }
  function nearestProbe(x, y) {
    let best = 0, bestDistance = Infinity;
    for (let i = 0; i < data.probes.x.length; i++) {
      const d = (data.probes.x[i] - x) ** 2 + (data.probes.y[i] - y) ** 2;
      if (d < bestDistance) { best = i; bestDistance = d; }
    }
    return best;
  }
  function describe(i) {
    const lines = ["#" + i];
    if (P.labels) lines.push("true: " + P.labels[i]);
    lines.push("predicted: " + data.classes[P.predicted[i]]);
    lines.push("certainty: " + Math.round(100 * P.certainty[i]) + "%");
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
  });
  canvas.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const [px, py] = localXY(event);
    const factor = event.deltaY < 0 ? 1.2 : 1 / 1.2;
    view.tx = px - (px - view.tx) * factor;
    view.ty = py - (py - view.ty) * factor;
    view.scale *= factor;
    draw();
  }, { passive: false });
  function click(event) {
    const [px, py] = localXY(event);
    const i = nearestPoint(px, py, 7);
    if (i >= 0) { showPanel("Sample #" + i, describe(i).slice(1), P.views[i]); return; }
    const [x, y] = toMap(px, py);
    const k = nearestProbe(x, y);
    showPanel("π⁻¹ near (" + x.toFixed(2) + ", " + y.toFixed(2) + ")",
      ["label: " + data.probes.labels[k],
       "certainty: " + Math.round(100 * data.probes.certainty[k]) + "%"],
      data.probes.views[k]);
  }
  const scores = Object.entries(data.scores)
    .map(([name, value]) => name + " " + (value === null ? "n/a" : (100 * value).toFixed(1) + "%"))
    .join(" · ");
  document.getElementById("scores").textContent = scores;
  const legend = document.getElementById("legend");
  data.classes.forEach((name, k) => {
    const item = el("span"); const swatch = el("i");
    swatch.style.background = data.colors[k];
    item.append(swatch, document.createTextNode(name));
    legend.append(item);
  });
  // For tests and scripts: where a point is drawn, in page coordinates.
  window.didi = {
    pointOnPage(i) {
      const box = canvas.getBoundingClientRect();
      const [px, py] = toScreen(P.x[i], P.y[i]);
      return [box.left + px, box.top + py];
    },
    view,
  };
})();
"""
