"""π⁻¹ on a PyTorch device (``RBFInverse(device=...)``, ``DecisionMap(inverse_device=...)``)
against the formulas written out in NumPy here."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from sklearn.utils.estimator_checks import parametrize_with_checks

torch = pytest.importorskip("torch")

from didi import DecisionMap, DecisionMapSequence, RBFInverse  # noqa: E402
from didi._validation import InvalidParameterError  # noqa: E402
from didi.inverse import _rbf_torch  # noqa: E402
from didi.inverse._rbf_torch import on_device as on_device_  # noqa: E402
from didi.inverse._rbf_torch import (  # noqa: E402
    torch_inverse_transform,
    torch_normalized_weights,
    torch_weight_statistics,
)
from tests.test_estimator_checks import EXPECTED_FAILURES  # noqa: E402

from ..conftest import output_of_fresh_process  # noqa: E402


def formula_weights(Y, centers, a, b):
    w = 1.0 / (1.0 + a * cdist(Y, centers, "sqeuclidean") ** b)
    return w / w.sum(axis=1, keepdims=True)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    m=st.integers(1, 30),
    dims=st.integers(1, 3),
    a=st.floats(1e-3, 1e3),
    b=st.sampled_from([0.5, 1.0, 1.5, 2.0]),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
    seed=st.integers(0, 2**16),
)
def test_weights_are_the_formula(n, m, dims, a, b, scale, seed):
    rng = np.random.default_rng(seed)
    Y, centers = scale * rng.normal(size=(n, dims)), scale * rng.normal(size=(m, dims))
    weights = torch_normalized_weights(torch.from_numpy(Y), torch.from_numpy(centers), a, b).numpy()
    np.testing.assert_allclose(weights, formula_weights(Y, centers, a, b), rtol=1e-13, atol=0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-13)


def test_a_centre_on_a_point_keeps_its_weight_exactly():
    """Squared distances from differences: a point at a centre is at distance 0, not at
    the rounding error of ``‖y‖² + ‖c‖² − 2y·c`` (which ``a`` would magnify)."""
    centers = np.array([[1e4, 1e4 + 1.0], [1e4 + 0.5, 1e4]])
    weights = torch_normalized_weights(
        torch.from_numpy(centers[:1].copy()), torch.from_numpy(centers), 1e6, 1.0
    ).numpy()
    np.testing.assert_array_equal(weights, formula_weights(centers[:1], centers, 1e6, 1.0))


def test_statistics_over_blocks_are_the_products(monkeypatch):
    """``WᵀW`` and ``WᵀX`` summed over blocks of 7 points (float32 targets made float64
    on the device) against the whole products written out."""
    monkeypatch.setattr(_rbf_torch, "FIT_CHUNK", 7)
    rng = np.random.default_rng(1)
    Y, centers = rng.normal(size=(50, 2)), rng.normal(size=(9, 2))
    targets = rng.normal(size=(50, 4)).astype(np.float32)
    gram, rhs = torch_weight_statistics(Y, centers, 3.0, 1.0, targets, "cpu")
    W = formula_weights(Y, centers, 3.0, 1.0)
    np.testing.assert_allclose(gram, W.T @ W, rtol=1e-12)
    np.testing.assert_allclose(rhs, W.T @ targets.astype(np.float64), rtol=1e-12, atol=1e-15)


def test_inverse_transform_over_blocks_is_the_product(monkeypatch):
    monkeypatch.setattr(_rbf_torch, "FIT_CHUNK", 5)
    rng = np.random.default_rng(2)
    Y, centers, coef = rng.normal(size=(23, 2)), rng.normal(size=(6, 2)), rng.normal(size=(6, 3))
    there = torch.from_numpy(centers), torch.from_numpy(coef)
    out = torch_inverse_transform(Y, *there, 2.0, 1.5, np.dtype(np.float32))
    assert out.dtype == np.float32
    expected = (formula_weights(Y, centers, 2.0, 1.5) @ coef).astype(np.float32)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    Y = rng.uniform(-5, 5, size=(600, 2))
    pixels = np.tanh(Y @ rng.normal(size=(2, 36))) + 0.05 * rng.normal(size=(600, 36))
    return Y, pixels.reshape(600, 6, 6).astype(np.float32)


def test_device_fit_is_numpys_up_to_rounding(images):
    Y, X = images
    kwargs = {"n_centers": 200, "random_state": 0}
    host = RBFInverse(**kwargs).fit(Y, X)
    device = RBFInverse(**kwargs, device="cpu").fit(Y, X)
    np.testing.assert_array_equal(device.centers_, host.centers_)
    scale = np.abs(host.coef_).max()
    np.testing.assert_allclose(device.coef_, host.coef_, rtol=0, atol=1e-9 * scale)
    query = np.random.default_rng(1).uniform(-6, 6, size=(300, 2))
    mapped = device.inverse_transform(query)
    assert mapped.shape == (300, 6, 6) and mapped.dtype == np.float32
    np.testing.assert_allclose(mapped, host.inverse_transform(query), rtol=0, atol=1e-5)
    # The coefficients are NumPy's arrays: the same fit maps on the CPU without the device.
    assert isinstance(device.coef_, np.ndarray)
    on_host = device.set_params(device=None).inverse_transform(query)
    np.testing.assert_allclose(on_host, mapped, rtol=0, atol=1e-5)


def test_bad_devices_are_refused_with_their_name(images):
    Y, X = images
    with pytest.raises(ValueError, match="device='gpu' is not a torch device"):
        RBFInverse(device="gpu").fit(Y, X)
    with pytest.raises(InvalidParameterError, match="device"):
        RBFInverse(device=3).fit(Y, X)
    fitted = RBFInverse().fit(Y, X)
    with pytest.raises(ValueError, match="device='gpu' is not a torch device"):
        fitted.set_params(device="gpu").inverse_transform(Y[:3])


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_refused_before_any_work(images):
    Y, X = images
    with pytest.raises(ValueError, match="inverse_device='cuda', but PyTorch finds no CUDA"):
        DecisionMap(lambda Z: 1 / 0, inverse_device="cuda").fit(X.reshape(600, -1))
    with pytest.raises(ValueError, match="device='cuda', but PyTorch finds no CUDA"):
        RBFInverse(device="cuda").fit(Y, X)


def _probabilities(Z):
    """A fixed three-class softmax of the six-by-six samples' pixels."""
    logits = Z.reshape(len(Z), -1) @ np.random.default_rng(5).normal(size=(36, 3))
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def test_decision_map_on_the_inverse_device_is_the_same_map(images):
    """The device changes π⁻¹'s rounding only: the same embedding bit for bit, the same
    cells' classes but for cells on a boundary, the same scores within one sample."""
    X = images[1][:300].reshape(300, -1)
    kwargs = {"random_state": 0, "resolution": 30, "n_neighbors": 10, "n_epochs": 30}
    host = DecisionMap(_probabilities, **kwargs).fit(X)
    device = DecisionMap(_probabilities, **kwargs, inverse_device="cpu").fit(X)
    assert device.inverse_.device == "cpu" and host.inverse_.device is None
    np.testing.assert_array_equal(device.embedding_, host.embedding_)
    np.testing.assert_allclose(device.grid_proba_, host.grid_proba_, rtol=0, atol=1e-5)
    assert np.mean(device.grid_labels_ != host.grid_labels_) <= 0.01
    for name in ("q_data", "q_not_data", "cons_d"):
        assert abs(device.scores_[name] - host.scores_[name]) <= 1 / 300 + 1e-12


def test_a_sequence_hands_the_inverse_device_to_its_maps(images, tmp_path):
    """Its maps fit π⁻¹ on it; its page maps on the device named now."""
    X = images[1][:80].reshape(80, -1)
    kwargs = {"random_state": 0, "resolution": 5, "n_neighbors": 8, "n_epochs": 10}
    sequence = DecisionMapSequence([_probabilities], inverse_device="cpu", **kwargs).fit(X)
    assert sequence.maps_[0].inverse_.device == "cpu"
    with pytest.raises(ValueError, match="inverse_device='gpu' is not a torch device"):
        sequence.set_params(inverse_device="gpu").to_html(tmp_path / "maps.html")
    page = sequence.set_params(inverse_device=None).to_html(tmp_path / "maps.html")
    assert page.stat().st_size > 0
    assert sequence.maps_[0].inverse_device == "cpu"  # the fitted maps are left as they were
    with pytest.raises(InvalidParameterError, match="inverse_device"):
        DecisionMapSequence([_probabilities], inverse_device=1.5).fit(X)
    with pytest.raises(ValueError, match="inverse_device='gpu' is not a torch device"):
        DecisionMapSequence([lambda Z: 1 / 0], inverse_device="gpu").fit(X)


def test_devices_that_cannot_hold_the_values_are_refused_up_front():
    with pytest.raises(ValueError, match="meta device holds no values"):
        RBFInverse(device="meta").fit(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(InvalidParameterError, match="device"):
        RBFInverse(device=np.dtype("float64")).fit(np.zeros((3, 2)), np.zeros((3, 2)))


def test_pickling_leaves_the_device_copies_behind(images):
    import pickle

    Y, X = images
    inverse = RBFInverse(n_centers=50, random_state=0, device="cpu").fit(Y, X)
    expected = inverse.inverse_transform(Y[:5])
    assert inverse._device_copies is not None
    assert RBFInverse(n_centers=50, random_state=0).fit(Y, X)._device_copies is None
    restored = pickle.loads(pickle.dumps(inverse))
    assert restored._device_copies is None
    np.testing.assert_array_equal(restored.inverse_transform(Y[:5]), expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_a_gpu_pi_inverse_is_numpys_up_to_rounding(images, monkeypatch):
    monkeypatch.setattr(_rbf_torch, "_GPU_BLOCK_VALUES", 1 << 12)  # many blocks
    Y, X = images
    host = RBFInverse(n_centers=200, random_state=0).fit(Y, X)
    gpu = RBFInverse(n_centers=200, random_state=0, device="cuda").fit(Y, X)
    np.testing.assert_allclose(gpu.coef_, host.coef_, rtol=0, atol=1e-9 * np.abs(host.coef_).max())
    np.testing.assert_allclose(gpu.inverse_transform(Y), host.inverse_transform(Y), atol=1e-5)


def test_a_fitted_map_computes_pi_inverse_on_the_device_named_now(images, monkeypatch):
    """``set_params(inverse_device=...)`` after fit moves π⁻¹'s later work (here to
    NumPy and back) without changing the fitted π⁻¹: the same samples up to
    rounding, and a bad device is refused with the map's parameter named."""
    X = images[1][:200].reshape(200, -1)
    kwargs = {"random_state": 0, "resolution": 10, "n_neighbors": 10, "n_epochs": 20}
    dmap = DecisionMap(_probabilities, **kwargs, inverse_device="cpu").fit(X)
    on_device = dmap.inverse_transform(dmap.embedding_[:50])
    uploads = []
    monkeypatch.setattr(_rbf_torch, "on_device", lambda *a: uploads.append(1) or on_device_(*a))
    dmap.inverse_transform(dmap.embedding_[:50])
    assert len(uploads) == 1  # the points; fit left the centres and coefficients there
    on_host = dmap.set_params(inverse_device=None).inverse_transform(dmap.embedding_[:50])
    assert dmap.inverse_.device == "cpu"  # the fitted π⁻¹ is left as it was
    np.testing.assert_allclose(on_host, on_device, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="inverse_device='gpu' is not a torch device"):
        dmap.set_params(inverse_device="gpu").inverse_transform(dmap.embedding_[:5])


def test_read_only_samples_need_no_writable_copy_from_the_caller():
    """Read-only samples (a memory map) fit and map without PyTorch's warning about
    non-writable arrays, which it gives once per process: so in a fresh one."""
    code = (
        "import warnings, numpy as np\n"
        "warnings.simplefilter('error')\n"
        "from didi import RBFInverse\n"
        "rng = np.random.default_rng(0)\n"
        "Y, X = rng.normal(size=(300, 2)), rng.normal(size=(300, 5)).astype(np.float32)\n"
        "Y.setflags(write=False); X.setflags(write=False)\n"
        "inverse = RBFInverse(n_centers=50, random_state=0, device='cpu').fit(Y, X)\n"
        "print(inverse.inverse_transform(Y).shape)\n"
    )
    assert output_of_fresh_process(code) == "(300, 5)"


@parametrize_with_checks(
    [RBFInverse(device="cpu")],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES["RBFInverse"],
)
def test_sklearn_compatible_on_a_device(estimator, check):
    check(estimator)
