"""``RBFInverse``: the inverse projection π⁻¹ from 2-D back to input space."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from .._devices import check_torch_device
from .._resources import local_threads
from .._validation import N_JOBS, NONE, RANDOM_STATE, TORCH_DEVICE, Interval, validate_params
from ._rbf import (
    FIT_CHUNK,
    fit_coefficients,
    normalized_weights,
    solve_coefficients,
    weight_block_rows,
)

#: Rows of 2-D points mapped at once by ``inverse_transform`` (bounds memory).
_CHUNK_ROWS = 4096


def check_inverse_device(device: Any, parameter: str = "device") -> Any:
    """π⁻¹'s ``device`` as a checked ``torch.device`` that holds float64, or ``None``
    for NumPy; errors name it ``parameter``."""
    if device is None:
        return None
    return check_torch_device(device, parameter, "computes π⁻¹'s products", "float64")


class RBFInverse(RegressorMixin, BaseEstimator):
    """Inverse projection π⁻¹: a radial-basis network from 2-D to input space.

    ``π⁻¹(y) = Σ_i w_i(y)·θ_i / Σ_j w_j(y)``, ``w_i(y) = (1 + a'·‖y_i − y‖^{2b})⁻¹``,
    the minimiser of the paper's cost (section 4.2, Theorem 2) with the centres at
    the training points' 2-D positions. The coefficients ``θ`` are fitted so that
    ``π⁻¹(y_i) ≈ x_i``: a regularised linear least-squares problem, solved exactly.

    Parameters
    ----------
    a : float, default=500
        Sharpness of the weights; larger is more local (more non-linear). As in the
        reference implementation it is divided by the mean range of the embedding,
        ``a' = a / mean(max(Y) − min(Y))``, so the default suits any map's scale.
    b : float, default=1
        Exponent of the weights' distance term.
    alpha : float, default=0.03
        Relative ridge strength pulling each ``θ_i`` towards its centre's sample.
        Small values reproduce the training points more closely; larger values
        give smoother images between them. The default was chosen by every
        measure of the map, not by ``q_data`` alone: against ``1e-3`` it raised the
        round-trip consistency ``cons_p`` on digits and Fashion-MNIST and
        ``q_not_data`` on Fashion-MNIST, and lowered the gradient of π⁻¹ by 13–15 %,
        at under a point of ``q_data`` (``benchmarks/bench_inverse_defaults.py``).
    n_centers : int, default=None
        Use a random subset of this many training points as centres: memory
        ``O(n_centers²)`` and time ``O(n·n_centers²)``; ``None`` uses every
        training point.
    random_state : int, RandomState or None, default=None
        Seed for choosing the centres when ``n_centers`` is set.
    n_jobs : int or None, default=None
        Threads computing the weights in :meth:`fit` and :meth:`inverse_transform`
        (``None``: as many as BLAS uses, every core unless a parallel grid search
        limits its workers). Results do not depend on it. With ``device``, PyTorch
        chooses its own threads instead.
    device : str or torch.device, default=None
        Where the weights and their products are computed: ``None`` in NumPy on the
        CPU; a PyTorch device (``"cuda"``, ...) in float64 there, in blocks of
        points (``pip install "didi[torch]"``): meant for a GPU, for many points
        and centres (on a CPU, NumPy is as fast). The same π⁻¹ up to rounding, not
        to the bit. Used by :meth:`fit` (which leaves the centres and coefficients
        on the device for :meth:`inverse_transform`'s calls) and
        :meth:`inverse_transform`; the fitted
        coefficients are NumPy arrays, so ``set_params(device=None)`` maps on a
        machine without that device.

    Attributes
    ----------
    centers_ : ndarray of shape (n_centers, 2)
        2-D positions of the centres.
    coef_ : ndarray of shape (n_centers, n_values)
        The fitted ``θ``, flattened.
    a_effective_ : float
        ``a'``, the sharpness actually used.
    b_ : float
        ``b`` as :meth:`fit` used it (:meth:`inverse_transform` uses this one).
    sample_shape_ : tuple of int
        Shape of one input-space sample (``()`` for a 1-D target).
    n_features_in_ : int
        Dimension of the embedding (2 for a map).

    Notes
    -----
    As a scikit-learn estimator this is a multi-output regressor from the
    embedding to the input space: ``fit(Y, X)`` takes the positions where
    scikit-learn takes ``X`` and the samples where it takes ``y``, and
    :meth:`predict` is :meth:`inverse_transform`.

    Examples
    --------
    >>> import numpy as np
    >>> from didi import RBFInverse
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(50, 2))
    >>> X = np.c_[Y, Y[:, :1] * Y[:, 1:]]
    >>> inv = RBFInverse(a=5000).fit(Y, X)
    >>> bool(np.abs(inv.inverse_transform(Y) - X).max() < 0.05)
    True
    """

    def __init__(
        self,
        a: float = 500,
        b: float = 1,
        *,
        alpha: float = 0.03,
        n_centers: int | None = None,
        random_state: Any = None,
        n_jobs: int | None = None,
        device: Any = None,
    ) -> None:
        self.a = a
        self.b = b
        self.alpha = alpha
        self.n_centers = n_centers
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device

    #: The centres and coefficients on a device: (device, coef_, centres, coefficients).
    _device_copies: tuple[Any, ...] | None = None

    _parameter_constraints: ClassVar[dict] = {
        "a": [Interval(Real, 0, None, closed="neither")],
        "b": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "n_centers": [NONE, Interval(Integral, 1, None)],
        "random_state": RANDOM_STATE,
        "n_jobs": N_JOBS,
        "device": TORCH_DEVICE,
    }

    def fit(self, Y: Any, X: Any) -> RBFInverse:
        r"""Learn π⁻¹ from pairs (2-D point ``Y[i]``, input-space sample ``X[i]``).

        Parameters
        ----------
        Y : array-like of shape (n_samples, 2)
            Positions in the embedding.
        X : array-like of shape (n_samples, n_features) or (n_samples, \*shape)
            The samples at those positions.

        Returns
        -------
        self : RBFInverse
        """
        validate_params(self)
        device = check_inverse_device(self.device)
        Y = check_array(Y, dtype=np.float64, input_name="Y")
        if X is None:
            raise ValueError(
                "X: Expected array-like (array or non-string sequence), got None; "
                "pass the samples found at the positions Y."
            )
        X = check_array(
            X,
            allow_nd=True,
            ensure_2d=False,
            dtype=[np.float64, np.float32],
            ensure_all_finite=True,
            input_name="X",
        )
        if len(X) != len(Y):
            raise ValueError(
                f"Y and X must have the same number of samples; got {len(Y)} and {len(X)}."
            )
        flat = X.reshape(len(X), -1)

        center_idx = np.arange(len(Y))
        if self.n_centers is not None and self.n_centers < len(Y):
            rng = check_random_state(self.random_state)
            center_idx = np.sort(rng.choice(len(Y), self.n_centers, replace=False))
        value_range = float(np.mean(np.ptp(Y, axis=0)))
        a_effective = self.a / value_range if value_range > 0 else float(self.a)
        centers = Y[center_idx]
        coef = self._fit_coefficients(Y, centers, a_effective, flat, center_idx, device)
        # Set only once the solve has succeeded: a failed refit keeps the previous fit.
        self.a_effective_, self.b_, self.centers_, self.coef_ = a_effective, self.b, centers, coef
        self._device_copies = None
        if device is not None:  # kept there for inverse_transform's calls
            self._device_copies = (device, coef, *self._on_device(device))
        self.sample_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = Y.shape[1]
        self._dtype = X.dtype
        return self

    def _fit_coefficients(self, Y, centers, a_effective, flat, center_idx, device):
        """θ for the flattened samples ``flat`` at ``Y`` and the ``centers``
        (``Y[center_idx]``), in NumPy or on ``device``."""
        prior = flat[center_idx].astype(np.float64, copy=False)
        if device is None:
            return fit_coefficients(
                Y, centers, a_effective, self.b, flat.astype(np.float64, copy=False), prior,
                self.alpha, n_threads=self._threads(min(len(Y), FIT_CHUNK), len(centers)),
            )  # fmt: skip
        from ._rbf_torch import torch_weight_statistics

        gram, rhs = torch_weight_statistics(Y, centers, a_effective, self.b, flat, device)
        return solve_coefficients(gram, rhs, prior, self.alpha)

    def _on_device(self, device: Any) -> tuple[Any, Any]:
        """The centres and coefficients as float64 tensors on ``device``: those
        :meth:`fit` left there (a map calls :meth:`inverse_transform` block by block),
        else uploaded for this call (``inverse_transform`` changes no attribute)."""
        from ._rbf_torch import on_device

        kept = self._device_copies
        # The coefficients themselves are kept: a new coef_ is told apart by identity.
        if kept is not None and kept[0] == device and kept[1] is self.coef_:
            return kept[2], kept[3]
        return on_device(self.centers_, device), on_device(self.coef_, device)

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_device_copies", None)  # device memory is not pickled
        return state

    def _threads(self, n_points: int, n_centers: int) -> int:
        """Threads for the weights of ``n_points`` at once: counted (which asks the
        BLAS libraries) only where they make more than one block."""
        if n_points <= weight_block_rows(n_centers):
            return 1
        return local_threads(self.n_jobs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, Y: Any) -> np.ndarray:
        """The same as :meth:`inverse_transform`, for scikit-learn's regressor API."""
        return self.inverse_transform(Y)

    def inverse_transform(self, Y: Any) -> np.ndarray:
        r"""Map 2-D points to input space.

        Parameters
        ----------
        Y : array-like of shape (n_points, 2)

        Returns
        -------
        ndarray of shape (n_points, \*sample_shape_)
            Synthesised samples, in the training samples' shape and dtype.
        """
        check_is_fitted(self, "coef_")
        validate_params(self)
        return self._inverse_transform(Y, check_inverse_device(self.device))

    def _inverse_transform(self, Y: Any, device: Any) -> np.ndarray:
        """:meth:`inverse_transform` on ``device`` (a checked ``torch.device``, or
        ``None`` for NumPy), whatever this estimator's ``device`` says: an owner such as
        :class:`~didi.DecisionMap` names the device without changing this fit."""
        Y = check_array(Y, dtype=np.float64, input_name="Y")
        if Y.shape[1] != self.n_features_in_:
            raise ValueError(
                f"Y has {Y.shape[1]} features, but RBFInverse is expecting "
                f"{self.n_features_in_} features as input."
            )
        if device is not None:
            from ._rbf_torch import torch_inverse_transform

            centers, coef = self._on_device(device)
            out = torch_inverse_transform(Y, centers, coef, self.a_effective_, self.b_, self._dtype)
            return out.reshape((len(Y), *self.sample_shape_))
        out = np.empty((len(Y), self.coef_.shape[1]), dtype=self._dtype)
        threads = self._threads(min(len(Y), _CHUNK_ROWS), len(self.centers_))
        for start in range(0, len(Y), _CHUNK_ROWS):
            block = Y[start : start + _CHUNK_ROWS]
            W = normalized_weights(
                block, self.centers_, self.a_effective_, self.b_, n_threads=threads
            )
            out[start : start + len(block)] = W @ self.coef_
        return out.reshape((len(Y), *self.sample_shape_))
