"""Samples given as a pandas DataFrame go back to the classifier as one.

A classifier fitted on a DataFrame may select its columns by name (a Pipeline with
a ``ColumnTransformer``): it must receive DataFrames with the same columns, also
at the points the suite makes between samples. The samples are validated and
interpolated as numbers; :class:`FrameSpec` rebuilds the frame around each batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils.validation import _check_feature_names, _get_feature_names


@dataclass(frozen=True)
class FrameSpec:
    """The columns of the DataFrame the samples came as, and their dtypes for the
    classifier: float columns keep their precision, integer and boolean columns
    become float64 (a point between two samples has fractional values)."""

    columns: tuple[Any, ...]
    dtypes: tuple[np.dtype, ...]

    @classmethod
    def of(cls, X: Any) -> FrameSpec | None:
        """The spec of a pandas DataFrame ``X``; ``None`` for anything else.

        Raises a ``ValueError`` naming the columns that are not numeric.
        """
        if not (hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")):
            return None
        from pandas.api.types import is_numeric_dtype

        columns = list(zip(X.columns, X.dtypes, strict=True))
        bad = [name for name, dtype in columns if not is_numeric_dtype(dtype)]
        if bad:
            raise ValueError(
                f"Columns {bad[:5]}{' and more' if len(bad) > 5 else ''} are not numeric. "
                "didi measures straight paths between samples, which needs numbers in "
                "every column: encode these columns before mapping (their encoder "
                "becomes part of the data, not of the classifier)."
            )
        kept = tuple(
            dtype if isinstance(dtype, np.dtype) and dtype.kind == "f" else np.dtype(np.float64)
            for _, dtype in columns
        )
        return cls(columns=tuple(name for name, _ in columns), dtypes=kept)

    def frame(self, batch: np.ndarray):
        """``batch`` (rows of numbers, one column each) as a DataFrame of these columns."""
        import pandas as pd

        frame = pd.DataFrame(batch, columns=list(self.columns), copy=False)
        pairs = zip(self.columns, self.dtypes, strict=True)
        narrower = {name: dtype for name, dtype in pairs if dtype != batch.dtype}
        return frame.astype(narrower) if narrower else frame


def feature_names_of(X: Any) -> np.ndarray | None:
    """The column names of ``X`` as scikit-learn records them in ``feature_names_in_``
    (``None`` unless ``X`` is a DataFrame with string column names)."""
    return _get_feature_names(X)


def keep_feature_names(estimator: Any, names: np.ndarray | None) -> None:
    """At the end of ``fit``: set ``feature_names_in_``, or remove an earlier fit's."""
    if names is not None:
        estimator.feature_names_in_ = names
    else:
        estimator.__dict__.pop("feature_names_in_", None)


def check_feature_names(estimator: Any, X: Any) -> None:
    """After ``fit``: refuse columns that differ from the fitted ones, in scikit-learn's
    words (a warning where only one of them has names)."""
    _check_feature_names(estimator, X, reset=False)
