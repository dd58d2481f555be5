"""exact_paths: exact pieces along segments, against sampling and didi's path lengths."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from didi._proba import ProbaFunction  # noqa: E402
from didi.distance._paths import path_lengths  # noqa: E402
from didi.exact import exact_paths  # noqa: E402
from didi.torch import TorchClassifier  # noqa: E402

from .test_planar_slice import convnet, mlp  # noqa: E402


def test_two_crossings_between_samples_are_counted_as_missed():
    """Scores (|x − ½|, 0.1): class 1 only for |x − ½| < 0.1 on x ∈ [0, 1]."""
    net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 2)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
        net[0].bias.copy_(torch.tensor([-0.5, 0.5]))  # |x − ½| = relu(x − ½) + relu(½ − x)
        net[2].weight.copy_(torch.tensor([[1.0, 1.0], [0.0, 0.0]]))
        net[2].bias.copy_(torch.tensor([0.0, 0.1]))  # class 1 where |x − ½| < 0.1
    path = exact_paths(net, [[0.0]], [[1.0]])[0]
    assert path.knots == pytest.approx([0, 0.4, 0.5, 0.6, 1])
    assert path.classes.tolist() == [0, 1, 1, 0]
    assert path.crossings == pytest.approx([0.4, 0.6])
    assert path.missed_crossings(0) == 2  # the ends are both class 0
    assert path.missed_crossings(1) == 0  # t = ½ is class 1: both changes seen
    assert path.missed_crossings(2) == 2  # t = ⅓ and ⅔ are both class 0
    assert path.missed_crossings(3) == 0  # t = ½ is sampled again


def test_crossings_match_dense_sampling():
    net = convnet()
    rng = np.random.default_rng(0)
    starts, ends = rng.normal(size=(20, 1, 6, 6)) * 3, rng.normal(size=(20, 1, 6, 6)) * 3
    paths = exact_paths(net, starts, ends)
    t = np.linspace(0, 1, 20_001)[1:-1] + 1e-7
    for start, end, path in zip(starts, ends, paths, strict=True):
        x = start[None] + t[:, None, None, None] * (end - start)[None]
        with torch.no_grad():
            scores = net(torch.as_tensor(x)).numpy()
        assert np.allclose(path.scores_at(t), scores, atol=1e-9)
        assert np.array_equal(path.predict(t), scores.argmax(axis=1))
        changes = np.count_nonzero(np.diff(scores.argmax(axis=1)))
        assert len(path.crossings) >= changes
        assert path.knots[0] == 0 and path.knots[-1] == 1 and np.all(np.diff(path.knots) > 0)


def test_sampled_path_length_is_didis():
    """With ``n_steps``, the exact pieces give the very sum FisherJSMetric computes."""
    net = mlp(1, width=12, depth=3, n_in=6, n_out=4)
    clf = TorchClassifier(net)
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(15, 6)) * 2, rng.normal(size=(15, 6)) * 2
    paths = exact_paths(clf, A, B)
    proba = ProbaFunction(clf, batch_size=1000)
    index = np.arange(15)
    for n_steps in (0, 3, 10):
        sampled = path_lengths(proba, A, B, proba(A), proba(B), index, index, n_steps)
        exact = [path.path_length(n_steps) for path in paths]
        assert np.allclose(exact, sampled, rtol=1e-10)
    # More steps approach the resolved length from below (the JS metric's triangle inequality).
    resolved = np.array([path.path_length() for path in paths])
    assert np.all(resolved >= np.array([p.path_length(10) for p in paths]) - 1e-12)


def test_bad_segments_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        exact_paths(mlp(0), np.zeros((2, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="finite"):
        exact_paths(mlp(0), np.full((1, 2), np.nan), np.zeros((1, 2)))


def test_no_paths_and_grouped_paths():
    net = convnet()
    assert exact_paths(net, np.zeros((0, 1, 6, 6)), np.zeros((0, 1, 6, 6))) == []
    rng = np.random.default_rng(3)
    starts, ends = rng.normal(size=(8, 1, 6, 6)) * 3, rng.normal(size=(8, 1, 6, 6)) * 3
    whole = exact_paths(net, starts, ends)
    grouped = exact_paths(net, starts, ends, memory_limit=20_000)
    for a, b in zip(whole, grouped, strict=True):
        assert np.allclose(a.knots, b.knots) and np.array_equal(a.classes, b.classes)
