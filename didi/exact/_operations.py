"""Which operations of a traced network are affine, which are kinks, and how to read them.

A network is handled when every operation on the data is one of

* affine: linear and convolution layers, batch norm in eval mode, average pooling,
  flattening and reshaping, padding with a constant, dropout (off in eval mode),
  sums of such values, products with constants;
* a maximum of affine candidates ("kink"): ReLU, leaky ReLU (slope ≤ 1), max pooling;
* a softmax, log-softmax or sigmoid as the very last operation, which leaves the
  predicted class unchanged and is therefore skipped.

Anything else is refused with the layer's name, before any work is done.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.fx import GraphModule, Node
from torch.nn import functional as F

AFFINE_MODULES = (
    nn.Linear,
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.Identity,
    nn.ZeroPad1d,
    nn.ZeroPad2d,
    nn.ZeroPad3d,
    nn.ConstantPad1d,
    nn.ConstantPad2d,
    nn.ConstantPad3d,
    nn.Flatten,
    nn.Unflatten,
)
FINAL_MODULES = (nn.Softmax, nn.LogSoftmax, nn.Sigmoid)
AFFINE_FUNCTIONS = {
    operator.add, operator.sub, operator.neg, operator.pos, operator.mul, operator.truediv,
    operator.getitem, operator.matmul, torch.matmul, torch.add, torch.sub, torch.mul, torch.neg,
    torch.flatten, torch.reshape, torch.cat, torch.squeeze, torch.unsqueeze, torch.transpose,
    torch.permute, torch.mean, torch.sum, F.linear, F.conv1d, F.conv2d, F.conv3d,
    F.avg_pool1d, F.avg_pool2d, F.avg_pool3d, F.adaptive_avg_pool1d, F.adaptive_avg_pool2d,
    F.pad, F.dropout,
}  # fmt: skip
FINAL_FUNCTIONS = {torch.softmax, F.softmax, torch.log_softmax, F.log_softmax, torch.sigmoid}
AFFINE_METHODS = {
    "view", "reshape", "flatten", "size", "dim", "contiguous", "permute", "transpose",
    "unsqueeze", "squeeze", "mean", "sum", "add", "sub", "mul", "div", "neg", "clone",
    "float", "double", "to",
}  # fmt: skip
FINAL_METHODS = {"softmax", "log_softmax", "sigmoid"}
#: Casts that would lose the float64 the exact computation runs in: skipped.
CASTS = {"float", "double", "to"}
#: Operations whose ``dim`` arguments must leave the batch axis alone.
DIM_ARGUMENTS = {
    "cat": ("dim", 1, 0), "stack": ("dim", 1, 0), "flatten": ("start_dim", 1, 0),
    "squeeze": ("dim", 1, None), "unsqueeze": ("dim", 1, None), "mean": ("dim", 1, None),
    "sum": ("dim", 1, None),
}  # fmt: skip


class UnsupportedLayerError(ValueError):
    """The network has an operation that is not continuous piecewise linear."""


@dataclass(frozen=True)
class Kink:
    """A maximum of affine candidates: how to list them and how to shape the winner."""

    candidates: Callable[[torch.Tensor, int], tuple[torch.Tensor, tuple[int, ...]]]


def describe(node: Node, graph_module: GraphModule) -> str:
    """The layer's name as a user sees it: ``features.3 (Conv2d)`` or the function's name."""
    if node.op == "call_module":
        module = graph_module.get_submodule(str(node.target))
        return f"{node.target} ({type(module).__name__})"
    if node.op == "call_method":
        return f"{node.name} (Tensor.{node.target})"
    return f"{node.name} ({getattr(node.target, '__name__', node.target)})"


def kink_of(node: Node, graph_module: GraphModule) -> Kink | None:
    """The kink that ``node`` computes, or None for any other operation."""
    target = node.target
    if node.op == "call_module":
        module = graph_module.get_submodule(str(target))
        if isinstance(module, nn.ReLU):
            return Kink(_relu_candidates(0.0))
        if isinstance(module, nn.LeakyReLU):
            return Kink(_relu_candidates(_slope(module.negative_slope, node, graph_module)))
        if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)):
            return Kink(_pool_candidates(node, graph_module, module.kernel_size, module.stride,
                                         module.padding, module.dilation, module.ceil_mode,
                                         module.return_indices))  # fmt: skip
        return None
    if (node.op == "call_function" and target in (F.relu, torch.relu)) or (
        node.op == "call_method" and target == "relu"
    ):
        return Kink(_relu_candidates(0.0))
    if node.op == "call_function" and target is F.leaky_relu:
        slope: Any = node.args[1] if len(node.args) > 1 else node.kwargs.get("negative_slope", 0.01)
        return Kink(_relu_candidates(_slope(slope, node, graph_module)))
    if node.op == "call_function" and target in (F.max_pool1d, F.max_pool2d):
        return Kink(_functional_pool(node, graph_module))
    return None


def is_final(node: Node, graph_module: GraphModule) -> bool:
    """Whether ``node`` is a softmax, log-softmax or sigmoid (allowed only at the end)."""
    if node.op == "call_module":
        return isinstance(graph_module.get_submodule(str(node.target)), FINAL_MODULES)
    if node.op == "call_function":
        return node.target in FINAL_FUNCTIONS
    return node.op == "call_method" and node.target in FINAL_METHODS


def check_affine(node: Node, graph_module: GraphModule, field_args: list[bool]) -> None:
    """Refuse an operation on the data that is not affine (``field_args``: which args are data)."""
    if node.op == "call_module":
        module = graph_module.get_submodule(str(node.target))
        if not isinstance(module, AFFINE_MODULES):
            _refuse(node, graph_module, "it is not piecewise linear")
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is None:
            _refuse(node, graph_module, "without running statistics it normalises by the batch")
        if isinstance(module, (nn.Flatten, nn.Unflatten)):
            dim = module.start_dim if isinstance(module, nn.Flatten) else module.dim
            _check_dim(node, graph_module, dim)
        return
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
    known = AFFINE_METHODS if node.op == "call_method" else AFFINE_FUNCTIONS
    if node.target not in known:
        _refuse(node, graph_module, "it is not piecewise linear")
    if name in ("mul", "truediv", "div", "matmul") and (
        sum(field_args) > 1 or (name != "mul" and field_args[1])
    ):
        _refuse(node, graph_module, "it multiplies or divides by the data, which is not affine")
    if name == "dropout" and (
        node.args[2] if len(node.args) > 2 else node.kwargs.get("training", True)
    ):
        _refuse(node, graph_module, "dropout in training mode is random")
    if name in DIM_ARGUMENTS:
        keyword, position, default = DIM_ARGUMENTS[name]
        args = node.args
        _check_dim(
            node,
            graph_module,
            args[position] if len(args) > position else node.kwargs.get(keyword, default),
        )
    if name in ("transpose", "permute"):
        dims: Any = node.args[1:]
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        if name == "permute" and dims and dims[0] != 0:
            _check_dim(node, graph_module, 0)
        if name == "transpose" and 0 in dims:
            _check_dim(node, graph_module, 0)


def _check_dim(node: Node, graph_module: GraphModule, dim) -> None:
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    if dim is None or 0 in dims:
        _refuse(node, graph_module, "it works across the batch axis")


def _refuse(node: Node, graph_module: GraphModule, why: str) -> None:
    raise UnsupportedLayerError(
        f"Layer {describe(node, graph_module)} is not supported: {why}. The exact partition "
        "needs a continuous piecewise-linear network: linear, convolution, batch norm (eval), "
        "average or max pooling, ReLU, leaky ReLU, flattening and additions, with at most a "
        "softmax or sigmoid at the very end."
    )


def _slope(slope: float, node: Node, graph_module: GraphModule) -> float:
    if not 0 <= float(slope) <= 1:
        _refuse(node, graph_module, f"its negative slope {slope} is not in [0, 1]")
    return float(slope)


def _relu_candidates(slope: float):
    """``max(slope·z, z)`` for every unit: two candidates each."""

    def candidates(values: torch.Tensor, rank: int):
        flat = values.reshape(-1, rank, values[0].numel())
        return torch.stack([slope * flat, flat], dim=3), tuple(values.shape[1:])

    return candidates


def _functional_pool(node: Node, graph_module: GraphModule):
    names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
    defaults = (None, None, 0, 1, False, False)
    values = [
        node.args[i + 1] if len(node.args) > i + 1 else node.kwargs.get(name, default)
        for i, (name, default) in enumerate(zip(names, defaults, strict=True))
    ]
    return _pool_candidates(node, graph_module, *values)


def _pool_candidates(node, graph_module, kernel, stride, padding, dilation, ceil_mode, indices):
    """Each output of a max pooling is the maximum of its window's inputs."""
    if any(value not in (0, (0,), (0, 0)) for value in [padding]) or dilation not in (
        1,
        (1,),
        (1, 1),
    ):
        _refuse(node, graph_module, "only max pooling without padding or dilation is handled")
    if ceil_mode or indices:
        _refuse(node, graph_module, "ceil_mode and return_indices are not handled")

    def candidates(values: torch.Tensor, rank: int):
        spatial = values.ndim - 2
        kernels = _tuple(kernel, spatial)
        strides = _tuple(stride if stride not in (None, ()) else kernel, spatial)
        windows = values
        for axis in range(spatial):
            windows = windows.unfold(2 + axis, kernels[axis], strides[axis])
        out_shape = tuple(windows.shape[1 : 2 + spatial])
        n_units = int(torch.tensor(out_shape).prod())
        return windows.reshape(-1, rank, n_units, int(torch.tensor(kernels).prod())), out_shape

    return candidates


def _tuple(value, length: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * length
