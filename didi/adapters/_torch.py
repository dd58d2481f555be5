"""Use a trained PyTorch ``nn.Module`` as the classifier of a decision map.

Needs PyTorch (``pip install didi[torch]``); ``import didi`` alone never imports it.

:class:`TorchClassifier` gives a module the ``predict_proba`` the suite reads, and
more: the straight paths between pairs of samples are built, classified and
measured on the module's own device, so a model on a GPU receives the pairs' end
points once and returns one number per pair instead of shipping
``n_pairs × n_steps`` full inputs back and forth. On a GPU the k-NN search's
candidates are ranked there too.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import torch

from .._base import check_samples
from .._devices import numpy_to_torch
from .._proba import ROW_SUM_TOLERANCE
from .._validation import NONE, Interval, Options, Satisfies, check_value
from ..distance._divergence import JS_MAX, js_distance
from ._gradients import torch_decision_scores
from ._prefit import PrefitClassifier, model_input_shape
from ._torch_ranking import DeviceRanker, fits_on, itemsize

#: Modules being evaluated, by id: how many callers, and the modes to restore.
_ACTIVE: dict[int, tuple[int, list]] = {}
_MODE_LOCK = threading.Lock()

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}


class TorchClassifier(PrefitClassifier):
    """A trained ``torch.nn.Module`` as a probabilistic classifier.

    The module is only ever evaluated: in eval mode (dropout off, batch-norm
    statistics frozen; each submodule's own mode is restored afterwards), without
    autograd, in batches, on ``device``.

    Parameters
    ----------
    module : torch.nn.Module
        The trained network. It maps a batch of inputs to one row of outputs per
        input (a tensor, or an object with a ``logits`` tensor).
    output : {"logits", "probabilities", "log_probabilities"}, default="logits"
        What the module returns: raw scores (softmax is applied), probabilities,
        or log-probabilities (``log_softmax``; exp is applied). A single output
        column is a binary model's score for the positive class: sigmoid of a
        logit, or the probability itself, becomes the two columns ``[1 − p, p]``.
    input_shape : tuple of int, default=None
        Shape of one input as the module expects it, e.g. ``(1, 28, 28)`` for a
        ConvNet fed flat rows of 784 pixels. ``None`` hands the samples over in
        their own shape.
    classes : array-like of shape (n_classes,), default=None
        Labels of the output columns; ``0 … n_classes − 1`` when not given.
    device : str or torch.device, default=None
        Where to run the module. ``None`` keeps it where its parameters are;
        anything else moves the module there (``module.to(device)``).
    dtype : {"float32", "float64", "float16", "bfloat16"} or torch.dtype, default=None
        Precision of the inputs handed to the module; ``None`` takes that of its
        first floating-point parameter (float32 for a module without any).
    batch_size : int, default=1024
        Inputs per forward pass. Larger batches keep a GPU busy.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of the probability columns.

    See Also
    --------
    didi.keras.KerasModelClassifier : The same for a Keras 3 model.

    Notes
    -----
    Path lengths on the device: with ``TorchClassifier`` as its classifier,
    :class:`~didi.FisherJSMetric` hands over pairs of samples. Their end points go
    to the device once per fit; each block of pairs is interpolated there, run
    through the module, turned into probabilities and Jensen-Shannon steps in
    float64, and summed: one number per pair comes back. ``n_jobs`` does not split
    this work, which a single device does best in one process. End points that
    would take more than a quarter of the GPU's free memory are sent block by block.

    Ranking on the GPU: on CUDA, :class:`~didi.FisherJSMetric` also ranks the k-NN
    search's candidates on the device (every pair's lower bound in float64, pruned
    by the Hellinger bound beyond 10,000 samples, then ``topk``), so
    ``candidates="auto"`` stays exact up to 1,000,000 samples.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from didi.torch import TorchClassifier
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    >>> clf = TorchClassifier(net, classes=["a", "b", "c"])
    >>> X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    >>> proba = clf.predict_proba(X)
    >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1.0))
    ((5, 3), True)
    >>> clf.predict(X[:2]).tolist()  # doctest: +SKIP
    ['b', 'b']
    """

    def __init__(
        self,
        module: Any,
        *,
        output: str = "logits",
        input_shape: tuple[int, ...] | None = None,
        classes: Any = None,
        device: Any = None,
        dtype: Any = None,
        batch_size: int = 1024,
    ) -> None:
        self.module = module
        self.output = output
        self.input_shape = input_shape
        self.classes = classes
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size

    # ------------------------------------------------------------------ placement

    _parameter_constraints: ClassVar[dict] = {
        **PrefitClassifier._parameter_constraints,
        "module": [
            Satisfies(
                lambda value: isinstance(value, torch.nn.Module),
                "a torch.nn.Module (a function of numpy arrays can be passed to didi directly)",
            )
        ],
        "device": [
            NONE,
            Satisfies(lambda value: isinstance(value, (str, torch.device)), "a torch.device"),
            Interval(Integral, 0, None),  # a CUDA device's index, as torch takes it
        ],
        "dtype": [
            NONE,
            Satisfies(lambda value: isinstance(value, torch.dtype), "a torch.dtype"),
            Options(tuple(_DTYPES)),
        ],
    }

    def _check_params(self) -> None:
        super()._check_params()
        self._input_dtype()

    def _placement(self) -> tuple[torch.device, torch.dtype]:
        """The device the module runs on (moving it there if asked) and its input dtype."""
        self._check_params()
        tensors = [*self.module.parameters(), *self.module.buffers()]
        if self.device is None:
            device = tensors[0].device if tensors else torch.device("cpu")
        else:
            device = torch.device(self.device)
            if any(t.device != device for t in tensors):
                self.module.to(device)
        return device, self._input_dtype()

    def _input_dtype(self) -> torch.dtype:
        """``dtype``, or the module's own; a ``dtype`` the module does not have is refused."""
        floats = [t.dtype for t in self.module.parameters() if t.is_floating_point()]
        if self.dtype is None:
            return floats[0] if floats else torch.float32
        dtype = self.dtype if isinstance(self.dtype, torch.dtype) else _DTYPES[self.dtype]
        if floats and dtype != floats[0]:
            raise ValueError(
                f"dtype={self.dtype!r}, but the module's parameters are {floats[0]}. "
                "dtype sets the inputs' precision, not the module's: convert the module "
                "(e.g. module.half()) or leave dtype=None."
            )
        return dtype

    @contextlib.contextmanager
    def _evaluating(self, gradients: bool = False) -> Iterator[None]:
        """Eval mode and no autograd (with ``gradients``, autograd for the inputs), each
        submodule's own mode restored afterwards.

        Threads (joblib's threading backend) may share the module: the first to
        enter saves the modes, the last to leave restores them.
        """
        key = id(self.module)
        with _MODE_LOCK:
            count, modes = _ACTIVE.get(key, (0, []))
            if count == 0:
                modes = [(m, m.training) for m in self.module.modules()]
                try:
                    self.module.eval()
                except NotImplementedError:
                    pass  # an exported program: its mode was fixed when it was exported
            _ACTIVE[key] = (count + 1, modes)
        try:
            with torch.enable_grad() if gradients else torch.inference_mode():
                yield
        finally:
            with _MODE_LOCK:
                count, modes = _ACTIVE.pop(key)
                if count > 1:
                    _ACTIVE[key] = (count - 1, modes)
                else:
                    for m, training in modes:
                        m.training = training

    # ------------------------------------------------------------------ outputs

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Float64 probabilities of a batch already on the device."""
        raw = self._raw(x)
        if not isinstance(raw, torch.Tensor):
            raise TypeError(
                f"The module returned {type(raw).__name__}; expected a tensor of shape "
                "(batch, n_classes). Wrap the module so that it returns one."
            )
        if raw.device.type == "mps":  # no float64 there
            raw = raw.cpu()
        return torch_proba_from_outputs(raw, self.output)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, flat or in any shape that ``input_shape`` (or the module)
            accepts.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Float64 probabilities: softmax (sigmoid) of logits taken in float64,
            probabilities as the model gives them.
        """
        device, dtype = self._placement()
        X = check_samples(X)
        shape = model_input_shape(X.shape[1:], self.input_shape)
        batch = int(self.batch_size)
        blocks = []
        with self._evaluating():
            for start in range(0, len(X), batch):
                x = numpy_to_torch(X[start : start + batch], device, dtype).reshape(-1, *shape)
                blocks.append(self._forward(x).cpu())
        return self._remember_columns(torch.cat(blocks).numpy())

    def boundary_distances(
        self, X: Any, *, max_iter: int = 50, overshoot: float = 0.02
    ) -> np.ndarray:
        """Distance from each sample to a point the module labels differently (DeepFool).

        DeepFool (Moosavi-Dezfooli, Fawzi & Frossard, CVPR 2016) on the module's
        device: at each step the module is linearised at the current point, and the
        point moves onto the nearest linearised boundary between its original class
        and another of its 10 best-scoring classes at the start; the total move,
        enlarged by ``1 + overshoot``, is checked by a forward pass. The Euclidean
        norm of the move (in the samples' own space) bounds the distance to the
        decision boundary from above; for a linear model it is the exact distance
        times ``1 + overshoot``. The scores linearised are the logits, the
        log-probabilities, or the log of the probabilities the module returns; the
        last saturate (a probability of exactly 1 has no gradient), and such rows
        come back ``inf``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        max_iter : int, default=50
            Steps before giving up on a sample.
        overshoot : float, default=0.02
            How far beyond the linearised boundary each sample is pushed.

        Returns
        -------
        ndarray of shape (n_samples,)
            Float64 distances; ``inf`` where no other label was reached in
            ``max_iter`` steps.
        """
        check_value("TorchClassifier.boundary_distances", "max_iter", max_iter,
                    [Interval(Integral, 1, None)])  # fmt: skip
        check_value("TorchClassifier.boundary_distances", "overshoot", overshoot,
                    [Interval(Real, 0, None)])  # fmt: skip
        device, dtype = self._placement()
        X = check_samples(X)
        shape = model_input_shape(X.shape[1:], self.input_shape)
        flat = X.reshape(len(X), -1)
        batch = int(self.batch_size)
        # Float64 moves and norms, except where the device has no float64.
        work = torch.float32 if device.type == "mps" else torch.float64

        def scores_of(x: torch.Tensor) -> torch.Tensor:
            return torch_decision_scores(self._raw(x.reshape(-1, *shape)), self.output, work)

        out = []
        with self._evaluating(gradients=True):
            for start in range(0, len(flat), batch):
                x = numpy_to_torch(flat[start : start + batch], device, dtype)
                out.append(deepfool_distances(scores_of, x, max_iter, overshoot).cpu())
        return torch.cat(out).numpy().astype(np.float64)

    # ------------------------------------------------------------------ saliency

    def score_gradients(
        self, X: Any, target_index: Any, *, score: str = "log_proba"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient of each sample's target-class score with respect to the sample.

        What :func:`didi.saliency.saliency` back-propagates: one forward and one
        backward pass per sample, in batches, in eval mode on the module's device.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        target_index : array-like of int of shape (n_samples,)
            The output column whose score is differentiated, per sample.
        score : {"log_proba", "proba", "logit"}, default="log_proba"
            ``log_softmax`` of the outputs, its exponential, or the raw logits
            (``output="logits"`` only).

        Returns
        -------
        gradients : ndarray of shape X.shape
            Float64 gradients (computed in the module's precision).
        scores : ndarray of shape (n_samples,)
            The differentiated scores.
        """
        from ._gradients import input_gradients

        device, dtype = self._placement()
        X = check_samples(X)
        shape = model_input_shape(X.shape[1:], self.input_shape)
        with self._evaluating(gradients=True):
            return input_gradients(
                self._raw, X, np.asarray(target_index), output=self.output, score=score,
                device=device, dtype=dtype, shape=shape, batch_size=int(self.batch_size),
            )  # fmt: skip

    def integrated_gradients(
        self, X: Any, target_index: Any, baseline: Any, *, score: str = "log_proba",
        n_steps: int = 50,
    ) -> np.ndarray:  # fmt: skip
        """Integrated Gradients of each sample's target-class score, by captum.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        target_index : array-like of int of shape (n_samples,)
        baseline : array-like of one sample's shape
            Where the integration path starts.
        score : {"log_proba", "proba", "logit"}, default="log_proba"
        n_steps : int, default=50
            Integration points per sample.

        Returns
        -------
        ndarray of shape X.shape
            Float64 attributions; per sample they sum to about
            ``score(x) − score(baseline)``.
        """
        from ._gradients import integrated_gradients

        device, dtype = self._placement()
        X = check_samples(X)
        shape = model_input_shape(X.shape[1:], self.input_shape)
        baseline = np.asarray(baseline).reshape(X.shape[1:])
        with self._evaluating(gradients=True):
            return integrated_gradients(
                self._raw, X, np.asarray(target_index), baseline, output=self.output,
                score=score, device=device, dtype=dtype, shape=shape,
                batch_size=int(self.batch_size), n_steps=int(n_steps),
            )  # fmt: skip

    def _raw(self, x: torch.Tensor) -> torch.Tensor:
        """The module's raw outputs (a ``logits`` attribute where it returns an object)."""
        raw = self.module(x)
        return raw if isinstance(raw, torch.Tensor) else getattr(raw, "logits", raw)

    # ------------------------------------------------------------------ units

    def unit_responses(self, X: Any, layers: str | list[str]) -> dict[str, np.ndarray]:
        """What inner layers of the module respond to the samples, read by forward hooks.

        The samples run through the module as in :meth:`predict_proba` (eval mode,
        no autograd, in batches, on its device); a forward hook on each named
        submodule keeps its output. The hooks are removed afterwards, also when
        something fails.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, flat or in any shape that ``input_shape`` (or the module)
            accepts.
        layers : str or list of str
            Submodules, as ``module.named_modules()`` names them (``"features.3"``
            for the fourth layer of a ``features`` Sequential). Each must return one
            tensor with the samples along its first axis, and run once per forward
            pass.

        Returns
        -------
        dict of ndarray
            Layer name → float64 responses of shape ``(n_samples, *unit_shape)``,
            e.g. ``(n_samples, channels, height, width)`` for a convolution.

        See Also
        --------
        didi.torch.LayerResponses : One layer's responses as features, for
            :class:`~didi.Familiarity` and the like.
        didi.introspection.inactive_unit_analysis : Units that stay at zero.
        didi.introspection.principal_filter_analysis : How many units are needed.

        Examples
        --------
        >>> import numpy as np, torch
        >>> from didi.torch import TorchClassifier
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
        >>> clf = TorchClassifier(net)
        >>> X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
        >>> found = clf.unit_responses(X, ["0", "1"])
        >>> found["1"].shape, bool((found["1"] == np.maximum(found["0"], 0)).all())
        ((5, 8), True)
        """
        from ._hooks import layer_names, record_responses

        names = layer_names(layers, "TorchClassifier.unit_responses")
        device, dtype = self._placement()
        X = check_samples(X)
        shape = model_input_shape(X.shape[1:], self.input_shape)
        batch = int(self.batch_size)
        batches = (
            numpy_to_torch(X[start : start + batch], device, dtype).reshape(-1, *shape)
            for start in range(0, len(X), batch)
        )
        return record_responses(self.module, names, batches, self._evaluating)

    # ------------------------------------------------------------------ paths

    def path_length_evaluator(
        self,
        A: np.ndarray,
        B: np.ndarray,
        proba_A: np.ndarray,
        proba_B: np.ndarray,
        n_steps: int,
    ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        r"""A function of pairs giving their discriminative path lengths, on the device.

        Parameters
        ----------
        A, B : ndarray of shape (n_a, \*sample_shape), (n_b, \*sample_shape)
            Start and end point sets (they may be the same array).
        proba_A, proba_B : ndarray of shape (n_a, n_classes), (n_b, n_classes)
            This classifier's probabilities of ``A`` and ``B``.
        n_steps : int
            Interior points per path.

        Returns
        -------
        callable
            ``lengths(index_a, index_b)`` returning, for each pair, the sum of the
            Jensen-Shannon distances between consecutive points of the straight
            path ``A[index_a[i]] → B[index_b[i]]`` (float64 ndarray). With interior
            points its method ``lengths_and_euclidean(index_a, index_b)`` also
            returns the pairs' Euclidean distances, measured from the end points it
            holds on the device (``None`` where those are not the samples exactly).
        """
        if n_steps == 0:  # no interior point: the end points' distance, on the host

            def endpoints(index_a: np.ndarray, index_b: np.ndarray) -> np.ndarray:
                return np.atleast_1d(js_distance(proba_A[index_a], proba_B[index_b]))

            return endpoints
        return DevicePaths(self, A, B, proba_A, proba_B, n_steps)

    def _candidate_ranker(self, host_ranker: Callable) -> Callable | None:
        """The exact ranking of neighbour candidates on the module's GPU, or ``None``.

        :class:`~didi.FisherJSMetric` asks for it: ranking all pairs by their
        lower bound is a matrix product and an entropy block, which a GPU does for
        70,000 samples in seconds. On a CPU numpy's threads do as well.
        """
        device, _ = self._placement()
        if device.type != "cuda":
            return None
        return DeviceRanker(device, host_ranker)


class DevicePaths:
    """Discriminative path lengths of pairs of samples, computed on the module's device
    (see :meth:`TorchClassifier.path_length_evaluator`).

    The end points go to the device once, where they fit; each block of pairs is
    interpolated, classified and measured there, and one number per pair comes back.
    """

    def __init__(
        self,
        classifier: TorchClassifier,
        A: np.ndarray,
        B: np.ndarray,
        proba_A: np.ndarray,
        proba_B: np.ndarray,
        n_steps: int,
    ) -> None:
        device, dtype = classifier._placement()
        self.classifier, self.A, self.B, self.device, self.dtype = classifier, A, B, device, dtype
        # Probabilities and Jensen-Shannon steps are float64, which MPS lacks: there
        # they are computed on the CPU, the model still on its device.
        self.exact = torch.device("cpu") if device.type == "mps" else device
        self.shape = model_input_shape(A.shape[1:], classifier.input_shape)
        # Points are interpolated in at least single precision, then cast.
        self.work = torch.float64 if dtype == torch.float64 else torch.float32
        same = B is A
        n_bytes = (A.size + (0 if same else B.size)) * itemsize(self.work)
        self.resident = fits_on(device, n_bytes)
        if self.resident:
            self.A_dev = numpy_to_torch(A, device, self.work)
            self.B_dev = self.A_dev if same else numpy_to_torch(B, device, self.work)
        self.PA = numpy_to_torch(proba_A, self.exact, torch.float64)
        self.PB = (
            self.PA if proba_B is proba_A else numpy_to_torch(proba_B, self.exact, torch.float64)
        )
        t = torch.arange(1, n_steps + 1, dtype=torch.float64) / (n_steps + 1)
        self.t = t.to(device=device, dtype=self.work).reshape((1, n_steps) + (1,) * (A.ndim - 1))
        self.n_steps = n_steps
        self.pairs_per_block = max(1, int(classifier.batch_size) // n_steps)
        # The end points as the device holds them are the samples themselves only
        # where the samples' type converts to its type exactly; MPS has no float64
        # to measure them in.
        work_type = np.float64 if self.work == torch.float64 else np.float32
        exact_type = all(np.can_cast(Z.dtype, work_type, "safe") for Z in (A, B))
        self.holds_samples = exact_type and device.type != "mps"

    def __call__(self, index_a: np.ndarray, index_b: np.ndarray) -> np.ndarray:
        """Each pair's path length (float64)."""
        return self._measure(index_a, index_b, euclidean=False)[0]

    def lengths_and_euclidean(
        self, index_a: np.ndarray, index_b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Each pair's path length, and its Euclidean distance ``‖B[j] − A[i]‖`` in
        float64 from the end points on the device; ``None`` in its place where they
        are not the samples exactly (float64 samples for a lower-precision module)."""
        return self._measure(index_a, index_b, euclidean=self.holds_samples)

    def _measure(self, index_a: np.ndarray, index_b: np.ndarray, *, euclidean: bool):
        n_pairs, exact = len(index_a), self.exact
        out = torch.empty(n_pairs, dtype=torch.float64, device=exact)
        base = torch.empty(n_pairs, dtype=torch.float64, device=exact) if euclidean else None
        # Largest deviation from a valid probability row seen; checked once at
        # the end so that the device is not synchronised block by block.
        worst = torch.zeros((), dtype=torch.float64, device=exact)
        ia_all = torch.from_numpy(np.asarray(index_a, np.int64)).to(self.device)
        ib_all = torch.from_numpy(np.asarray(index_b, np.int64)).to(self.device)
        ia_exact, ib_exact = ia_all.to(exact), ib_all.to(exact)
        with self.classifier._evaluating():
            for start in range(0, n_pairs, self.pairs_per_block):
                stop = min(start + self.pairs_per_block, n_pairs)
                xa, xb = self._end_points(index_a, index_b, ia_all, ib_all, start, stop)
                if base is not None:
                    step = (xb.to(torch.float64) - xa.to(torch.float64)).reshape(stop - start, -1)
                    base[start:stop] = torch.linalg.vector_norm(step, dim=1).to(exact)
                interior = (xb - xa)[:, None] * self.t
                interior += xa[:, None]
                proba = self.classifier._forward(interior.reshape(-1, *self.shape).to(self.dtype))
                worst = torch.maximum(worst, _invalidity(proba))
                # Renormalised as the host check does with rows within tolerance.
                proba = proba / proba.sum(dim=1, keepdim=True)
                proba = proba.reshape(stop - start, self.n_steps, -1)
                ia, ib = ia_exact[start:stop], ib_exact[start:stop]
                path = torch.cat([self.PA[ia][:, None], proba, self.PB[ib][:, None]], dim=1)
                out[start:stop] = torch_js_distance(path[:, :-1], path[:, 1:]).sum(dim=1)
        if float(worst) > ROW_SUM_TOLERANCE:
            raise ValueError(
                "The module's outputs on the paths are not probabilities (negative, "
                "NaN, or rows not summing to 1). Check output="
                f"{self.classifier.output!r}: use 'logits' for raw scores. A float16 or "
                "bfloat16 module ending in softmax sums its rows to 1 only roughly: drop "
                "the softmax and pass output='logits', which is taken in float64."
            )
        return out.cpu().numpy(), None if base is None else base.cpu().numpy()

    def _end_points(self, index_a, index_b, ia_all, ib_all, start: int, stop: int):
        """The end points of pairs ``start:stop`` on the device, in the working type."""
        if self.resident:
            return self.A_dev[ia_all[start:stop]], self.B_dev[ib_all[start:stop]]
        xa = numpy_to_torch(self.A[index_a[start:stop]], self.device, self.work)
        xb = numpy_to_torch(self.B[index_b[start:stop]], self.device, self.work)
        return xa, xb


# ---------------------------------------------------------------------- numerics


def torch_proba_from_outputs(raw: torch.Tensor, output: str) -> torch.Tensor:
    """Float64 class probabilities from a module's raw outputs, on their device.

    The torch twin of :func:`didi._adapter.proba_from_outputs`.
    """
    raw = raw.to(torch.float64)
    if raw.ndim == 1:
        raw = raw[:, None]
    if raw.ndim != 2:
        raise ValueError(
            f"The module returned outputs of shape {tuple(raw.shape)}; expected "
            "(batch, n_classes) or (batch,) for a binary model."
        )
    if output == "log_probabilities":
        raw = raw.exp()
    if raw.shape[1] == 1:
        if output == "logits":
            return torch.cat([torch.sigmoid(-raw), torch.sigmoid(raw)], dim=1)
        return torch.cat([1.0 - raw, raw], dim=1)
    if output == "logits":
        return torch.softmax(raw, dim=1)
    return raw


#: Classes DeepFool considers per sample: the top-scoring ones at its start, as in
#: the original (it bounds memory to ``batch × 10 × features`` for many classes).
DEEPFOOL_CLASSES = 10


def deepfool_distances(
    scores_of: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    max_iter: int,
    overshoot: float,
) -> torch.Tensor:
    """Multi-class DeepFool: the norm of the move that changes each row's label.

    ``scores_of`` maps flat rows to per-class scores whose argmax is the label and
    whose differences are smooth (logits, log-probabilities). Only each row's
    :data:`DEEPFOOL_CLASSES` best classes at the start are considered. Rows are moved
    together; those whose label has changed leave the batch. Returns norms in the
    scores' precision, ``inf`` for rows not moved across in ``max_iter`` steps
    (or whose scores do not change with the input).
    """
    with torch.no_grad():
        initial = scores_of(x0)
    work = initial.dtype
    candidates = initial.topk(min(DEEPFOOL_CLASSES, initial.shape[1]), dim=1).indices
    start = candidates[:, 0]
    move = torch.zeros(x0.shape, dtype=work, device=x0.device)
    distance = torch.full((len(x0),), float("inf"), dtype=work, device=x0.device)
    active = torch.arange(len(x0), device=x0.device)
    for _ in range(max_iter + 1):
        x = (x0[active] + (1 + overshoot) * move[active]).to(x0.dtype).requires_grad_(True)
        scores = scores_of(x)
        crossed = scores.argmax(dim=1) != start[active]
        distance[active[crossed]] = ((1 + overshoot) * move[active[crossed]]).norm(dim=1)
        keep = ~crossed
        if not keep.any():
            break
        mine = candidates[active]
        grads = torch.stack(
            [
                torch.autograd.grad(
                    scores.gather(1, mine[:, j : j + 1]).sum(), x, retain_graph=True
                )[0]
                for j in range(mine.shape[1])
            ],
            dim=1,
        ).to(work)[keep]
        gaps = (scores.gather(1, mine) - scores.gather(1, mine[:, :1])).detach()[keep]
        normals = grads - grads[:, :1]
        norms = normals.norm(dim=2)
        ratio = gaps.abs() / norms
        ratio[:, 0] = float("inf")  # the row's own class
        ratio[norms == 0] = float("inf")
        rows = torch.arange(len(ratio), device=x0.device)
        nearest = ratio.argmin(dim=1)
        # A row whose scores do not change with its input cannot be moved: it stays inf.
        movable = torch.isfinite(ratio[rows, nearest])
        step = (gaps[rows, nearest].abs() + 1e-4) / norms[rows, nearest] ** 2
        active = active[keep][movable]
        move[active] += (step[:, None] * normals[rows, nearest])[movable]
    return distance


def torch_js_distance(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """The Jensen-Shannon metric along the last axis; the torch twin of
    :func:`didi._divergence.js_distance`, with the same handling of zeros."""
    r = (p - q) / (p + q)
    left = p * torch.log1p(r)
    right = q * torch.log1p(-r)
    left = torch.where(torch.isfinite(left), left, 0.0)
    right = torch.where(torch.isfinite(right), right, 0.0)
    divergence = 0.5 * (left + right).sum(dim=-1)
    return divergence.clamp(0.0, JS_MAX**2).sqrt()


def _invalidity(proba: torch.Tensor) -> torch.Tensor:
    """How far rows are from summing to 1; inf for a negative or non-finite value
    (the host check refuses those outright too)."""
    bad_sum = (proba.sum(dim=1) - 1.0).abs().max()
    valid = torch.isfinite(proba).all() & (proba.min() >= 0)
    return torch.where(valid, bad_sum, torch.inf)
