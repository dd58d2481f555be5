"""π⁻¹'s weights and products in PyTorch, on any device: the twin of :mod:`._rbf` for
``RBFInverse(device=...)``.

The same formulas in float64, in blocks of points whose weights stay on the device;
only ``WᵀW`` and ``WᵀX`` (fit) or the synthesised samples (``inverse_transform``) come
back. The products are the work (about ``2·n·m·(m + d)`` operations for ``n`` points,
``m`` centres and ``d`` values each), which a GPU's float64 units are meant to take
over (on a CPU, NumPy is as fast). The results agree with NumPy's to rounding, not to
the bit: sums run in other orders.
Needs PyTorch; ``import didi`` never imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._devices import numpy_to_torch
from ._rbf import FIT_CHUNK

#: float64 values of a block's temporaries on a GPU (256 MiB): its weights, one
#: coordinate's differences and its samples or outputs. Elsewhere a block takes
#: :data:`~._rbf.FIT_CHUNK` points, as NumPy's does.
_GPU_BLOCK_VALUES = 1 << 25


def block_points(device: torch.device, n_centers: int, n_values: int) -> int:
    """Points per block: their temporaries in float64 within the device's budget."""
    if device.type != "cuda":
        return FIT_CHUNK
    return max(16, _GPU_BLOCK_VALUES // max(1, 2 * n_centers + n_values))


def on_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """``array`` as float64 on ``device``, cast there (float32 samples cross at half
    the size)."""
    return numpy_to_torch(array, device).to(torch.float64)


def torch_normalized_weights(
    Y: torch.Tensor, centers: torch.Tensor, a: float, b: float
) -> torch.Tensor:
    """:func:`~._rbf.normalized_weights` of the points ``Y`` (float64, on the device):
    squared distances from differences, coordinate by coordinate, as SciPy's ``cdist``
    computes them (a product formula would lose the nearest centres to rounding)."""
    weights = torch.zeros((len(Y), len(centers)), dtype=torch.float64, device=Y.device)
    for axis in range(Y.shape[1]):
        difference = Y[:, axis, None] - centers[None, :, axis]
        weights.addcmul_(difference, difference)
    weights.pow_(b).mul_(a).add_(1.0).reciprocal_()
    return weights.div_(weights.sum(dim=1, keepdim=True))


def torch_weight_statistics(
    Y: np.ndarray,
    centers: np.ndarray,
    a: float,
    b: float,
    targets: np.ndarray,
    device: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """``WᵀW`` and ``WᵀX`` of :func:`~._rbf.fit_coefficients`, accumulated on ``device``
    over blocks of points. ``targets`` (any float dtype) go over a block at a time and
    become float64 there, so the host holds no float64 copy of them."""
    device = torch.device(device)
    centers_there = on_device(centers, device)
    gram = torch.zeros((len(centers), len(centers)), dtype=torch.float64, device=device)
    rhs = torch.zeros((len(centers), targets.shape[1]), dtype=torch.float64, device=device)
    step = block_points(device, len(centers), targets.shape[1])
    for start in range(0, len(Y), step):
        W = torch_normalized_weights(
            on_device(Y[start : start + step], device), centers_there, a, b
        )
        gram.addmm_(W.T, W)
        rhs.addmm_(W.T, on_device(targets[start : start + step], device))
    return gram.cpu().numpy(), rhs.cpu().numpy()


def torch_inverse_transform(
    Y: np.ndarray,
    centers: torch.Tensor,
    coef: torch.Tensor,
    a: float,
    b: float,
    dtype: np.dtype,
) -> np.ndarray:
    """``π⁻¹(Y)``: the normalised weights times the coefficients (float64 tensors on one
    device) there, in blocks of points, each cast to ``dtype`` before it comes back."""
    device = coef.device
    out = np.empty((len(Y), coef.shape[1]), dtype=dtype)
    out_dtype = torch.from_numpy(out[:0]).dtype
    step = block_points(device, len(centers), coef.shape[1])
    for start in range(0, len(Y), step):
        W = torch_normalized_weights(on_device(Y[start : start + step], device), centers, a, b)
        out[start : start + len(W)] = (W @ coef).to(out_dtype).cpu().numpy()
    return out
