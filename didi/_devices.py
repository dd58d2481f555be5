"""PyTorch devices named by parameters (``layout_device``, ``inverse_device``), checked
before any work, and NumPy arrays handed to PyTorch. PyTorch is imported only where it
is used."""

from __future__ import annotations

from typing import Any

import numpy as np


def is_device_like(value: Any) -> bool:
    """A device name or a ``torch.device`` (without importing PyTorch)."""
    kind = type(value)
    return isinstance(value, str) or (kind.__module__ == "torch" and kind.__name__ == "device")


def check_torch_device(device: Any, parameter: str, purpose: str, dtype: str = "float32") -> Any:
    """``device`` as a ``torch.device`` that can hold ``dtype`` tensors now: PyTorch
    installed, the name known to it, the device present (a one-element tensor is made
    there, which also finds a missing CUDA device, a CUDA index beyond the machine's and
    a device without that type, such as MPS for float64). ``purpose`` completes the
    error for a missing PyTorch: "``parameter`` ``purpose`` in PyTorch"."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"{parameter} {purpose} in PyTorch: pip install 'didi[torch]'."
        ) from error
    try:
        checked = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"{parameter}={device!r} is not a torch device: {error}") from error
    if checked.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{parameter}={device!r}, but PyTorch finds no CUDA device here; "
            f"use {parameter}=None (the CPU)."
        )
    if checked.type == "meta":
        raise ValueError(f"{parameter}={device!r}: the meta device holds no values.")
    try:
        torch.empty(1, dtype=getattr(torch, dtype), device=checked)
    except (RuntimeError, TypeError, AssertionError, NotImplementedError) as error:
        raise ValueError(
            f"{parameter}={device!r} cannot hold {dtype} tensors here: {error}"
        ) from error
    return checked


def numpy_to_torch(array: Any, device: Any = "cpu", dtype: Any = None) -> Any:
    """``array`` as a tensor of ``dtype`` (a torch dtype; ``None``: its own) on
    ``device``, sharing its memory where it can, as ``torch.from_numpy(...).to(...)``.
    A read-only array (a memory map, a broadcast view) is copied straight to the
    device instead: PyTorch has no read-only tensors, and warns about one."""
    import torch

    array = np.ascontiguousarray(array)
    if array.flags.writeable:
        return torch.from_numpy(array).to(device=device, dtype=dtype)
    return torch.tensor(array, device=device, dtype=dtype)
