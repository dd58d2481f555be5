"""Run a traced network over a partition of a plane (or segment): exact, layer by layer.

Each value of the network is held as a "field": for every piece of the current
partition, the value the network's layer takes at the ``rank = k + 1`` reference
points of the plane (its origin and unit points) *under the piece's own linear
pattern*. Because every layer is affine on a piece, these values determine it
everywhere on the piece, and an affine layer maps them exactly by running on them as
an ordinary batch of ``n_pieces · rank`` inputs. A kink (ReLU, max pooling) first
cuts the pieces where a unit changes its winning candidate (:func:`argmax_split`),
then picks each piece's winner. The class prediction is one last such cut.
"""

from __future__ import annotations

import copy
import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.fx import GraphModule, Node, symbolic_trace
from torch.fx.node import map_aggregate

from ._operations import (
    CASTS,
    UnsupportedLayerError,
    check_affine,
    describe,
    is_final,
    kink_of,
)
from ._partition import Pieces, argmax_split, winners_inside


class _BatchSize:
    """Stands for ``x.size(0)`` of a field, whose batch grows as pieces are cut."""


_BATCH = _BatchSize()


@dataclass
class LayerPattern:
    """The winning candidate of every unit of one kink layer on every piece."""

    name: str
    unit_shape: tuple[int, ...]
    winners: np.ndarray  # (n_pieces, n_units), uint8


@dataclass
class Partition:
    """The exact partition: pieces with one activation pattern and one class each."""

    pieces: Pieces
    outputs: torch.Tensor  # (n, rank, n_outputs): the scores' reference values
    classes: torch.Tensor  # (n,): index of the winning output
    linear_ids: torch.Tensor  # (n,): which linear region each piece is part of
    n_linear: int
    sources: torch.Tensor  # (n,): which of the pieces first given each piece is part of
    patterns: list[LayerPattern] = field(default_factory=list)


@dataclass(frozen=True)
class Network:
    """A module to partition, where to run it, and what a wrapping classifier says of it."""

    module: torch.nn.Module
    device: torch.device
    input_shape: tuple[int, ...] | None
    classes: Any


def unwrap_network(model: Any, device: Any = None) -> Network:
    """The module of a ``torch.nn.Module`` or a ``TorchClassifier``, and its device.

    A classifier lends its ``input_shape``, ``classes`` and ``device``; ``device``
    given here wins, and without either the module's parameters say where it runs.
    """
    wrapped = not isinstance(model, torch.nn.Module)
    module = model.module if wrapped else model
    if device is None and wrapped:
        device = getattr(model, "device", None)
    if device is None:
        tensors = [*module.parameters(), *module.buffers()]
        device = tensors[0].device if tensors else "cpu"
    shape = getattr(model, "input_shape", None) if wrapped else None
    classes = getattr(model, "classes", None) if wrapped else None
    return Network(module, torch.device(device), shape, classes)


def trace_network(module: torch.nn.Module, device: torch.device) -> GraphModule:
    """A float64 copy of ``module`` in eval mode on ``device``, traced by torch.fx."""
    network = copy.deepcopy(module).to(device=device, dtype=torch.float64).eval()
    try:
        graph_module = symbolic_trace(network)
    except Exception as error:  # fx raises many kinds of errors on dynamic code
        raise UnsupportedLayerError(
            f"torch.fx could not trace {type(module).__name__}: {error}. The exact partition "
            "needs a forward pass that is a fixed sequence of operations (no data-dependent "
            "control flow)."
        ) from error
    _check_graph(graph_module)
    return graph_module


def _check_graph(graph_module: GraphModule) -> None:
    """Refuse unsupported operations before any work is done."""
    fields: set[Node] = set()
    for node in graph_module.graph.nodes:
        if node.op == "placeholder" and not fields:
            fields.add(node)
            continue
        inputs = [arg in fields for arg in _node_args(node)]
        if node.op in ("output", "placeholder", "get_attr") or not any(inputs):
            continue
        if _is_size(node):
            continue
        fields.add(node)
        if kink_of(node, graph_module) is not None:
            continue
        if is_final(node, graph_module):
            if [user.op for user in node.users] != ["output"]:
                raise UnsupportedLayerError(
                    f"{describe(node, graph_module)} is allowed only as the last operation."
                )
            continue
        check_affine(node, graph_module, inputs)


def _node_args(node: Node) -> list[Any]:
    flat: list[Any] = []
    map_aggregate((node.args, node.kwargs), flat.append)
    return flat


#: Attributes of a field that describe it rather than transform it.
_DESCRIPTIONS = ("shape", "ndim", "dtype", "device")


def _is_size(node: Node) -> bool:
    """Whether ``node`` reads a field's size (or dtype, device), not its values."""
    return (node.op == "call_method" and node.target in ("size", "dim")) or (
        node.op == "call_function"
        and node.target is getattr
        and len(node.args) > 1
        and node.args[1] in _DESCRIPTIONS
    )


class PartitionRunner:
    """Run ``graph_module`` over pieces, cutting at every kink.

    Parameters
    ----------
    graph_module : GraphModule
        From :func:`trace_network`.
    rank : int
        ``k + 1`` reference points per piece.
    tolerance : float
        Thinnest slice a cut may leave (plane units).
    memory_limit : int
        Bytes of layer values to hold at once; beyond it the pieces are carried on in
        groups, one after the other.
    record_patterns : bool
        Keep every kink layer's winners per piece.
    """

    def __init__(self, graph_module, rank, tolerance, memory_limit, record_patterns=True):
        self.graph_module = graph_module
        self.nodes = list(graph_module.graph.nodes)
        self.rank = rank
        self.tolerance = tolerance
        self.memory_limit = memory_limit
        self.record_patterns = record_patterns
        self._last_use = _last_uses(self.nodes)

    @torch.no_grad()
    def run(self, pieces: Pieces, reference_inputs: torch.Tensor) -> Partition:
        """Partition ``pieces``; ``reference_inputs`` are the ``rank`` reference points."""
        placeholders = [node for node in self.nodes if node.op == "placeholder"]
        env: dict[Node, Any] = {placeholders[0]: reference_inputs}
        for extra in placeholders[1:]:  # further arguments keep their defaults
            env[extra] = extra.args[0] if extra.args else None
        source = torch.arange(len(pieces), device=reference_inputs.device)
        return self._run(0, env, {placeholders[0]}, pieces, [], source)

    def _run(self, start, env, fields, pieces, patterns, source) -> Partition:
        for index in range(start, len(self.nodes)):
            node = self.nodes[index]
            if node.op == "placeholder":
                continue
            if node.op == "output":
                return self._finish(env[node.args[0]], pieces, patterns, source)
            kink = kink_of(node, self.graph_module)
            if kink is not None:
                groups = self._cut(node, kink, env, fields, pieces, patterns, source)
                fields = {key for key in fields if key in groups[0][0]} | {node}
                if len(groups) > 1:
                    return _concatenate(
                        [self._run(index + 1, g[0], set(fields), *g[1:]) for g in groups]
                    )
                env, pieces, patterns, source = groups[0]
            else:
                env[node] = self._evaluate(node, env, fields, len(pieces))
            for dead in self._last_use.get(node, ()):
                env.pop(dead, None)
                fields.discard(dead)
            groups = _groups_of(len(pieces), self._n_groups(_held_bytes(env, fields)))
            if len(groups) > 1:
                return self._in_groups(index + 1, env, fields, pieces, patterns, source, groups)
        raise UnsupportedLayerError("The traced network has no output.")

    def _evaluate(self, node: Node, env, fields: set, n_pieces: int) -> Any:
        """An affine operation (or a bookkeeping one such as ``size``) on fields as a batch."""
        args: Any = map_aggregate(node.args, lambda a: env[a] if isinstance(a, Node) else a)
        kwargs = map_aggregate(node.kwargs, lambda a: env[a] if isinstance(a, Node) else a)
        is_field = any(isinstance(a, Node) and a in fields for a in _node_args(node))
        if is_field and _is_size(node):
            return _size_of(node, args, kwargs)
        if node.target is operator.getitem and isinstance(args[0], tuple):
            return args[0][args[1]]  # e.g. x.shape[0]: keep the batch size symbolic
        batch = n_pieces * self.rank
        args, kwargs = _with_batch(args, batch), _with_batch(kwargs, batch)
        if node.op == "get_attr":
            return operator.attrgetter(str(node.target))(self.graph_module)
        if is_final(node, self.graph_module) or (node.op == "call_method" and node.target in CASTS):
            value = args[0]
        elif node.op == "call_module":
            value = self.graph_module.get_submodule(str(node.target))(*args, **kwargs)
        elif node.op == "call_method":
            value = getattr(args[0], str(node.target))(*args[1:], **kwargs)
        else:
            value = node.target(*args, **kwargs)  # type: ignore[operator]
        if is_field:
            if not isinstance(value, torch.Tensor) or value.shape[:1] != (batch,):
                raise UnsupportedLayerError(
                    f"Layer {describe(node, self.graph_module)} mixes inputs of a batch."
                )
            fields.add(node)
        return value

    def _cut(self, node, kink, env, fields, pieces, patterns, source):
        """Cut the pieces where a unit of this kink changes; pass on each piece's winner.

        Returns ``(env, pieces, patterns, source)`` for one group of pieces, or several
        when their layer values would not fit in ``memory_limit`` together.
        """
        candidates, out_shape = kink.candidates(env[node.args[0]], self.rank)
        pieces, origin = argmax_split(pieces, candidates, self.tolerance)
        dead = set(self._last_use.get(node, ()))
        env = {key: value for key, value in env.items() if key not in dead}
        # The values held after the cut: the live ones, regrouped, and the kink's own.
        held = _held_bytes(env, fields) / max(1, len(source))
        held = (held + candidates[0, :, :, 0].numel() * 8) * len(pieces)
        state = (env, fields, pieces, origin, patterns, source)
        return [
            self._winners(node, candidates, out_shape, group, *state)
            for group in _groups_of(len(pieces), self._n_groups(held))
        ]

    def _winners(
        self, node, candidates, out_shape, group, env, fields, pieces, origin, patterns, source
    ):
        """The state after a kink for the pieces ``group``: each unit's winner taken."""
        index = torch.as_tensor(group, device=origin.device)
        part, parent = pieces.take(index), origin[index]
        winners = winners_inside(part, parent, candidates)
        env = {key: _regroup(value, parent, self.rank) if key in fields else value
               for key, value in env.items()}  # fmt: skip
        if candidates.shape[3] == 2:  # ReLU-like: pick between two, no gather
            chosen = torch.where(
                winners[:, None] == 1,
                candidates[..., 1].index_select(0, parent),
                candidates[..., 0].index_select(0, parent),
            )
        else:
            units = torch.arange(candidates.shape[2], device=parent.device)
            rows = torch.arange(self.rank, device=parent.device)
            chosen = candidates[parent[:, None, None], rows[:, None], units, winners[:, None]]
        env[node] = chosen.reshape(-1, *out_shape)
        if self.record_patterns:
            patterns = _take_patterns(patterns, parent.cpu().numpy())
            name = str(node.target) if node.op == "call_module" else node.name
            if any(p.name == name for p in patterns):  # a module used twice
                name = node.name
            code = torch.uint8 if candidates.shape[3] <= 256 else torch.int32
            patterns.append(LayerPattern(name, out_shape, winners.to(code).cpu().numpy()))
        return env, part, patterns, source[parent]

    def _finish(self, scores, pieces, patterns, source) -> Partition:
        """Cut the linear regions along the decision boundary: the last argmax."""
        if not isinstance(scores, torch.Tensor) or scores.ndim != 2:
            raise UnsupportedLayerError(
                "The network must return one row of class scores per input (a 2-D tensor)."
            )
        scores = scores.reshape(len(pieces), self.rank, -1)
        n_outputs = scores.shape[2]
        candidates = scores if n_outputs > 1 else torch.cat([torch.zeros_like(scores), scores], 2)
        n_candidates = candidates.shape[2]

        def pair_tag(first: int, second: int) -> int:
            return first * n_candidates + second

        n_linear = len(pieces)
        pieces, origin = argmax_split(pieces, candidates[:, :, None], self.tolerance, pair_tag)
        winners = winners_inside(pieces, origin, candidates[:, :, None])
        patterns = _take_patterns(patterns, origin.cpu().numpy())
        return Partition(
            pieces, scores[origin], winners[:, 0], origin, n_linear, source[origin], patterns
        )

    def _n_groups(self, held_bytes: float) -> int:
        """How many groups pieces holding ``held_bytes`` of values are carried on in."""
        # Kinks briefly hold about four times their input: candidates, winners, copies.
        return int(np.ceil(4 * held_bytes / self.memory_limit))

    def _in_groups(self, start, env, fields, pieces, patterns, source, groups) -> Partition:
        results = []
        for group in groups:
            index = torch.as_tensor(group, device=source.device)
            part_env = {key: _regroup(value, index, self.rank) if key in fields else value
                        for key, value in env.items()}  # fmt: skip
            part_patterns = _take_patterns(patterns, group)
            results.append(
                self._run(
                    start, part_env, set(fields), pieces.take(index), part_patterns, source[index]
                )
            )
        return _concatenate(results)


def _held_bytes(env, fields) -> int:
    """Bytes of the field values in ``env``."""
    return sum(env[key].numel() * env[key].element_size() for key in fields if key in env)


def _groups_of(n_pieces: int, n_groups: int) -> list[np.ndarray]:
    """Indices of ``n_pieces`` pieces in ``n_groups`` consecutive groups (at least one)."""
    return np.array_split(np.arange(n_pieces), max(1, min(n_groups, n_pieces)))


def _take_patterns(patterns: list[LayerPattern], index: np.ndarray) -> list[LayerPattern]:
    """The patterns of the pieces ``index``."""
    return [LayerPattern(p.name, p.unit_shape, p.winners[index]) for p in patterns]


def _concatenate(results: list[Partition]) -> Partition:
    pieces: Any = results[0].pieces
    for result in results[1:]:
        pieces = pieces.concat(result.pieces)
    offsets = np.cumsum([0] + [result.n_linear for result in results[:-1]])
    patterns = [
        LayerPattern(
            first.name, first.unit_shape, np.concatenate([r.patterns[i].winners for r in results])
        )
        for i, first in enumerate(results[0].patterns)
    ]
    return Partition(
        pieces,
        torch.cat([result.outputs for result in results]),
        torch.cat([result.classes for result in results]),
        torch.cat(
            [
                result.linear_ids + int(offset)
                for result, offset in zip(results, offsets, strict=True)
            ]
        ),
        sum(result.n_linear for result in results),
        torch.cat([result.sources for result in results]),
        patterns,
    )


def _regroup(values: torch.Tensor, index: torch.Tensor, rank: int) -> torch.Tensor:
    """A field's rows for the pieces ``index`` (each piece holds ``rank`` rows)."""
    shaped = values.reshape(-1, rank, *values.shape[1:])
    return shaped[index].reshape(-1, *values.shape[1:])


def _size_of(node: Node, args, kwargs) -> Any:
    """``x.size()``, ``x.size(d)``, ``x.dim()`` or ``x.shape`` of a field."""
    tensor = args[0]
    if node.target == "dim":
        return tensor.dim()
    if node.target is getattr and args[1] != "shape":
        return getattr(tensor, args[1])
    dim = args[1] if len(args) > 1 else kwargs.get("dim")
    if node.target == "size" and dim is not None:
        return _BATCH if dim % tensor.dim() == 0 else tensor.shape[dim]
    return (_BATCH, *tensor.shape[1:])


def _with_batch(value, batch: int):
    return map_aggregate(value, lambda item: batch if item is _BATCH else item)


def _last_uses(nodes: list[Node]) -> dict[Node, list[Node]]:
    """For each node, the values no node after it reads."""
    position = {node: i for i, node in enumerate(nodes)}
    last: dict[Node, list[Node]] = {}
    for node in nodes:
        if node.op == "output":
            continue
        users = [position[user] for user in node.users]
        last.setdefault(nodes[max(users, default=position[node])], []).append(node)
    return last
