"""``report``: every view of a classifier on a data set, in one page that opens offline."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Sequence
from importlib import resources
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from .._base import check_samples
from .._proba import label_indices
from .._validation import BOOLEAN, DICT, NONE, Constraint, Interval, Options, Satisfies, check_value
from ..decision_map import DecisionMap
from ..decision_map._layers import LAYERS
from ..introspection import Familiarity, NearDuplicates, find_label_issues
from ..introspection._units import unit_view
from ..plotting._html import PROBE_RESOLUTION, page_data, probe_positions, render_page
from ..saliency import METHODS, map_saliency, saliency, saliency_cost
from ..saliency._saliency import (
    MAX_ROWS,
    occlusion_window_count,
    offers_gradients,
)
from ._views import label_issue_rows, ranking, saliency_views, summary_rows

#: Activation modules whose outputs are a network's units, for ``unit_layers="auto"``.
ACTIVATIONS = ("ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
               "Mish", "Softplus", "Tanh", "Sigmoid", "Hardtanh", "Hardswish")  # fmt: skip

#: Fewest samples a report is made of.
MIN_SAMPLES = 10

#: The map's neighbours unless ``map_params`` says otherwise (fewer for fewer samples).
DEFAULT_NEIGHBORS = 30

#: Samples whose saliency the page holds (about 3 KB each for a small image).
MAX_EXPLAINED = 2000

#: Samples per block of the unit analyses.
UNIT_BLOCK = 256

#: What :func:`report` accepts, checked before any work.
OPTIONS: dict[str, list[Constraint]] = {
    "map_params": [NONE, DICT],
    "layers": [
        Satisfies(
            lambda v: isinstance(v, (tuple, list)) and all(name in LAYERS for name in v),
            f"a list of layer names among {list(LAYERS)}",
        )
    ],
    "saliency_method": [Options(METHODS)],
    "unit_layers": [
        NONE,
        Options(("auto",)),
        Satisfies(
            lambda v: isinstance(v, (list, tuple)) and all(isinstance(n, str) for n in v),
            "a list of module names",
        ),
    ],
    "n_listed": [Interval(Integral, 1, 1000)],
    "random_state": [NONE, Interval(Integral, 0, 2**32 - 1)],
    "progress": [BOOLEAN],
}


def report(
    estimator: Any,
    X: Any,
    y: Any = None,
    *,
    output_dir: str | Path = "didi-report",
    title: str | None = None,
    image_shape: tuple[int, ...] | None = None,
    feature_names: Sequence[str] | None = None,
    map_params: dict | None = None,
    layers: Sequence[str] = ("boundary_distance",),
    saliency_method: str = "auto",
    unit_layers: str | Sequence[str] | None = "auto",
    n_listed: int = 20,
    random_state: int | None = 0,
    progress: bool = True,
) -> Path:
    """Write a report on a classifier and a data set: one page that opens offline.

    The page links every view: selecting a sample anywhere (a point of the map, a
    row of a list) shows it everywhere — highlighted on the map, its sample and
    saliency in the side panel, marked in every list that holds it. Stages:

    1. the decision map (:class:`~didi.DecisionMap`) with its layers
       (:meth:`~didi.DecisionMap.compute_layers`), shown with its scores and, when
       labels are given, the confusion matrix, whose cells select their samples;
    2. familiarity (:class:`~didi.Familiarity`): the least and most familiar samples;
    3. near-duplicates (:class:`~didi.NearDuplicates`, in the classifier's space);
    4. label issues (:func:`~didi.find_label_issues` with the map's neighbours),
       with labels; read them as issues only if the classifier was not trained on
       these samples;
    5. saliency (:func:`didi.saliency.saliency`) of every sample and of the samples
       π⁻¹ synthesises at the map's probe positions (a click on the background);
    6. for a :class:`didi.torch.TorchClassifier`, inactive units and principal
       filters of ``unit_layers``.

    Parameters
    ----------
    estimator : object or callable
        The trained classifier; only queried.
    X : array-like of shape (n_samples, ...)
        The samples (held out from training, for the label issues to mean much).
    y : array-like of shape (n_samples,), default=None
        Their labels; without them there is no confusion matrix and no label issues.
    output_dir : str or path, default="didi-report"
        Folder for ``index.html`` (the page) and ``report.json`` (the figures).
    title : str, default=None
        The page's title.
    image_shape : tuple of int, default=None
        Shape to show flat samples as images (and occlusion's grid).
    feature_names : sequence of str, default=None
        Names of the features of samples that are not images.
    map_params : dict, default=None
        Parameters of the :class:`~didi.DecisionMap` (``random_state`` defaults to
        ``random_state``, ``verbose`` to ``progress``, ``n_neighbors`` to 30 or one
        less than the samples).
    layers : sequence of str, default=("boundary_distance",)
        Layers computed beyond the gradient (see
        :meth:`~didi.DecisionMap.compute_layers`). The boundary distance costs
        ``3 × 10`` rows per cell by bisection, or DeepFool's passes for a
        TorchClassifier; ``"consistency"`` places every cell back into the map, about
        280 rows per cell (2.8 million at resolution 100: seconds for a small MLP,
        twenty minutes for a ConvNet on two CPU cores).
    saliency_method : str, default="auto"
        A method of :func:`didi.saliency.saliency`, for the first 2,000 samples and
        the page's 144 probe positions. ``"auto"``: gradients where the classifier
        offers them, else finite differences if they take at most one million
        inputs, else occlusion if it does, else none (the page says so). A method
        named here that would take more is refused before any work.
    unit_layers : "auto", list of str or None, default="auto"
        Modules whose outputs are analysed (a TorchClassifier's); ``"auto"`` takes
        its activation modules; ``None`` skips the unit analyses.
    n_listed : int, default=20
        Samples per ranking.
    random_state : int or None, default=0
        Seed of the map, the mixtures and the searches.
    progress : bool, default=True
        Show a progress bar over the stages (and the map's own).

    Returns
    -------
    pathlib.Path
        The page, ``output_dir/index.html``.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> import didi
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=3000).fit(X[300:] / 16, y[300:])
    >>> page = didi.report(
    ...     clf, X[:150] / 16, y[:150], output_dir=tempfile.mkdtemp(), image_shape=(8, 8),
    ...     map_params={"resolution": 20}, layers=(), progress=False,
    ... )
    >>> page.name
    'index.html'
    """
    options = dict(map_params=map_params, layers=layers, saliency_method=saliency_method,
                   unit_layers=unit_layers, n_listed=n_listed, random_state=random_state,
                   progress=progress)  # fmt: skip
    for name, value in options.items():
        check_value("report", name, value, OPTIONS[name])
    X = check_samples(X, min_samples=MIN_SAMPLES)
    y = None if y is None else np.asarray(y)
    if y is not None and len(y) != len(X):
        raise ValueError(f"y has {len(y)} labels for {len(X)} samples.")
    _check_views(X, image_shape, feature_names)
    options["saliency_method"] = _saliency_plan(estimator, X, image_shape, saliency_method)
    built = _build(estimator, X, y, image_shape, feature_names, options)
    return _write(built, Path(output_dir), title or f"Report: {type(estimator).__name__}",
                  image_shape)  # fmt: skip


def _check_views(X: np.ndarray, image_shape: Any, feature_names: Any) -> None:
    """``image_shape`` and ``feature_names`` must fit a sample, checked before any work."""
    n_values = int(np.prod(X.shape[1:]))
    if image_shape is not None and int(np.prod(image_shape)) != n_values:
        raise ValueError(
            f"image_shape={tuple(image_shape)} holds {int(np.prod(image_shape))} values; a "
            f"sample has {n_values}."
        )
    if feature_names is not None and len(feature_names) != n_values:
        raise ValueError(f"feature_names has {len(feature_names)} names for {n_values} features.")


def _stages(progress: bool):
    """A progress bar over the report's stages."""
    from tqdm.auto import tqdm

    names = ["decision map", "map layers", "familiarity", "near-duplicates", "label issues",
             "saliency", "units"]  # fmt: skip
    return tqdm(names, desc="didi report", disable=not progress, unit="stage")


def _build(estimator, X, y, image_shape, feature_names, options) -> Bunch:
    """Run every stage; returns what the page and ``report.json`` show."""
    built = Bunch(seconds={}, sections={})
    bar = _stages(options["progress"])
    seed = options["random_state"]
    for stage in bar:
        bar.set_postfix_str(stage)
        start = time.perf_counter()
        if stage == "decision map":
            params = {"random_state": seed, "verbose": options["progress"],
                      "n_neighbors": min(DEFAULT_NEIGHBORS, len(X) - 1),
                      **(options["map_params"] or {})}  # fmt: skip
            built.decision_map = DecisionMap(estimator, **params).fit(X, y)
            labels = _label_names(built.decision_map, y)
        elif stage == "map layers" and options["layers"]:
            built.decision_map.compute_layers(list(options["layers"]))
        elif stage == "familiarity":
            built.sections["familiarity"] = _familiarity(estimator, X, labels, options)
        elif stage == "near-duplicates":
            built.sections["duplicates"] = _duplicates(estimator, X, seed)
        elif stage == "label issues" and labels is not None:
            built.sections["issues"] = _label_issues(built.decision_map, labels)
        elif stage == "saliency":
            built.sections["saliency"] = _saliency(estimator, X, built.decision_map,
                                                   image_shape, feature_names, options)  # fmt: skip
        elif stage == "units" and options["unit_layers"] is not None:
            built.sections["units"] = _units(estimator, X, options["unit_layers"])
        built.seconds[stage] = time.perf_counter() - start
    built.summary = summary_rows(estimator, X, labels, built.decision_map, built.seconds)
    if "rows" in built.sections.get("saliency", {}):
        saliency_rows = built.sections["saliency"]["rows"]
        built.summary.append(["classifier rows (saliency)", f"{saliency_rows:,}"])
    return built


def _label_names(decision_map, y) -> np.ndarray | None:
    """The labels as the map's class names (integer targets of named classes included);
    ``None`` without labels, or where some label is not a class."""
    if y is None:
        return None
    with warnings.catch_warnings():  # the map's fit has warned of unknown labels already
        warnings.simplefilter("ignore")
        indices = label_indices(y, decision_map.classes_)
    return None if (indices < 0).any() else decision_map.classes_[indices]


def _familiarity(estimator, X, labels, options) -> dict:
    """The least and most familiar samples to the classifier (its probabilities), per
    class where every class has two samples to model."""
    counts = np.unique(labels, return_counts=True)[1] if labels is not None else [0]
    per_class = min(counts) >= 2
    model = Familiarity(estimator, per_class=per_class, random_state=options["random_state"])
    model.fit(X, labels if per_class else None)
    found = model.representatives(n=options["n_listed"])
    unfamiliar = np.flatnonzero(model.predict(X, labels if per_class else None) == -1)
    return {
        "least": ranking(model.familiarity_, found.least[None]),
        "most": ranking(model.familiarity_, found.most[None]),
        "unfamiliar": unfamiliar.tolist(),
        "per_class": bool(per_class),
    }


def _duplicates(estimator, X, seed) -> dict:
    """Sets of samples the classifier cannot tell apart, tightest first."""
    model = NearDuplicates(estimator, space="proba", random_state=seed).fit(X)
    return {
        "sets": [[int(i) for i in found.indices] for found in model.sets_],
        "means": [float(f"{found.mean:.4g}") for found in model.sets_],
        "threshold": float(model.threshold_),
        "labels": model.labels_,
    }


def _label_issues(decision_map, y) -> dict:
    """Samples whose label the classifier and their map neighbours doubt."""
    issues, quality = find_label_issues(
        y, decision_map.proba_, decision_map=decision_map, return_scores=True
    )
    predicted = decision_map.classes_[decision_map.proba_.argmax(axis=1)]
    return {"rows": label_issue_rows(issues, quality, y, predicted), "indices": issues.tolist()}


def _saliency_plan(estimator, X, image_shape, requested: str) -> str | None:
    """The saliency method, chosen and costed before any work: ``"auto"`` takes
    gradients, else finite differences, else occlusion, whichever fits ``MAX_ROWS``
    for the samples explained and the probes; ``None`` when none does."""
    n = min(len(X), MAX_EXPLAINED) + PROBE_RESOLUTION**2
    known = len(getattr(estimator, "classes_", ())) or n

    def cost(method: str) -> int:
        n_windows = (
            occlusion_window_count(X, image_shape, estimator) if method == "occlusion" else 0
        )
        return saliency_cost(method, n, min(n, known), int(np.prod(X.shape[1:])),
                             n_windows=n_windows)  # fmt: skip

    if requested == "auto":
        if offers_gradients(estimator):
            return "gradient"
        # Finite differences first: they estimate the gradient itself.
        return next((m for m in ("finite_difference", "occlusion") if cost(m) <= MAX_ROWS), None)
    if cost(requested) > MAX_ROWS:
        raise ValueError(
            f"saliency_method={requested!r} would evaluate up to {cost(requested):,} inputs "
            f"(more than {MAX_ROWS:,}) for {n} samples and probes; choose a cheaper one."
        )
    return requested


def _saliency(estimator, X, decision_map, image_shape, feature_names, options) -> dict:
    """Saliency of the first ``MAX_EXPLAINED`` samples and of the samples π⁻¹ puts at
    the page's probe positions."""
    method = options["saliency_method"]
    if method is None:
        return {"note": "Saliency was skipped: every method would evaluate more than "
                        f"{MAX_ROWS:,} inputs for these samples."}  # fmt: skip
    extra: dict[str, Any] = {"method": method, "max_rows": MAX_ROWS}
    if method == "occlusion" and image_shape:
        extra["image_shape"] = tuple(image_shape)
    explained = X[:MAX_EXPLAINED]
    found = saliency(estimator, explained, batch_size=decision_map.batch_size, **extra)
    names = None if feature_names is None else [str(n) for n in feature_names]
    probes = probe_positions(decision_map, PROBE_RESOLUTION)
    at_probes = map_saliency(decision_map, probes, **extra)
    return {
        "method": method,
        "score": found.score,
        "rows": int(found.n_rows + at_probes.n_rows),
        "samples": saliency_views(found, image_shape, names),
        "probes": saliency_views(at_probes, image_shape, names),
        "explained": len(explained),
    }


def _units(estimator, X, unit_layers) -> dict:
    """Inactive units and principal filters of the network's layers, when it has them."""
    if not callable(getattr(estimator, "unit_responses", None)):
        return {"note": f"{type(estimator).__name__} has no unit responses (a "
                        "didi.torch.TorchClassifier has)."}  # fmt: skip
    names, skipped = _unit_layer_names(estimator, X, unit_layers)
    if not names:
        return {"note": "No layer to analyse: " + ("; ".join(skipped) or
                        "the network has no activation modules; name its layers with "
                        "unit_layers.")}  # fmt: skip
    from ..introspection import inactive_unit_analysis, principal_filter_analysis
    from ..plotting import InactiveUnitsDisplay, PrincipalFiltersDisplay
    from ._views import figure_data_uri

    peaks, means = _reduced_responses(estimator, X, names)
    inactive = inactive_unit_analysis(peaks)
    filters = principal_filter_analysis(means)
    return {
        "layers": names,
        "skipped": skipped,
        "inactive": {
            "rows": inactive.rows(),
            "plot": figure_data_uri(InactiveUnitsDisplay.from_analysis(inactive).figure_),
        },
        "filters": {
            "rows": filters.rows(),
            "plot": figure_data_uri(PrincipalFiltersDisplay.from_analysis(filters).figure_),
        },
    }


def _reduced_responses(estimator, X, names) -> tuple[dict, dict]:
    """Per layer, each channel's largest |response| and its mean over positions, taken a
    block of samples at a time, so that a convolution's maps are never all in memory.

    The inactive-unit analysis of the peaks equals that of the full responses (a
    channel is inactive where all its values are about 0), and principal filter
    analysis pools positions by their mean anyway.
    """
    peaks: dict[str, list] = {name: [] for name in names}
    means: dict[str, list] = {name: [] for name in names}
    for start in range(0, len(X), UNIT_BLOCK):
        found = estimator.unit_responses(X[start : start + UNIT_BLOCK], names)
        for name, values in found.items():
            values = unit_view(values[:, None] if values.ndim == 1 else values, 1)
            peaks[name].append(np.abs(values).max(axis=2))
            means[name].append(values.mean(axis=2))
    return ({n: np.concatenate(v) for n, v in peaks.items()},
            {n: np.concatenate(v) for n, v in means.items()})  # fmt: skip


def _unit_layer_names(estimator, X, unit_layers) -> tuple[list[str], list[str]]:
    """The modules analysed — those named, or every activation module — and why the
    others that were asked for could not be (run on two samples)."""
    candidates = list(unit_layers) if unit_layers != "auto" else [
        name for name, module in estimator.module.named_modules()
        if name and type(module).__name__ in ACTIVATIONS
    ]  # fmt: skip
    names, skipped = [], []
    for name in candidates:
        try:
            estimator.unit_responses(X[:2], [name])
        except (ValueError, TypeError) as error:  # a reused module, a tuple output, ...
            skipped.append(f"{name}: {' '.join(str(error).split())[:200]}")
        else:
            names.append(name)
    return names, skipped


def _write(built: Bunch, output_dir: Path, title: str, image_shape) -> Path:
    """``index.html`` and ``report.json`` into ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    dmap = built.decision_map
    sections = built.sections
    findings = _findings(sections, len(dmap.embedding_))
    data = page_data(dmap, image_shape=image_shape, findings=findings)
    data["report"] = {"summary": built.summary, **_without_arrays(sections)}
    page = render_page(
        data, title=title, sections=_page_part("report.html"),
        style=_page_part("report.css"), script=_page_part("report.js"),
    )  # fmt: skip
    path = output_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    figures = {
        "title": title,
        "summary": dict(built.summary),
        "scores": {k: None if v != v else float(v) for k, v in dmap.scores_.items()},
        "stage_seconds": built.seconds,
        "unfamiliar": sections.get("familiarity", {}).get("unfamiliar", []),
        "duplicate_sets": sections.get("duplicates", {}).get("sets", []),
        "label_issues": sections.get("issues", {}).get("indices", []),
        "saliency_method": sections.get("saliency", {}).get("method"),
        "saliency_rows": sections.get("saliency", {}).get("rows"),
    }
    (output_dir / "report.json").write_text(json.dumps(figures, indent=2))
    return path


def _findings(sections: dict, n_samples: int):
    """The findings marked on the map."""
    from ..plotting._findings import Findings

    return Findings.collect(
        n_samples,
        familiarity=sections.get("familiarity", {}).get("unfamiliar"),
        duplicates=sections.get("duplicates", {}).get("labels"),
        label_issues=sections.get("issues", {}).get("indices"),
    )


def _without_arrays(sections: dict) -> dict:
    """The sections as the page reads them (the duplicates' per-sample labels dropped)."""
    out = dict(sections)
    if "duplicates" in out:
        out["duplicates"] = {k: v for k, v in out["duplicates"].items() if k != "labels"}
    return out


def _page_part(name: str) -> str:
    """One of the report page's parts, shipped as package data."""
    return (resources.files(__package__) / "_page" / name).read_text(encoding="utf-8")
