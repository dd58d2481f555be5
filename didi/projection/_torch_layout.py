"""umap-learn's layout optimisation in PyTorch, on any device.

umap-learn builds the fuzzy graph, the initial (spectral) layout and the sampling
schedule; only its stochastic gradient descent, ``optimize_layout_euclidean``, is
replaced, within :func:`torch_layout` and in that thread only, by
:func:`optimize_layout_torch`: the same
objective (attraction along each edge as often as its weight says, ``a``/``b`` from
``min_dist`` and ``spread``, ``negative_sample_rate`` repulsions per attraction,
gradients clipped at 4, a learning rate falling linearly to 0) with each epoch's
edges updated at once on the device, as cuML does, instead of one after another.
Needs PyTorch; ``import didi`` never imports it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._devices import check_torch_device
from ._layout_hooks import install_layout_hook, is_fit_call

#: umap-learn's gradient clip.
CLIP = 4.0

#: The device this thread's (this context's) layouts run on; ``None``: umap-learn's own.
_DEVICE: contextvars.ContextVar[Any] = contextvars.ContextVar("didi_layout_device", default=None)


def check_layout_device(device: Any) -> Any:
    """``device`` as a ``torch.device``, checked before any work (PyTorch installed, the
    name known to it, CUDA available where named)."""
    return check_torch_device(device, "layout_device", "runs UMAP's layout", "float32")


@contextlib.contextmanager
def torch_layout(device: Any) -> Iterator[None]:
    """Within the block (and only in this thread), umap-learn lays out its graph with
    :func:`optimize_layout_torch` on ``device``."""
    _install_dispatcher()
    token = _DEVICE.set(check_layout_device(device))
    try:
        yield
    finally:
        _DEVICE.reset(token)


def _install_dispatcher() -> None:
    """Hook, once per process, umap-learn's layout descent: run the PyTorch layout where
    the calling context asked for one and the call is a fit's, and what was there
    otherwise, so that other threads, ``transform`` and densMAP are untouched."""

    def wrap(original: Callable) -> Callable:
        def dispatch(*args: Any, **kwargs: Any) -> Any:
            device = _DEVICE.get()
            if device is None or not is_fit_call(args, kwargs):
                return original(*args, **kwargs)
            embedding, _, head, tail, n_epochs, _, per_sample, a, b, rng_state = args[:10]
            gamma, initial_alpha, negative_sample_rate = args[10:13]
            return optimize_layout_torch(
                embedding, head, tail, int(n_epochs), per_sample, a, b, gamma=gamma,
                initial_alpha=initial_alpha, negative_sample_rate=negative_sample_rate,
                seed=int(rng_state[0]), device=device,
            )  # fmt: skip

        return dispatch

    install_layout_hook("didi_dispatcher", wrap)


def optimize_layout_torch(
    embedding: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    n_epochs: int,
    epochs_per_sample: np.ndarray,
    a: float,
    b: float,
    *,
    gamma: float = 1.0,
    initial_alpha: float = 1.0,
    negative_sample_rate: float = 5.0,
    seed: int = 0,
    device: Any = "cpu",
) -> np.ndarray:
    """UMAP's SGD on ``embedding`` (moved in place and returned), every epoch at once.

    In epoch ``n`` every edge whose next sample is due attracts its two ends, and
    its head is pushed from as many random vertices as its negative samples due;
    the moves of all such edges are summed and applied together. Seeded, it is
    reproducible on the CPU; on CUDA the sums are atomic additions, whose order, and
    so the last bits of the layout, may change from run to run.
    """
    import torch

    device = torch.device(device)
    generator = torch.Generator(device=device).manual_seed(abs(seed) % 2**63)
    positions = torch.as_tensor(embedding, dtype=torch.float32, device=device)
    heads = torch.as_tensor(head, dtype=torch.int64, device=device)
    tails = torch.as_tensor(tail, dtype=torch.int64, device=device)
    # Schedules in float64 where the device has it: they count epochs exactly.
    clock = torch.float32 if device.type == "mps" else torch.float64
    per_sample = torch.as_tensor(epochs_per_sample, dtype=clock, device=device)
    per_negative = per_sample / negative_sample_rate
    next_sample = per_sample.clone()
    next_negative = per_negative.clone()
    for n in range(n_epochs):
        # umap-learn lowers the rate after each epoch by that epoch's index: epochs 0
        # and 1 both run at the initial rate.
        alpha = initial_alpha * (1.0 - max(n - 1, 0) / n_epochs)
        due = torch.nonzero(next_sample <= n).squeeze(1)
        if len(due):
            ends = (heads[due], tails[due])
            n_negative = torch.floor((n - next_negative[due]) / per_negative[due]).clamp_min(0)
            _epoch(positions, ends, n_negative.to(torch.int64), a, b, gamma, alpha, generator)
            next_sample[due] += per_sample[due]
            next_negative[due] += n_negative * per_negative[due]
    embedding[:] = positions.cpu().numpy()
    return embedding


def _epoch(positions, ends, n_negative, a: float, b: float, gamma: float, alpha: float,
           generator) -> None:  # fmt: skip
    """One epoch's moves: attraction along the due edges, repulsion from random vertices."""
    import torch

    j, k = ends
    moves = torch.zeros_like(positions)
    diff = positions[j] - positions[k]
    squared = (diff * diff).sum(dim=1)
    safe = squared.clamp_min(torch.finfo(squared.dtype).tiny)
    attraction = -2.0 * a * b * safe.pow(b - 1.0) / (a * safe.pow(b) + 1.0)
    attraction = torch.where(squared > 0, attraction, torch.zeros_like(attraction))
    step = (attraction[:, None] * diff).clamp(-CLIP, CLIP) * alpha
    moves.index_add_(0, j, step)
    moves.index_add_(0, k, -step)
    pushed = j.repeat_interleave(n_negative)
    if len(pushed):
        others = torch.randint(
            0, len(positions), (len(pushed),), generator=generator, device=positions.device
        )
        diff = positions[pushed] - positions[others]
        squared = (diff * diff).sum(dim=1)
        repulsion = 2.0 * gamma * b / ((0.001 + squared) * (a * squared.pow(b) + 1.0))
        # A vertex drawn as its own negative sample, or one at the same place, is skipped.
        repulsion = torch.where(squared > 0, repulsion, torch.zeros_like(repulsion))
        moves.index_add_(0, pushed, (repulsion[:, None] * diff).clamp(-CLIP, CLIP) * alpha)
    positions += moves
