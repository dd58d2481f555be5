"""Declarative parameter validation: one table of constraints per estimator.

Each estimator lists, in ``_parameter_constraints``, what every parameter may be;
:func:`validate_params` checks the current values against it at every entry point
(``fit``, ``transform``, ``add_samples``, ...). In the spirit of scikit-learn's
``_parameter_constraints``, with three rules of its own: NaN and infinity are never a
number here, booleans are not integers, and every error names the estimator, the
parameter, the value received and what is allowed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from ._devices import is_device_like


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a value its estimator does not allow.

    Both a ``ValueError`` and a ``TypeError``, as in scikit-learn, so that callers
    catching either kind of mistake catch it.
    """


class Constraint:
    """What one parameter may be; subclasses say when a value satisfies it."""

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def __str__(self) -> str:
        raise NotImplementedError


def _is_integer(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Interval(Constraint):
    """Numbers between ``low`` and ``high`` (``None``: unbounded), never NaN or infinite.

    ``kind`` is :class:`numbers.Integral` (booleans excluded) or :class:`numbers.Real`
    (which takes integers too).
    """

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if not (_is_integer(value) if self.kind is Integral else _is_real(value)):
            return False
        # Python integers are finite however large; math.isfinite would overflow on them.
        if not isinstance(value, Integral) and not math.isfinite(value):
            return False
        above_low = self.low is None or value > self.low
        below_high = self.high is None or value < self.high
        at_low = value == self.low and self.closed in ("both", "left")
        at_high = value == self.high and self.closed in ("both", "right")
        return (above_low or at_low) and (below_high or at_high)

    def __str__(self) -> str:
        what = "an integer" if self.kind is Integral else "a finite number"
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{what} in {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of strings."""

    values: tuple[str, ...]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Satisfies(Constraint):
    """Values for which ``test`` is true, described by ``description``."""

    test: Callable[[Any], bool]
    description: str

    def accepts(self, value: Any) -> bool:
        return bool(self.test(value))

    def __str__(self) -> str:
        return self.description


NONE = Satisfies(lambda value: value is None, "None")
BOOLEAN = Satisfies(lambda value: isinstance(value, (bool, np.bool_)), "a boolean")
DICT = Satisfies(lambda value: isinstance(value, Mapping), "a dict")
CLASSIFIER = Satisfies(
    lambda value: hasattr(value, "predict_proba") or callable(value),
    "a fitted classifier with predict_proba or a callable f(X) -> probabilities",
)
RANDOM_STATE = [
    NONE,
    Interval(Integral, 0, 2**32 - 1),
    Satisfies(lambda value: isinstance(value, np.random.RandomState), "a numpy RandomState"),
]
#: A PyTorch device: its name or a ``torch.device`` (checked further where used).
TORCH_DEVICE = [NONE, Satisfies(is_device_like, "a device name or a torch.device")]
N_JOBS = [NONE, Interval(Integral, 1, None), Interval(Integral, None, -1)]
MEMORY = [
    NONE,
    Satisfies(lambda value: isinstance(value, (str, os.PathLike)), "a folder (str or path)"),
    Satisfies(lambda value: hasattr(value, "cache"), "a joblib.Memory"),
]
VERBOSE = [BOOLEAN, Interval(Integral, 0, None)]


def describe(constraints: Iterable[Constraint]) -> str:
    """``"a, b or c"`` for a parameter's constraints."""
    parts = [str(c) for c in constraints]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def check_value(owner: str, name: str, value: Any, constraints: list[Constraint]) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` satisfies one constraint."""
    if any(constraint.accepts(value) for constraint in constraints):
        return
    raise InvalidParameterError(f"{owner}: {name} must be {describe(constraints)}; got {value!r}.")


def validate_params(estimator: Any) -> None:
    """Check every parameter of ``estimator`` against its ``_parameter_constraints``."""
    owner = type(estimator).__name__
    params = estimator.get_params(deep=False)
    for name, constraints in type(estimator)._parameter_constraints.items():
        check_value(owner, name, params[name], constraints)
