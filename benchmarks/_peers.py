"""Pieces of ``bench_peers.py``: data sets, classifiers and the decision-map pipelines.

Every pipeline is built into a :class:`Map`: the mapped samples' positions, π⁻¹
(``inverse``), π for new samples (``place``) and a way to fit π⁻¹ again on a subset
of the samples (``fit_inverse``), with the wall time and classifier rows its
construction took. ``bench_peers.py`` measures every :class:`Map` with one evaluator.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from _common import (
    LAM,
    N_STEPS,
    CountingProba,
    digits_split,
    make_classifier,
    reference_distances,
    reference_inverse_fit,
    reference_inverse_transform,
)
from scipy.spatial.distance import cdist
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from didi import DecisionMap, FisherJSMetric, quality_scorer

Inverse = Callable[[np.ndarray], np.ndarray]

#: UMAP's settings in every pipeline (didi's defaults): neighbours and min_dist.
UMAP_NEIGHBORS, UMAP_MIN_DIST = 30, 0.1

#: t-SNE's samples have no π: new samples are placed by a k-NN regression (inputs → positions).
TSNE_PLACE_NEIGHBORS = 5

#: The tuned didi: the score GridSearchCV maximises, and the grid it searches.
TUNING_SCORE = "q_not_data"
TUNING_GRID = {"lam": [0.3, 0.5, 0.65, 0.8], "a": [100, 500, 2000]}

#: inverse-projections' iLAMP holds an (n, d, d) float64 array per batch: cap it at ~256 MB.
ILAMP_BATCH_BYTES = 1 << 28


# ------------------------------------------------------------------ classifiers


class StableCounter(CountingProba):
    """:class:`CountingProba` whose pickle leaves out the counts, so that
    ``DecisionMap(memory=...)`` recognises the classifier from one fit to the next."""

    def __getstate__(self) -> dict:
        return {"clf": self.clf}

    def __setstate__(self, state: dict) -> None:
        self.clf = state["clf"]
        self.reset()


@dataclass
class Task:
    """A data set and classifier: the mapped samples (flat float64 rows) and true labels."""

    name: str
    X: np.ndarray
    y: np.ndarray
    clf: Any
    counter: StableCounter = field(init=False)
    accuracy: float = field(init=False)

    def __post_init__(self) -> None:
        self.counter = StableCounter(self.clf)
        self.accuracy = float(np.mean(self.predict(self.X) == self.y))

    def predict(self, samples: np.ndarray) -> np.ndarray:
        """The classifier's class indices, not counted (the evaluator's ``predict``)."""
        return np.asarray(self.clf.predict_proba(samples)).argmax(axis=1)


def digits_task(n_mapped: int) -> Task:
    """Digits in [0, 1] (pixels / 16), the benchmarks' StandardScaler + MLP(64)."""
    X, y, X_train, y_train = digits_split(n_mapped)
    return Task("digits MLP", X / 16.0, y, make_classifier(X_train / 16.0, y_train))


def tabular_task(n_mapped: int) -> Task:
    """Breast cancer (30 features, 2 classes), standardised on 200 training samples."""
    X, y = load_breast_cancer(return_X_y=True)
    perm = np.random.default_rng(0).permutation(len(X))
    train, mapped = perm[:200], perm[200 : 200 + n_mapped]
    scaler = StandardScaler().fit(X[train])
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=2000, random_state=0)
    clf.fit(scaler.transform(X[train]), y[train])
    return Task("breast cancer MLP", scaler.transform(X[mapped]), y[mapped], clf)


def fashion_task(model: str, n_mapped: int, n_train: int = 10_000, epochs: int = 3) -> Task:
    """Fashion-MNIST (Debian's files) in [0, 1] and a PyTorch ``model`` ("mlp" or
    "convnet") on CPU, trained for ``epochs`` on ``n_train`` training images (seed 0);
    ``n_mapped`` test images."""
    from didi.datasets import load_fashion_mnist
    from didi.torch import TorchClassifier

    images, labels = load_fashion_mnist("train")
    train = np.random.default_rng(0).choice(len(images), n_train, replace=False)
    X_train = images[train].reshape(n_train, -1).astype(np.float32) / 255
    test_images, test_labels = load_fashion_mnist("test")
    mapped = np.random.default_rng(0).choice(len(test_images), n_mapped, replace=False)
    X = test_images[mapped].reshape(n_mapped, -1).astype(np.float64) / 255
    module = _fashion_mlp() if model == "mlp" else _fashion_convnet()
    net = _train_torch(module, X_train, labels[train], epochs)
    name = "fashion MLP" if model == "mlp" else "fashion ConvNet"
    return Task(name, X, test_labels[mapped].astype(np.int64), TorchClassifier(net))


def _fashion_mlp() -> Any:
    import torch

    return torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)
    )  # fmt: skip


def _fashion_convnet() -> Any:
    """bench_torch.py's ConvNet, taking flat rows of 784 pixels."""
    import torch
    from bench_torch import fashion_convnet

    return torch.nn.Sequential(torch.nn.Unflatten(1, (1, 28, 28)), *fashion_convnet())


def _train_torch(module: Any, X: np.ndarray, y: np.ndarray, epochs: int, seed: int = 0) -> Any:
    """Adam (lr 1e-3), batch 128, cross-entropy, seeded; returns the module in eval mode."""
    import torch

    torch.manual_seed(seed)
    data, target = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-3)
    module.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(data)).split(128):
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(module(data[batch]), target[batch]).backward()
            optimiser.step()
    return module.eval()


# -------------------------------------------------------------------- the maps


@dataclass
class Map:
    """A built pipeline. ``fit_inverse(indices)`` fits π⁻¹ anew on those samples only."""

    embedding: np.ndarray
    inverse: Inverse
    place: Callable[[np.ndarray], np.ndarray]
    fit_inverse: Callable[[np.ndarray], Inverse]
    fit_s: float
    fit_rows: int
    notes: dict = field(default_factory=dict)
    cleanup: Callable[[], None] | None = None


def classify_grid(task: Task, inverse: Inverse, embedding: np.ndarray, resolution: int) -> None:
    """The map's grid through π⁻¹ and the (counted) classifier: the last stage of a build."""
    from didi.decision_map._grid import grid_axes, grid_cells

    task.counter(inverse(grid_cells(*grid_axes(embedding, resolution, 0.05))))


def build_didi(task: Task, seed: int, resolution: int) -> Map:
    """``DecisionMap(f, random_state=seed)`` with its defaults (the grid at ``resolution``)."""
    task.counter.reset()
    start = time.perf_counter()
    dmap = DecisionMap(task.counter, random_state=seed, resolution=resolution).fit(task.X, task.y)
    return _didi_map(task, dmap, time.perf_counter() - start)


def build_tuned(task: Task, seed: int, resolution: int) -> Map:
    """GridSearchCV over :data:`TUNING_GRID` by :data:`TUNING_SCORE`, 3 folds, paths cached."""
    cache = tempfile.mkdtemp(prefix="bench_peers_")
    task.counter.reset()
    start = time.perf_counter()
    search = GridSearchCV(
        DecisionMap(task.counter, random_state=seed, resolution=resolution, memory=cache),
        TUNING_GRID,
        scoring=quality_scorer(TUNING_SCORE),
        cv=3,
        error_score="raise",
    ).fit(task.X)
    built = _didi_map(task, search.best_estimator_, time.perf_counter() - start)
    built.notes["best_params"] = search.best_params_
    built.notes["best_cv_score"] = float(search.best_score_)
    built.cleanup = lambda: shutil.rmtree(cache, ignore_errors=True)
    return built


def _didi_map(task: Task, dmap: DecisionMap, seconds: float) -> Map:
    embedding = dmap.embedding_

    def fit_inverse(indices: np.ndarray) -> Inverse:
        return clone(dmap.inverse_).fit(embedding[indices], task.X[indices]).inverse_transform

    notes = {"timings": {k: float(v) for k, v in dmap.timings_.items()}}
    notes["own_scores"] = {k: float(v) for k, v in dmap.scores_.items()}
    return Map(
        embedding, dmap.inverse_transform, dmap.transform, fit_inverse,
        seconds, task.counter.rows, notes,
    )  # fmt: skip


# ----------------------------------------------------------- reference DeepView


def build_reference(task: Task, seed: int, resolution: int) -> Map:
    """_common's reference: dense DiDi (max scaling), precomputed UMAP, the GD π⁻¹."""
    import umap

    task.counter.reset()
    start = time.perf_counter()
    with nan_safe_js():
        matrix = reference_distances(task.counter, task.X, n=N_STEPS, lam=LAM)
    model = umap.UMAP(
        metric="precomputed", n_neighbors=UMAP_NEIGHBORS, min_dist=UMAP_MIN_DIST,
        random_state=seed,
    ).fit(matrix)  # fmt: skip
    embedding = model.embedding_.astype(np.float64)

    def fit_inverse(indices: np.ndarray) -> Inverse:
        fitted = reference_inverse_fit(embedding[indices], task.X[indices])
        return lambda positions: reference_inverse_transform(fitted, positions)

    inverse = fit_inverse(np.arange(len(task.X)))
    classify_grid(task, inverse, embedding, resolution)
    seconds, rows = time.perf_counter() - start, task.counter.rows
    place = ReferencePlacement(task, model, matrix, seed)
    return Map(embedding, inverse, place, fit_inverse, seconds, rows, {"placement": place.notes})


@contextlib.contextmanager
def nan_safe_js() -> Iterator[Callable[..., np.ndarray]]:
    """scipy's ``jensenshannon`` inside ``_common`` with NaN read as 0.

    It returns NaN where rounding makes a vanishing divergence negative (``sqrt`` of
    about −1e-17, between two near-certain predictions: the breast cancer MLP has
    such segments), and one NaN segment makes the reference's whole matrix NaN
    (it divides by ``max D``). The true value there is 0 to within 1e-8.
    """
    import _common

    original = _common.jensenshannon

    def safe(p: np.ndarray, q: np.ndarray, **kwargs) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(original(p, q, **kwargs))

    _common.jensenshannon = safe
    try:
        yield safe
    finally:
        _common.jensenshannon = original


def reference_path_length(proba: Callable, a: np.ndarray, b: np.ndarray, n: int = N_STEPS) -> float:
    """One pair's path length exactly as ``reference_distances`` computes it (12 rows)."""
    points = a + (np.arange(n + 2) / (n + 1))[:, None] * (b - a)
    p = np.asarray(proba(np.concatenate([points[:-1], points[1:]])), dtype=np.float64)
    with nan_safe_js() as js:
        return float(js(p[: n + 1], p[n + 1 :], base=np.e, axis=1).sum())


class ReferencePlacement:
    """π of the reference pipeline: umap-learn's ``transform`` on precomputed distances.

    umap-learn places a new sample from its ``n_neighbors`` nearest fitted samples
    only, so it gets each new sample's exact DiDi k-NN in the reference's scaling
    (``(1 − λ)·D/max D + λ·E/max E`` with the fitted maxima) as a sparse row, not all
    ``n_fit × 12`` rows a dense row costs. didi's :class:`FisherJSMetric` finds that
    k-NN: its distance ``(1 − λ')·D/s_D + λ'·E/s_E`` equals the reference's divided by
    ``c`` for ``λ'`` and ``c`` solved from ``max D``, ``max E``, ``s_D``, ``s_E``, so the
    neighbours are the reference's and ``c`` times its distances are the reference's
    distances. ``max D`` is the path length of the pair where the reference matrix has
    its largest path part, recomputed the reference's way. Set up on first use; the
    set-up (that pair and the k-NN graph of the fitted samples) counts as placement.
    """

    def __init__(self, task: Task, model: Any, matrix: np.ndarray, seed: int) -> None:
        self.task, self.model, self.matrix, self.seed = task, model, matrix, seed
        self.metric: FisherJSMetric | None = None
        self.notes: dict = {}

    def _set_up(self) -> None:
        X, f = self.task.X, self.task.counter
        base = cdist(X, X)
        e_max = float(base.max())
        path_share = (self.matrix - LAM * base / e_max) / (1.0 - LAM)  # D / max D
        i, j = np.unravel_index(np.argmax(path_share), path_share.shape)
        d_max = reference_path_length(f, X[i], X[j])
        centred = X - X.mean(axis=0)
        s_e = float(np.sqrt(2.0 * np.sum(centred**2) / (len(X) - 1)))  # RMS over pairs
        s_d = float(np.sqrt(np.log(2.0)))
        ratio = (1.0 - LAM) * e_max * s_d / (LAM * d_max * s_e)
        lam = 1.0 / (1.0 + ratio)
        self.scale = LAM * s_e / (lam * e_max)
        metric = FisherJSMetric(
            f, lam=lam, n_steps=N_STEPS, n_neighbors=UMAP_NEIGHBORS, random_state=self.seed
        ).fit(X)
        if not np.allclose([metric.base_scale_, metric.path_scale_], [s_e, s_d], rtol=1e-6):
            raise RuntimeError("FisherJSMetric's typical scales are not the ones assumed.")
        self.metric = metric
        self.notes.update(lam_equivalent=lam, distance_factor=self.scale, max_path=d_max)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        if self.metric is None:
            self._set_up()
        graph = self.metric.transform(samples) * self.scale
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*precomputed metric.*")
            return np.asarray(self.model.transform(graph), dtype=np.float64)


# ------------------------------------------------------------ peer pipelines


def import_inverse_projections() -> Any:
    """``inverse_projections`` (PyPI ``inverse-projections==0.1.3``), tamed.

    Importing it changes the working directory (its ``multilateration`` module calls
    ``os.chdir`` on import), which is undone here; its iLAMP and RBF print progress
    bars on every call, which are switched off.
    """
    cwd = os.getcwd()
    try:
        import inverse_projections
        from inverse_projections import lamp, rbf
    finally:
        os.chdir(cwd)
    lamp.tqdm = rbf.tqdm = lambda iterable, **_: iterable
    return inverse_projections


def _fit_nninv(embedding: np.ndarray, X: np.ndarray, seed: int) -> Inverse:
    """NNinv (defaults: 150 epochs, batch 128, Adam); targets min-max scaled to [0, 1]
    per feature (its output layer is a sigmoid), outputs scaled back."""
    import torch

    ip = import_inverse_projections()
    scaler = MinMaxScaler().fit(X)
    torch.manual_seed(seed)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its device
        model = ip.NNinv()
    model.fit(embedding, scaler.transform(X), verbose=False)
    return lambda positions: scaler.inverse_transform(model.transform(np.asarray(positions)))


def _fit_ilamp(embedding: np.ndarray, X: np.ndarray, seed: int) -> Inverse:
    """iLAMP with its defaults (k = 6), in batches that bound its (n, d, d) SVD arrays."""
    model = import_inverse_projections().ILAMP()
    model.fit(np.asarray(embedding, dtype=np.float64), X)
    batch = int(max(1, min(2000, ILAMP_BATCH_BYTES // (8 * X.shape[1] ** 2))))
    return lambda positions: model.transform(np.asarray(positions, np.float64), mini_batch=batch)


def _fit_rbf(embedding: np.ndarray, X: np.ndarray, seed: int) -> Inverse:
    """RBFinv with its defaults (multiquadric, c = 0, ε = 1.30568)."""
    model = import_inverse_projections().RBFinv()
    model.fit(np.asarray(embedding, dtype=np.float64), X)
    return lambda positions: model.transform(np.asarray(positions, np.float64))


INVERSES = {"NNinv": _fit_nninv, "iLAMP": _fit_ilamp, "RBF": _fit_rbf}


def _umap_projection(X: np.ndarray, seed: int) -> tuple[np.ndarray, Any]:
    import umap

    model = umap.UMAP(n_neighbors=UMAP_NEIGHBORS, min_dist=UMAP_MIN_DIST, random_state=seed)
    model.fit(X)
    return model.embedding_.astype(np.float64), model


def _tsne_projection(X: np.ndarray, seed: int) -> tuple[np.ndarray, None]:
    from sklearn.manifold import TSNE

    return TSNE(init="pca", random_state=seed).fit_transform(X).astype(np.float64), None


PROJECTIONS = {"UMAP": _umap_projection, "t-SNE": _tsne_projection}


def projection(task: Task, name: str, seed: int, cache: dict) -> tuple[np.ndarray, Any, float]:
    """The Euclidean projection ``name`` of the task's samples, computed once per seed."""
    if (name, seed) not in cache:
        start = time.perf_counter()
        embedding, model = PROJECTIONS[name](task.X, seed)
        cache[name, seed] = (embedding, model, time.perf_counter() - start)
    return cache[name, seed]


def build_peer(task: Task, seed: int, resolution: int, pipeline: str, cache: dict) -> Map:
    """``"<projection> + <inverse>"``: its time includes the (shared) projection's."""
    proj_name, inverse_name = pipeline.split(" + ")
    embedding, model, proj_s = projection(task, proj_name, seed, cache)
    task.counter.reset()
    start = time.perf_counter()
    if inverse_name == "inverse_transform":
        fit_inverse = _umap_inverse(model)
    else:
        fit_inverse = _peer_inverse(INVERSES[inverse_name], embedding, task.X, seed)
    inverse = fit_inverse(np.arange(len(task.X)))
    place = _placement(task, embedding, model)
    classify_grid(task, inverse, embedding, resolution)
    seconds = proj_s + time.perf_counter() - start
    return Map(embedding, inverse, place, fit_inverse, seconds, task.counter.rows)


def _peer_inverse(
    fit: Callable[[np.ndarray, np.ndarray, int], Inverse],
    embedding: np.ndarray,
    X: np.ndarray,
    seed: int,
) -> Callable[[np.ndarray], Inverse]:
    return lambda indices: fit(embedding[indices], X[indices], seed)


def _umap_inverse(model: Any) -> Callable[[np.ndarray], Inverse]:
    """umap-learn's ``inverse_transform``; on a subset, the fitted model with only those
    samples' data, positions and local scales (``_sigmas``, ``_rhos``) kept."""

    def fit_inverse(indices: np.ndarray) -> Inverse:
        if len(indices) == len(model.embedding_):
            return _quiet(model.inverse_transform)
        sub = copy.copy(model)
        sub.embedding_ = model.embedding_[indices]
        sub._raw_data = model._raw_data[indices]
        sub._sigmas, sub._rhos = model._sigmas[indices], model._rhos[indices]
        return _quiet(sub.inverse_transform)

    return fit_inverse


def _placement(task: Task, embedding: np.ndarray, model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """UMAP: its ``transform``. t-SNE (none): distance-weighted k-NN regression."""
    if model is not None:
        return _quiet(model.transform)
    knn = KNeighborsRegressor(n_neighbors=TSNE_PLACE_NEIGHBORS, weights="distance")
    return knn.fit(task.X, embedding).predict


def _quiet(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """``fn`` returning float64, with umap-learn's warnings silenced."""

    def call(positions: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(fn(positions), dtype=np.float64)

    return call


# ----------------------------------------------------------------- evaluation


class RowMemo:
    """π⁻¹ that computes each position once: a round trip reads a cell's label at
    ``π⁻¹(z_k)`` and places that same sample on the next trip, so every pipeline's
    π⁻¹ is evaluated once per distinct position (and a batch-dependent π⁻¹, such as
    umap-learn's, stays self-consistent)."""

    def __init__(self, inverse: Inverse) -> None:
        self.inverse = inverse
        self.images: dict[bytes, np.ndarray] = {}

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        positions = np.ascontiguousarray(positions, dtype=np.float64)
        keys = [row.tobytes() for row in positions]
        missing = [i for i, key in enumerate(keys) if key not in self.images]
        if missing:
            images = np.asarray(self.inverse(positions[missing]), dtype=np.float64)
            self.images.update(zip((keys[i] for i in missing), images, strict=True))
        return np.stack([self.images[key] for key in keys])
