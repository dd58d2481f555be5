"""scikit-learn's estimator checks, where they apply.

The checks feed random data of their own making; every estimator here gets a
classifier that accepts any number of features (a softmax of the feature sum and
its negation, so two classes).

Checks that cannot apply, and why:

* ``RBFInverse`` is not run through them: its ``fit(Y, X)`` learns a map from a
  2-D embedding to input-space samples of any shape and it has only
  ``inverse_transform``; the checks' regressor and transformer contracts (``predict``,
  ``transform``, a 1-D ``y``) do not describe it. ``get_params``/``clone`` are
  checked below and its behaviour in ``tests/test_inverse.py``.
* Nothing else is skipped or expected to fail (the array-API checks skip
  themselves when ``SCIPY_ARRAY_API`` is unset).
"""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from didi import DecisionMap, FisherJSMetric, FisherUMAP


def any_width_classifier(X):
    s = np.tanh(np.asarray(X, dtype=np.float64).reshape(len(X), -1).sum(axis=1) / 10)
    p = (1 + s) / 2
    return np.c_[p, 1 - p]


@parametrize_with_checks(
    [
        FisherJSMetric(any_width_classifier, n_steps=2),
        FisherUMAP(any_width_classifier, n_steps=1, n_neighbors=5, n_epochs=20, random_state=0),
        DecisionMap(
            any_width_classifier,
            n_steps=1,
            n_neighbors=5,
            n_epochs=20,
            resolution=4,
            random_state=0,
        ),
    ],
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_rbf_inverse_params_and_clone():
    from sklearn.base import clone

    from didi import RBFInverse

    inv = RBFInverse(a=42, b=2, alpha=1e-3, n_centers=7, random_state=3)
    copy = clone(inv)
    assert copy.get_params() == inv.get_params()
    assert copy.set_params(a=5).a == 5
