"""Write ``reference_maps.npz``: maps of the demo's data, to check that code changes
which should not change results indeed give bit-identical maps.

Run from the repository root: ``python tests/data/make_reference_maps.py``. Rerun it
only for a change that is meant to change the maps, and say so in its commit.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import sklearn
import umap

from didi import DecisionMap
from didi.cli._commands import demo_classifier_and_samples
from didi.decision_map._quality import SCORE_NAMES

HERE = Path(__file__).parent


#: The maps compared: the demo's own (k-NN mode), the dense reference-faithful mode, and
#: a map grown by add_samples; with π⁻¹'s ridge strength of the time they were written.
SETTINGS = {
    "demo": {"resolution": 100, "alpha": 1e-3},
    "dense_max": {
        "mode": "dense",
        "scale": "max",
        "resolution": 40,
        "n_samples": 150,
        "alpha": 1e-3,
    },
    "added": {"resolution": 40, "n_samples": 300, "added": 150, "alpha": 1e-3},
}


def fit_setting(name: str, clf, X, y) -> DecisionMap:
    params = dict(SETTINGS[name])
    n = params.pop("n_samples", len(X))
    added = params.pop("added", 0)
    dmap = DecisionMap(clf, random_state=0, **params).fit(X[:n], y[:n])
    if added:
        dmap.add_samples(X[n : n + added], y[n : n + added])
    return dmap


def arrays_of(name: str, dmap: DecisionMap) -> dict[str, np.ndarray]:
    graph = dmap.projection_.metric_
    # The reference predates the literature's scores: the paper's four are compared,
    # and the rows without the samples' round trip through the map's own π⁻¹ (one
    # row per sample, where a hold-out makes it differ from the scores' π⁻¹).
    round_trip = len(dmap.embedding_) if dmap.holdout > 0 else 0
    out = {
        "embedding": dmap.embedding_,
        "grid_proba": dmap.grid_proba_,
        "scores": np.array([dmap.scores_[k] for k in sorted(SCORE_NAMES)]),
        "rows": np.array(dmap.n_classifier_rows_ - round_trip),
    }
    if graph.knn_indices_ is not None:
        out["knn_indices"] = graph.knn_indices_
        out["knn_distances"] = graph.knn_distances_
    return {f"{name}/{key}": value for key, value in out.items()}


def library_versions() -> str:
    """The versions of the libraries the layout depends on, as one string."""
    versions = {
        "umap": umap.__version__,
        "numba": numba.__version__,
        "sklearn": sklearn.__version__,
    }
    return repr(sorted(versions.items()))


def main() -> None:
    clf, X, y = demo_classifier_and_samples()
    arrays = {}
    for name in SETTINGS:
        arrays.update(arrays_of(name, fit_setting(name, clf, X, y)))
    arrays["versions"] = np.array(library_versions())
    np.savez_compressed(HERE / "reference_maps.npz", **arrays)


if __name__ == "__main__":
    main()
