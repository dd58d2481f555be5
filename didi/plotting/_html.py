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
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .._proba import label_indices
from ..decision_map._grid import grid_cells, grid_extent
from ..decision_map._layers import LAYERS, layer_attribute
from ..distance._divergence import normalized_entropy
from ._decision_map_display import background_image, class_colors, hex_colour, layer_rgb
from ._findings import Findings
from ._samples import as_image, colour_range

#: Thumbnails are embedded for at most this many points (each is a small PNG).
MAX_THUMBNAILS = 5000

#: Values shown for a sample that is not an image.
MAX_VALUES = 40

#: Positions per axis where π⁻¹ is precomputed for clicks on the background.
PROBE_RESOLUTION = 12


def png_data_uri(image: np.ndarray) -> str:
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
        return {"image": png_data_uri(np.asarray(image, dtype=np.float64))}
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
    maps,
    *,
    frame_names: list[str] | None = None,
    image_shape: tuple[int, ...] | None = None,
    probe_resolution: int = PROBE_RESOLUTION,
    max_thumbnails: int = MAX_THUMBNAILS,
    findings: Findings | None = None,
) -> dict:
    """Everything the page shows, as plain data: what the maps share (classes,
    samples, labels) once, and per map (a *frame* of the slider) its background,
    positions, predictions, probes and scores.

    ``maps`` is one fitted :class:`~didi.DecisionMap` or a list of maps of the same
    samples (a :class:`~didi.DecisionMapSequence`'s), named by ``frame_names``.
    """
    maps = maps if isinstance(maps, list) else [maps]
    first = maps[0]
    samples = first.projection_.metric_.X_fit_
    true = None if first.y_ is None else label_indices(first.y_, first.classes_)
    views = (
        [_sample_view(s, image_shape) for s in samples]
        if len(samples) <= max_thumbnails
        else [None] * len(samples)
    )
    names = frame_names if frame_names is not None else [""] * len(maps)
    frames = [
        _frame_data(dmap, name, image_shape, probe_resolution)
        for dmap, name in zip(maps, names, strict=True)
    ]
    extents = np.array([frame["extent"] for frame in frames])
    extent = [*extents[:, [0, 2]].min(axis=0), *extents[:, [1, 3]].max(axis=0)]
    return {
        "classes": [str(name) for name in first.classes_],
        "colors": [hex_colour(rgb) for rgb in class_colors(len(first.classes_))],
        "extent": [float(extent[i]) for i in (0, 2, 1, 3)],
        "points": {
            "true": None if true is None else true.tolist(),
            "labels": None if first.y_ is None else [str(v) for v in first.y_],
            "views": views,
        },
        "frames": frames,
        "findings": None if findings is None else findings.to_json(),
    }


def _frame_data(
    dmap, name: str, image_shape: tuple[int, ...] | None, probe_resolution: int
) -> dict:
    """What the page shows of one map: its background, points, probes and scores."""
    colors = class_colors(len(dmap.classes_))
    background = background_image(dmap.grid_labels_, dmap.grid_entropy_, colors)
    extent = [float(edge) for edge in grid_extent(dmap.grid_x_, dmap.grid_y_)]
    positions = probe_positions(dmap, probe_resolution)
    found = dmap.probe(positions)
    return {
        "name": str(name),
        # Row 0 of the grid is the lowest y; an image's row 0 is its top.
        "background": png_data_uri(np.ascontiguousarray(background[::-1])),
        "extent": extent,
        "x": dmap.embedding_[:, 0].round(6).tolist(),
        "y": dmap.embedding_[:, 1].round(6).tolist(),
        "predicted": dmap.proba_.argmax(axis=1).tolist(),
        "certainty": (1.0 - normalized_entropy(dmap.proba_)).round(4).tolist(),
        "probes": {
            "x": positions[:, 0].round(6).tolist(),
            "y": positions[:, 1].round(6).tolist(),
            "labels": [str(v) for v in found.labels],
            "certainty": found.certainty.round(4).tolist(),
            "views": [_sample_view(s, image_shape) for s in found.samples],
        },
        "scores": {name: round(float(value), 4) for name, value in dmap.scores_.items()},
        "layers": _layer_data(dmap),
    }


def probe_positions(dmap, resolution: int) -> np.ndarray:
    """``resolution²`` positions evenly inside the map's grid, where the page shows π⁻¹."""
    extent = grid_extent(dmap.grid_x_, dmap.grid_y_)
    axis_x = np.linspace(extent[0], extent[1], resolution + 2)[1:-1]
    axis_y = np.linspace(extent[2], extent[3], resolution + 2)[1:-1]
    return grid_cells(axis_x, axis_y)


def _layer_data(dmap) -> dict:
    """Each layer the map has, as an image on the display's colour scale with its legend."""
    out = {}
    for name in LAYERS:
        values = getattr(dmap, layer_attribute(name), None)
        if values is None:
            continue
        rgb, legend = layer_rgb(name, values)
        # Row 0 of the grid is the lowest y; an image's row 0 is its top.
        out[name] = {"image": png_data_uri(np.ascontiguousarray(rgb[::-1])), **legend}
    return out


def _page_file(name: str) -> str:
    """One of the page's parts, shipped as package data: its HTML, CSS or JavaScript."""
    return (resources.files(__package__) / "_page" / name).read_text(encoding="utf-8")


def write_html(
    maps,
    path: str | Path,
    *,
    title: str = "Decision map",
    frame_names: list[str] | None = None,
    image_shape: tuple[int, ...] | None = None,
    probe_resolution: int = PROBE_RESOLUTION,
    max_thumbnails: int = MAX_THUMBNAILS,
    findings: Findings | None = None,
) -> Path:
    """Write the page of one map or of a sequence of maps (with a slider); see
    :meth:`DecisionMap.to_html`."""
    data = page_data(
        maps,
        frame_names=frame_names,
        image_shape=image_shape,
        probe_resolution=probe_resolution,
        max_thumbnails=max_thumbnails,
        findings=findings,
    )
    path = Path(path)
    path.write_text(render_page(data, title=title), encoding="utf-8")
    return path


def render_page(
    data: dict, *, title: str, sections: str = "", style: str = "", script: str = ""
) -> str:
    """The page's HTML: the map with ``data``, then ``sections`` (static markup that
    holds no data), with ``style`` and ``script`` after the map's own."""
    parts = {
        "TITLE": html.escape(title),
        "DATA": _script_json(data),
        "STYLE": _page_file("page.css") + style,
        "SCRIPT": _page_file("page.js") + script,
        "SECTIONS": sections,
    }
    # One pass, so that a placeholder inside the title or the data stays text.
    return re.sub(
        r"@(TITLE|DATA|STYLE|SCRIPT|SECTIONS)@", lambda m: parts[m[1]], _page_file("page.html")
    )
