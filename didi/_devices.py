"""PyTorch devices named by parameters (``layout_device``, ``inverse_device``), checked
before any work. PyTorch is imported only where a device is named."""

from __future__ import annotations

from typing import Any


def check_torch_device(device: Any, parameter: str, purpose: str) -> Any:
    """``device`` as a ``torch.device``: PyTorch installed, the name known to it, and a
    CUDA device only where CUDA is available. ``purpose`` completes the error for a
    missing PyTorch: "``parameter`` ``purpose`` in PyTorch"."""
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
    return checked
