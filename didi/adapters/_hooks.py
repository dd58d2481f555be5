"""What a PyTorch module's inner layers respond, read by forward hooks.

Used by :meth:`didi.torch.TorchClassifier.unit_responses`. torch is imported only
where a hook runs, so that this module imports without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import Constraint, Satisfies, check_value

if TYPE_CHECKING:
    import torch

#: Layer names shown when a name is not found.
_NAMES_SHOWN = 20

LAYERS: list[Constraint] = [
    Satisfies(lambda value: isinstance(value, str), "a layer name (str)"),
    Satisfies(
        lambda value: (
            isinstance(value, (list, tuple))
            and len(value) > 0
            and all(isinstance(name, str) for name in value)
        ),
        "a non-empty list of layer names",
    ),
]


def layer_names(layers: Any, owner: str) -> list[str]:
    """``layers`` as a list of names, each once, in the order given."""
    check_value(owner, "layers", layers, LAYERS)
    names = [layers] if isinstance(layers, str) else list(layers)
    return list(dict.fromkeys(names))


def find_layer(module: torch.nn.Module, name: str) -> torch.nn.Module:
    """The submodule ``name`` (as ``named_modules()`` names it), or a ValueError that
    lists the names there are."""
    try:
        return module.get_submodule(name)
    except AttributeError:
        names = [found for found, _ in module.named_modules() if found]
        shown = ", ".join(repr(found) for found in names[:_NAMES_SHOWN])
        more = f" … ({len(names)} in all)" if len(names) > _NAMES_SHOWN else ""
        raise ValueError(
            f"The module has no layer {name!r}; its layers (named_modules()) are "
            f"{shown or 'none'}{more}."
        ) from None


def _recorder(name: str, store: dict[str, list]) -> Callable:
    def record(module: Any, inputs: Any, output: Any) -> None:
        import torch

        if not isinstance(output, torch.Tensor):
            raise TypeError(
                f"Layer {name!r} returned {type(output).__name__}, not a tensor: choose "
                "a layer that returns one (e.g. a submodule of this one)."
            )
        # On the host in float64 at once, so that the device holds one batch at a time
        # (MPS has no float64: moved before converting).
        store[name].append(output.detach().cpu().to(torch.float64).numpy())

    return record


def _one_response(name: str, outputs: list[np.ndarray], batch: int) -> np.ndarray:
    if not outputs:
        raise ValueError(
            f"Layer {name!r} did not run in the forward pass: is it part of the module's forward()?"
        )
    if len(outputs) > 1:
        raise ValueError(
            f"Layer {name!r} ran {len(outputs)} times in one forward pass, so its responses "
            "are ambiguous: choose a layer used once."
        )
    response = outputs[0]
    if response.ndim == 0 or len(response) != batch:
        raise ValueError(
            f"Layer {name!r} returned shape {response.shape} for a batch of {batch}; "
            "expected the samples along the first axis."
        )
    return response


def record_responses(
    module: torch.nn.Module,
    names: list[str],
    batches: Iterable[torch.Tensor],
    evaluating: Callable[[], AbstractContextManager],
) -> dict[str, np.ndarray]:
    """Run ``batches`` through ``module`` under ``evaluating()`` and return what each
    named layer returned, float64 ``(n_samples, *unit_shape)``.

    The hooks are removed afterwards, also when something fails.
    """
    layers = {name: find_layer(module, name) for name in names}
    captured: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    collected: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    handles = []
    try:
        for name, layer in layers.items():
            handles.append(layer.register_forward_hook(_recorder(name, captured)))
        with evaluating():
            for x in batches:
                module(x)
                for name, outputs in captured.items():
                    collected[name].append(_one_response(name, outputs, len(x)))
                    outputs.clear()
    finally:
        for handle in handles:
            handle.remove()
    return {name: np.concatenate(parts) for name, parts in collected.items()}
