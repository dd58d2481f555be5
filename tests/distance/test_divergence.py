import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from didi.distance._divergence import JS_MAX, js_distance, normalized_entropy


def distributions(n_classes):
    weights = arrays(
        np.float64,
        n_classes,
        # Tiny values next to large ones: a ratio below 1e-16 rounds inside the
        # log1p form and must still give the definition's value.
        elements=st.one_of(st.just(0.0), st.floats(1e-300, 1e-12), st.floats(1e-12, 1.0)),
    ).filter(lambda w: w.sum() > 0)
    return weights.map(lambda w: w / w.sum())


@st.composite
def triples(draw):
    n = draw(st.integers(2, 6))
    return draw(distributions(n)), draw(distributions(n)), draw(distributions(n))


@given(triples())
@settings(max_examples=200)
def test_metric_axioms_and_bound(pqr):
    p, q, r = pqr
    d_pq, d_qp = js_distance(p, q), js_distance(q, p)
    assert d_pq == pytest.approx(d_qp, abs=1e-15)
    assert js_distance(p, p) == 0.0
    assert 0.0 <= d_pq <= JS_MAX
    assert d_pq <= js_distance(p, r) + js_distance(r, q) + 1e-12


def textbook_js(p, q):
    """The definition, term by term: sqrt(½ KL(p‖m) + ½ KL(q‖m)) with 0·log 0 = 0."""
    m = (p + q) / 2
    kl_pm = sum(pi * np.log(pi / mi) for pi, mi in zip(p, m, strict=True) if pi > 0)
    kl_qm = sum(qi * np.log(qi / mi) for qi, mi in zip(q, m, strict=True) if qi > 0)
    return np.sqrt(max(0.0, 0.5 * kl_pm + 0.5 * kl_qm))


@given(triples())
@settings(max_examples=200)
def test_matches_the_definition(pqr):
    p, q, _ = pqr
    # The term-by-term definition itself rounds: its divergence carries an absolute
    # error of about 1e-16, which a square root turns into 1e-8 near 0. Compare the
    # divergences there, the distances elsewhere.
    ours, textbook = js_distance(p, q), textbook_js(p, q)
    assert ours**2 == pytest.approx(textbook**2, abs=1e-14)
    if textbook**2 > 1e-9:  # far enough above the definition's own rounding
        assert ours == pytest.approx(textbook, rel=1e-6)


def test_disjoint_supports_reach_the_bound():
    assert js_distance(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(
        np.sqrt(np.log(2))
    )


def test_confident_opposite_predictions_are_far_apart():
    """A probability 1e-18 next to 1 once made a term −inf, clipped to a distance of 0."""
    p = np.array([1.0 - 1e-18, 1e-18])
    q = np.array([1e-18, 1.0 - 1e-18])
    assert js_distance(p, q) == pytest.approx(jensenshannon(p, q), abs=1e-12)
    assert js_distance(p, q) == pytest.approx(JS_MAX, abs=1e-12)
    p = np.array([0.9997, 3e-4 - 5.9e-14, 5.9e-14])
    q = np.array([2.7e-5, 0.999973 - 1.4e-18, 1.4e-18])
    assert js_distance(p, q) == pytest.approx(textbook_js(p, q), abs=1e-12)


def test_nearly_equal_distributions_keep_precision():
    # d_JS ≈ sqrt(Σ δ²/(8 m)) for p = m + δ, q = m − δ: a second-order quantity that
    # naive formulas lose to rounding.
    m = np.array([0.5, 0.3, 0.2])
    delta = np.array([1e-7, -0.5e-7, -0.5e-7])
    expected = np.sqrt(np.sum((2 * delta) ** 2 / m) / 8)
    assert js_distance(m + delta, m - delta) == pytest.approx(expected, rel=1e-6)


def test_broadcasts_over_leading_axes():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=(3, 5))
    q = rng.dirichlet(np.ones(4), size=(3, 5))
    out = js_distance(p, q)
    assert out.shape == (3, 5)
    assert np.allclose(out, jensenshannon(p, q, axis=-1), atol=1e-12)


def test_normalized_entropy():
    proba = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0]])
    expected = entropy(proba.T) / np.log(3)
    assert np.allclose(normalized_entropy(proba), expected)
    assert normalized_entropy(proba)[0] == 0.0
    assert normalized_entropy(proba)[1] == pytest.approx(1.0)
