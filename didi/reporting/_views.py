"""The report's views as plain data: each a small function of fitted results.

Everything returned here goes into the page as JSON and is shown with
``textContent``; images are PNG ``data:`` URIs made here, never markup.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from ..plotting._html import png_data_uri
from ..plotting._saliency_display import (
    ATTRIBUTIONS,
    SALIENCY_CMAP,
    attribution_image,
    symmetric_limit,
    top_features,
)
from ..plotting._samples import as_image

#: Features listed per sample whose saliency is shown as bars (not an image).
SALIENCY_FEATURES = 10


def figure_data_uri(figure: Any) -> str:
    """A matplotlib figure as a PNG ``data:`` URI (and the figure closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def saliency_image(image: np.ndarray, limit: float) -> str:
    """One saliency panel (2-D) as a PNG on the diverging scale ``[−limit, limit]``."""
    import matplotlib

    rgba = matplotlib.colormaps[SALIENCY_CMAP]((image / limit + 1.0) / 2.0)
    return png_data_uri(rgba[..., :3])


def saliency_views(
    found: Any, image_shape: tuple[int, ...] | None, feature_names: list[str] | None
) -> list[dict]:
    """Per explained sample: its saliency, delta and overlay panels (images), or its
    largest deltas by feature (bars)."""
    is_image = as_image(found.samples[0], image_shape) is not None
    views = []
    for row in range(len(found.samples)):
        column = int(found.target_index[row])
        head = {
            "target": str(found.target[row]),
            "probability": round(float(found.proba[row, column]), 4),
        }
        if is_image:
            panels = {
                name: attribution_image(found[field][row], image_shape)
                for name, field in (("baseline", "baseline_saliency"), ("saliency", "saliency"),
                                    ("delta", "delta"), ("overlay", "overlay"))
            }  # fmt: skip
            # As in SaliencyDisplay: one scale for the attributions, the overlay its own.
            limit = symmetric_limit(*(panels[name] for name in ATTRIBUTIONS))
            limits = dict.fromkeys(ATTRIBUTIONS, limit)
            limits["overlay"] = symmetric_limit(panels["overlay"])
            head["images"] = {
                name: saliency_image(values, limits[name]) for name, values in panels.items()
            }
            head["limit"] = float(f"{limit:.4g}")
            head["overlay_limit"] = float(f"{limits['overlay']:.4g}")
        else:
            delta = np.ravel(found.delta[row])
            names = feature_names or [f"x{k}" for k in range(len(delta))]
            chosen = top_features(delta, SALIENCY_FEATURES)
            head["bars"] = [[str(names[k]), float(f"{delta[k]:.4g}")] for k in chosen]
        views.append(head)
    return views


def ranking(scores: np.ndarray, order: np.ndarray) -> list[list]:
    """``[index, score]`` pairs in the given order."""
    return [[int(i), float(f"{scores[i]:.4g}")] for i in order]


def label_issue_rows(
    issues: np.ndarray, quality: np.ndarray, y: np.ndarray, predicted: np.ndarray
) -> list[list]:
    """``[index, given label, predicted label, label quality]`` per issue, worst first."""
    return [[int(i), str(y[i]), str(predicted[i]), float(f"{quality[i]:.4g}")] for i in issues]


def summary_rows(
    estimator: Any, X: np.ndarray, labels: np.ndarray | None, decision_map: Any, seconds: dict
) -> list[list]:
    """``[name, value]`` rows describing the data, the model and the run; ``labels`` are
    the samples' labels as the map's class names."""
    predicted = decision_map.classes_[decision_map.proba_.argmax(axis=1)]
    rows = [
        ["samples", f"{len(X):,}"],
        ["sample shape", " × ".join(str(s) for s in X.shape[1:])],
        ["classes", f"{len(decision_map.classes_)}: "
                    + ", ".join(str(c) for c in decision_map.classes_[:20])],
        ["classifier", _model_text(estimator)],
    ]  # fmt: skip
    if labels is not None:
        accuracy = float(np.mean(labels == predicted))
        rows.append(["accuracy on these samples", f"{accuracy:.1%}"])
    rows.append(["classifier rows (map)", f"{int(decision_map.n_classifier_rows_):,}"])
    rows.extend([f"{stage} (s)", f"{value:.1f}"] for stage, value in seconds.items())
    return rows


def _model_text(estimator: Any) -> str:
    """The classifier in one line: its type and, briefly, its parameters."""
    text = " ".join(repr(estimator).split())
    return text if len(text) <= 300 else text[:297] + "…"
