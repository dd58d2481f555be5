"""Shared pieces of the benchmarks: data, classifier, counting wrapper, reference code.

Everything that stands for "the reference implementation" lives here and uses
nothing from ``didi``, so the comparison checks our code against an independent
computation.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist, jensenshannon
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

RESULTS = Path(__file__).resolve().parent / "results"

#: The reference implementation's defaults (DeepView): interior points and λ.
N_STEPS = 5
LAM = 0.65


# --------------------------------------------------------------------------- data


def digits_split(n_mapped: int, seed: int = 0):
    """Digits split into ``n_mapped`` points to map and the rest to train on.

    Returns ``(X_map, y_map, X_train, y_train)``; float64 pixels in ``[0, 16]``.
    """
    X, y = load_digits(return_X_y=True)
    if not 2 <= n_mapped < len(X) - 10:
        raise ValueError(f"n_mapped must be in [2, {len(X) - 10}); got {n_mapped}.")
    perm = np.random.default_rng(seed).permutation(len(X))
    mapped, train = perm[:n_mapped], perm[n_mapped:]
    return X[mapped], y[mapped], X[train], y[train]


def fashion_mlp_problem():
    """All 70,000 Fashion-MNIST images as float32 rows in [0, 1] (training images first),
    their labels, and an MLP(128) trained on the first 12,000 (30 epochs, seed 0).

    Needs Debian's ``dataset-fashion-mnist`` (read by ``didi.datasets``).
    """
    from didi.datasets import load_fashion_mnist

    images, labels = load_fashion_mnist("all")
    X = (images.reshape(len(images), -1) / 255.0).astype(np.float32)
    clf = MLPClassifier((128,), max_iter=30, random_state=0).fit(X[:12000], labels[:12000])
    return X, labels, clf


def make_classifier(X_train: np.ndarray, y_train: np.ndarray):
    """StandardScaler + MLP(64 hidden units), fitted; the classifier every benchmark uses."""
    clf = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=0),
    )
    return clf.fit(X_train, y_train)


class CountingProba:
    """A plain callable ``f(X) -> probabilities`` that counts rows, calls and seconds.

    ``didi`` accepts any callable, so wrapping ``predict_proba`` this way measures
    exactly what the suite hands to the classifier and how long the classifier
    itself takes.
    """

    def __init__(self, clf) -> None:
        self.clf = clf
        self.reset()

    def reset(self) -> None:
        self.rows = 0
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        out = self.clf.predict_proba(X)
        self.seconds += time.perf_counter() - start
        self.rows += len(X)
        self.calls += 1
        return out


def augmented(images: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images: the originals, then copies shifted by up to two pixels (25 shifts),
    shuffled with seed 0."""
    # The originals first, then the smallest shifts.
    shifts = sorted(
        ((dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)),
        key=lambda shift: abs(shift[0]) + abs(shift[1]),
    )
    copies, copy_labels = [], []
    square = images.reshape(-1, 28, 28)
    for dy, dx in shifts[: -(-n // len(images))]:
        copies.append(np.roll(square, (dy, dx), axis=(1, 2)).reshape(len(images), -1))
        copy_labels.append(labels)
    pick = np.random.default_rng(0).permutation(len(copies) * len(images))[:n]
    return np.concatenate(copies)[pick], np.concatenate(copy_labels)[pick]


# ------------------------------------------------------- reference-faithful DiDi


def reference_distances(proba, X: np.ndarray, n: int = N_STEPS, lam: float = LAM) -> np.ndarray:
    """Brute-force DiDi matrix computed the way the reference implementation does.

    For each ``i`` one classifier call covers the row of pairs ``(i, j > i)``: the
    path points ``p_k = x_i + k/(n+1)·(x_j − x_i)``, ``k = 0 … n+1``, give ``n + 1``
    segments, and the classifier is evaluated on both ends of every segment (the
    ``n + 1`` segment starts stacked on the ``n + 1`` segment ends), ``2(n + 1)``
    rows per pair. Segment lengths are Jensen-Shannon distances
    (:func:`scipy.spatial.distance.jensenshannon`, natural log), summed per pair.
    Then ``(1 − λ)·D/max(D) + λ·E/max(E)`` with ``E`` Euclidean.
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    N = len(X)
    D = np.zeros((N, N))
    E = np.zeros((N, N))
    t_start = (np.arange(0, n + 1) / (n + 1))[None, :, None]
    t_end = (np.arange(1, n + 2) / (n + 1))[None, :, None]
    for i in range(N - 1):
        step = X[i + 1 :] - X[i]
        m = len(step)
        starts = (X[i] + t_start * step[:, None, :]).reshape(m * (n + 1), -1)
        ends = (X[i] + t_end * step[:, None, :]).reshape(m * (n + 1), -1)
        p = np.asarray(proba(np.concatenate([starts, ends])), dtype=np.float64)
        js = jensenshannon(p[: m * (n + 1)], p[m * (n + 1) :], base=np.e, axis=1)
        D[i, i + 1 :] = js.reshape(m, n + 1).sum(axis=1)
        E[i, i + 1 :] = np.linalg.norm(step, axis=1)
    D += D.T
    E += E.T
    return (1.0 - lam) * D / D.max() + lam * E / E.max()


def reference_inverse_fit(Y: np.ndarray, X: np.ndarray, a: float = 500.0, steps: int = 2000):
    """The reference's inverse map: plain full-batch gradient descent on ``‖W̃θ − X‖²``.

    ``w_ij = 1/(1 + a'·‖y_i − y_j‖²)``, rows normalised, ``a' = a / mean(range(Y))``;
    ``θ`` starts at ``X`` and takes ``steps`` steps ``θ ← θ − η·W̃ᵀ(W̃θ − X)`` with
    ``η = 0.1`` in float32, as DeepView's ``StochasticEmbedding._fit``.

    Returns ``(centres, theta, a')``.
    """
    Y = np.asarray(Y, dtype=np.float32)
    target = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    a_eff = a / float(np.mean(Y.max(axis=0) - Y.min(axis=0)))
    W = reference_weights(Y, Y, a_eff)
    WT = np.ascontiguousarray(W.T)
    theta = target.copy()
    eta = np.float32(0.1)
    for _ in range(steps):
        theta -= eta * (WT @ (W @ theta - target))
    return Y, theta, a_eff


def reference_weights(Y_new: np.ndarray, centres: np.ndarray, a_eff: float) -> np.ndarray:
    """Row-normalised weights ``1/(1 + a'·‖y − c_j‖²)``, float32."""
    w = 1.0 / (1.0 + a_eff * cdist(Y_new, centres, "sqeuclidean"))
    w /= w.sum(axis=1, keepdims=True)
    return w.astype(np.float32)


def reference_inverse_transform(model, Y_new: np.ndarray) -> np.ndarray:
    centres, theta, a_eff = model
    return reference_weights(np.asarray(Y_new, dtype=np.float32), centres, a_eff) @ theta


# ------------------------------------------------------------------------ output


class ForeignLoad:
    """Measures CPU time used by *other* processes while the ``with`` blocks run.

    The machine may be shared, and on two cores any other busy process distorts the
    timings (multi-threaded BLAS and numba suffer most). Busy time of the whole
    machine (``/proc/stat``) minus this process's own CPU time, summed over every
    ``with`` block, is reported as ``cores``: the average number of cores others kept
    busy. Near zero means a clean measurement. Unavailable (``nan``) off Linux.
    """

    def __init__(self) -> None:
        self.foreign_s = 0.0
        self.wall_s = 0.0

    @staticmethod
    def _busy_seconds() -> float:
        try:
            with open("/proc/stat") as fh:
                fields = [float(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return float("nan")
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
        # guest time is already counted in user time
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own_seconds() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def __enter__(self) -> ForeignLoad:
        self._start = (time.perf_counter(), self._busy_seconds(), self._own_seconds())
        return self

    def __exit__(self, *exc) -> None:
        wall, busy, own = self._start
        self.wall_s += time.perf_counter() - wall
        self.foreign_s += max(0.0, (self._busy_seconds() - busy) - (self._own_seconds() - own))

    @property
    def cores(self) -> float:
        return self.foreign_s / self.wall_s if self.wall_s > 0 else float("nan")


def wait_quiet(max_wait_s: float = 120.0, window_s: float = 2.0, threshold: float = 0.1) -> bool:
    """Wait until other processes keep fewer than ``threshold`` cores busy for a window."""
    deadline = time.perf_counter() + max_wait_s
    while time.perf_counter() < deadline:
        probe = ForeignLoad()
        with probe:
            time.sleep(window_s)
        if not probe.cores > threshold:  # nan (no /proc/stat) counts as quiet
            return True
    return False


def clean_run(fn, load: ForeignLoad, *, threshold: float = 0.1, retries: int = 3):
    """Call ``fn()`` and retry when other processes disturbed it.

    A run during which other processes kept more than ``threshold`` cores busy (and
    used more than 30 ms of CPU) is discarded and, after a quiet moment, repeated,
    at most ``retries`` times; the last attempt is kept whatever the load. The kept
    run's load is added to ``load``. Returns ``(result, discarded_attempts)``.
    """
    for attempt in range(retries + 1):
        probe = ForeignLoad()
        with probe:
            result = fn()
        # /proc/stat counts in ticks of 10 ms: a tick or two is no disturbance.
        disturbed = probe.foreign_s > max(threshold * probe.wall_s, 0.03)
        if not disturbed or attempt == retries:
            load.foreign_s += probe.foreign_s
            load.wall_s += probe.wall_s
            return result, attempt
        wait_quiet()
    raise AssertionError("unreachable")


@contextlib.contextmanager
def blas_threads(threads: int | None):
    """Limit BLAS/OpenMP threads to ``threads`` inside the block (``None``: no limit)."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        yield


def median(values) -> float:
    return float(statistics.median(values))


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for dist in ("didi", "numpy", "scipy", "scikit-learn", "umap-learn", "pynndescent", "numba"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "didi_commit": git_commit(),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": versions,
    }


def git_commit() -> str | None:
    """The repository's commit, with ``-dirty`` when ``didi/`` has uncommitted changes."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "didi"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return None
    return (head + ("-dirty" if dirty else "")) or None


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, data: dict, markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown + "\n")
    print(markdown)
    print(f"\nwritten: {RESULTS / (name + '.json')}, {RESULTS / (name + '.md')}")
