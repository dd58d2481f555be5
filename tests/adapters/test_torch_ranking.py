"""Exact ranking of k-NN candidates on a PyTorch device, pruned by the Hellinger bound."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from didi.adapters import _torch_ranking  # noqa: E402
from didi.adapters._torch_ranking import (  # noqa: E402
    _torch_hellinger_lower,
    _torch_js_lower,
    torch_candidates_and_base_candidates,
)
from didi.distance import _bounds, _ranking  # noqa: E402

CPU = torch.device("cpu")


def _problem(digits, digits_mlp, n=300, metric="euclidean"):
    X = digits[0][:n] + np.random.default_rng(0).normal(scale=0.01, size=(n, 64))
    proba = digits_mlp.predict_proba(X)
    terms = _bounds.bound_terms(X, proba, metric, X.mean(axis=0))
    weights = _bounds.bound_weights(
        0.65, 0.8, 40.0 if metric == "euclidean" else 0.5, metric, terms
    )
    return terms, weights


def _rank(terms, weights, rows, width, exclude, base_width=12):
    return torch_candidates_and_base_candidates(
        terms, rows, terms, weights, width, base_width, exclude_self=exclude, device=CPU
    )


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_the_pruned_ranking_is_the_full_one(digits, digits_mlp, metric, monkeypatch):
    terms, weights = _problem(digits, digits_mlp, n=600, metric=metric)
    cases = [(np.arange(600), 20, True), (np.arange(3, 600, 7), 30, True),
             (np.arange(0, 600, 5), 25, False)]  # fmt: skip
    full = [_rank(terms, weights, *case) for case in cases]
    pruned_blocks = []
    original = _torch_ranking._torch_pruned_block

    def spy(*args):
        result = original(*args)
        pruned_blocks.append(result is not None)
        return result

    monkeypatch.setattr(_torch_ranking, "PRUNING_MIN_REFERENCES", 0)
    monkeypatch.setattr(_torch_ranking, "_DEVICE_BLOCK_ELEMENTS", 60_000)  # blocks of 100 rows
    monkeypatch.setattr(_torch_ranking, "_torch_pruned_block", spy)
    for case, (expected, expected_base) in zip(cases, full, strict=True):
        (indices, bounds, next_bound), base = _rank(terms, weights, *case)
        np.testing.assert_array_equal(indices, expected[0])
        np.testing.assert_allclose(bounds, expected[1], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(next_bound, expected[2], rtol=1e-12, atol=1e-14)
        if metric == "euclidean":
            np.testing.assert_array_equal(base.indices, expected_base.indices)
            np.testing.assert_array_equal(base.next_distance, expected_base.next_distance)
        # And the host's ranking, which the full one equals.
        host = _ranking.exact_candidates(
            terms, case[0], terms, weights, case[1], exclude_self=case[2]
        )
        np.testing.assert_array_equal(indices, host[0])
    assert len(pruned_blocks) == 6 + 1 + 2 and all(pruned_blocks)  # every block pruned


def test_a_block_with_too_many_survivors_is_ranked_in_full(digits, digits_mlp, monkeypatch):
    terms, weights = _problem(digits, digits_mlp, n=120)
    expected, _ = _rank(terms, weights, np.arange(120), 15, True)
    monkeypatch.setattr(_torch_ranking, "PRUNING_MIN_REFERENCES", 0)
    monkeypatch.setattr(_torch_ranking, "_MAX_SURVIVOR_SHARE", 0.0)
    full_blocks = []
    original = _torch_ranking._torch_full_bounds
    monkeypatch.setattr(
        _torch_ranking,
        "_torch_full_bounds",
        lambda *args: full_blocks.append(1) or original(*args),
    )
    table, _ = _rank(terms, weights, np.arange(120), 15, True)
    assert full_blocks
    for found, wanted in zip(table, expected, strict=True):
        np.testing.assert_array_equal(found, wanted)


def test_pruned_blocks_hold_as_many_rows_as_the_memory_allows():
    rows = _torch_ranking._pruned_block_rows(1_000_000, CPU)
    assert rows == _torch_ranking._DEVICE_BLOCK_ELEMENTS // 1_000_000
    assert _torch_ranking._pruned_block_rows(10**12, CPU) == 1


def test_on_a_gpu_pruned_blocks_fill_a_share_of_its_free_memory(monkeypatch):
    free = 70 * 2**30
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (free, 80 * 2**30))
    rows = _torch_ranking._pruned_block_rows(1_000_000, torch.device("cuda"))
    arrays = _torch_ranking._PRUNED_TEMPORARIES * rows * 1_000_000 * 8
    assert arrays <= _torch_ranking._PRUNED_MEMORY_SHARE * free
    assert arrays > 0.9 * _torch_ranking._PRUNED_MEMORY_SHARE * free


@st.composite
def prediction_pairs(draw):
    n_classes = draw(st.integers(2, 12))
    concentration = draw(st.sampled_from([0.01, 0.3, 1.0, 50.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(n_classes, concentration), size=6)
    q = rng.dirichlet(np.full(n_classes, concentration), size=7)
    if draw(st.booleans()):  # near-equal predictions, where the bound is tightest
        q[:6] = p * (1 + rng.normal(scale=1e-9, size=p.shape))
        q[:6] /= q[:6].sum(axis=1, keepdims=True)
    return p, q


@settings(max_examples=200, deadline=None)
@given(prediction_pairs())
def test_the_hellinger_bound_stays_below_the_jensen_shannon_one(pair):
    p, q = (torch.from_numpy(values) for values in pair)
    entropy_p = -torch.special.xlogy(p, p).sum(dim=1)
    entropy_q = -torch.special.xlogy(q, q).sum(dim=1)
    hellinger = _torch_hellinger_lower(p, q)
    js = _torch_js_lower(p[:, None], q[None], entropy_p[:, None], entropy_q[None])
    assert torch.all(hellinger <= js), (hellinger - js).max()
    # Nearly tight where the predictions differ: √(ln 2/2)·H against the JS distance.
    exact_h = torch.cdist(p.sqrt(), q.sqrt()) * np.sqrt(np.log(2) / 2)
    assert torch.all(hellinger >= exact_h - 1e-6)


def test_a_rows_nearest_by_the_lower_bound_always_get_their_bounds(digits, digits_mlp, monkeypatch):
    """Whatever the lower bound says of them, the pairs that set a row's threshold are
    ranked: a row never ends with fewer finite bounds than it keeps."""
    terms, weights = _problem(digits, digits_mlp, n=200)
    monkeypatch.setattr(_torch_ranking, "PRUNING_MIN_REFERENCES", 0)
    monkeypatch.setattr(
        _torch_ranking,
        "_torch_hellinger_lower",
        lambda p, q: torch.full((len(p), len(q)), 1e300, dtype=torch.float64),
    )
    (indices, bounds, next_bound), _ = _rank(terms, weights, np.arange(200), 10, True)
    assert np.all(np.isfinite(bounds)) and np.all(np.isfinite(next_bound))
    assert np.all(indices != np.arange(200)[:, None])


@settings(max_examples=80, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 9), min_size=1, max_size=12),
    keep=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_each_rows_smallest_come_in_order_of_value_then_column(sizes, keep, seed):
    rng = np.random.default_rng(seed)
    rows, columns, values = [], [], []
    for row, size in enumerate(sizes):
        chosen = np.sort(rng.choice(20, size=max(size, keep), replace=False))
        rows += [row] * len(chosen)
        columns += chosen.tolist()
        # Few distinct values, so that ties are common; inf among them.
        values += rng.choice([0.5, 1.0, 1.0, 2.0, np.inf], size=len(chosen)).tolist()
    got_values, got_columns = _torch_ranking.smallest_per_row(
        torch.tensor(rows), torch.tensor(columns), torch.tensor(values), len(sizes), keep
    )
    for row in range(len(sizes)):
        entries = sorted(
            (value, column)
            for r, column, value in zip(rows, columns, values, strict=True)
            if r == row
        )[:keep]
        assert got_values[row].tolist() == [value for value, _ in entries]
        assert got_columns[row].tolist() == [column for _, column in entries]
