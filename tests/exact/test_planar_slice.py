"""PlanarSlice: the exact partition against hand-computed cases and dense sampling."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from didi.exact import PlanarSlice, UnsupportedLayerError  # noqa: E402
from didi.exact import _trace as trace  # noqa: E402
from didi.torch import TorchClassifier  # noqa: E402

PLANE = dict(origin=[0.0, 0.0], directions=[[1.0, 0.0], [0.0, 1.0]])


def mlp(seed, width=10, depth=5, n_in=2, n_out=3):
    torch.manual_seed(seed)
    layers, size = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.ReLU()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, n_out)).double()


class ResidualConvNet(nn.Module):
    """Convolution, batch norm, a residual block, leaky ReLU, max and average pooling."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3, padding=1)
        self.norm = nn.BatchNorm2d(3)
        self.conv2 = nn.Conv2d(3, 3, 3, padding=1)
        self.leaky = nn.LeakyReLU(0.1)
        self.pool = nn.MaxPool2d(2)
        self.average = nn.AvgPool2d(1)
        self.fc = nn.Linear(3 * 3 * 3, 4)

    def forward(self, x):
        h = F.relu(self.norm(self.conv1(x)))
        h = h + self.leaky(self.conv2(h))
        h = self.average(self.pool(h))
        return self.fc(h.view(h.size(0), -1))


def convnet(seed=0):
    torch.manual_seed(seed)
    net = ResidualConvNet()
    with torch.no_grad():
        net.norm.running_mean.uniform_(-0.3, 0.3)
        net.norm.running_var.uniform_(0.5, 2.0)
    return net.double().eval()


def grid_points(extent, n=120):
    """Sample points strictly inside the extent, off any rational grid a cut could follow."""
    u0, u1, v0, v1 = extent
    rng = np.random.default_rng(0)
    u = np.linspace(u0, u1, n + 2)[1:-1] + rng.uniform(-1e-4, 1e-4, n + 0) * (u1 - u0)
    v = np.linspace(v0, v1, n + 2)[1:-1] + rng.uniform(-1e-4, 1e-4, n) * (v1 - v0)
    U, V = np.meshgrid(u, v)
    return np.c_[U.ravel(), V.ravel()]


def sampled_patterns(net, x):
    """Each kink layer's pattern at inputs ``x``, read by forward hooks (in execution order).

    ReLU-like: whether the input is positive (for the functional ReLU after a batch
    norm, the batch norm's output). Max pooling: which element of its window wins,
    from ``max_pool2d``'s own indices.
    """
    patterns = []

    def hook(module, inputs, output):
        z = output if isinstance(module, nn.BatchNorm2d) else inputs[0]
        if isinstance(module, nn.MaxPool2d):
            _, flat = F.max_pool2d(z, module.kernel_size, return_indices=True)
            row, col = flat // z.shape[-1], flat % z.shape[-1]
            k = module.kernel_size
            patterns.append(((row % k) * k + col % k).reshape(len(z), -1).numpy())
        else:
            patterns.append((z > 0).reshape(len(z), -1).numpy().astype(np.uint8))

    kinds = (nn.ReLU, nn.LeakyReLU, nn.MaxPool2d, nn.BatchNorm2d)
    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, kinds)]
    with torch.no_grad():
        out = net(x)
    for handle in handles:
        handle.remove()
    return patterns, out.numpy()


# ----------------------------------------------------------------- hand-computed cases


def test_one_relu_unit_by_hand():
    """h = relu(u − v − 0.5); logits (h, 1): class 0 where u − v > 1.5, else class 1."""
    net = nn.Sequential(nn.Linear(2, 1), nn.ReLU(), nn.Linear(1, 2)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -1.0]]))
        net[0].bias.fill_(-0.5)
        net[2].weight.copy_(torch.tensor([[1.0], [0.0]]))
        net[2].bias.copy_(torch.tensor([0.0, 1.0]))
    plane = PlanarSlice(net, **PLANE, extent=(-2, 2, -2, 2)).fit()
    assert plane.n_linear_regions_ == 2
    assert len(plane.regions_) == 3
    areas = np.array([_area(r) for r in plane.regions_])
    # The kink u − v = 0.5 and the boundary u − v = 1.5 cut triangles off the corner (2, −2).
    kink_triangle, boundary_triangle = 3.5**2 / 2, 2.5**2 / 2
    assert sorted(areas) == pytest.approx(
        sorted([16 - kink_triangle, kink_triangle - boundary_triangle, boundary_triangle])
    )
    segments = plane.boundary_
    assert np.allclose(segments[..., 0] - segments[..., 1], 1.5)
    assert np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1).sum() == pytest.approx(
        2.5 * np.sqrt(2)
    )
    assert set(map(tuple, plane.boundary_classes_.tolist())) == {(0, 1)}
    assert plane.predict([[1.9, -1.9], [0.0, 0.0]]).tolist() == [0, 1]


def test_two_units_crossing_by_hand():
    """relu(u) and relu(v): four quadrants of area 1, each with its own pattern."""
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(2))
        net[0].bias.zero_()
        net[2].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
        net[2].bias.copy_(torch.tensor([0.0, 5.0]))  # class 1 everywhere: no boundary
    plane = PlanarSlice(net, **PLANE, extent=(-1, 1, -1, 1)).fit()
    assert plane.n_linear_regions_ == 4 and len(plane.regions_) == 4
    assert [_area(r) for r in plane.regions_] == pytest.approx([1, 1, 1, 1])
    pattern = next(iter(plane.activation_patterns_.values()))
    centres = np.array([r.mean(axis=0) for r in plane.regions_])
    assert np.array_equal(pattern, (centres > 0).astype(np.uint8))
    assert len(plane.boundary_) == 0
    assert set(plane.region_classes_) == {1}


def _area(polygon):
    u, v = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.sum(u * np.roll(v, -1) - np.roll(u, -1) * v))


# ----------------------------------------------------------------- against sampling


def _check_against_sampling(net, plane):
    points = grid_points(plane.extent_)
    x = torch.as_tensor(plane.to_input(points))
    patterns, scores = sampled_patterns(net, x)
    cell = plane.apply(points)
    assert (cell >= 0).all()
    # Every sample's pattern, class and scores are those of the cell containing it.
    for sampled, exact in zip(patterns, plane.activation_patterns_.values(), strict=True):
        assert np.array_equal(exact.reshape(len(exact), -1)[cell], sampled)
    assert np.array_equal(plane.region_classes_[cell], scores.argmax(axis=1))
    assert np.allclose(plane.decision_function(points), scores, rtol=1e-9, atol=1e-9)
    # Sampling can only find fewer linear regions than there are.
    distinct = np.unique(np.hstack(patterns), axis=0)
    assert plane.n_linear_regions_ >= len(distinct)
    assert len(np.unique(plane.region_linear_ids_[cell])) == len(distinct)
    # The cells tile the extent.
    u0, u1, v0, v1 = plane.extent_
    assert sum(_area(r) for r in plane.regions_) == pytest.approx((u1 - u0) * (v1 - v0))
    assert min(_area(r) for r in plane.regions_) > 0


def test_mlp_partition_matches_sampling():
    net = mlp(0)
    plane = PlanarSlice(
        net, anchors=[[0.0, 0.0], [1.0, 0.0], [0.3, 1.0]], extent=(-4, 4, -4, 4)
    ).fit()
    assert plane.n_linear_regions_ > 50
    _check_against_sampling(net, plane)


def test_convnet_partition_matches_sampling():
    net = convnet()
    anchors = torch.randn(
        3, 1, 6, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    plane = PlanarSlice(net, anchors=anchors.numpy(), margin=0.3).fit()
    assert plane.n_linear_regions_ > 50
    assert [p.shape[1:] for p in plane.activation_patterns_.values()] == [
        (3, 6, 6),
        (3, 6, 6),
        (3, 3, 3),
    ]
    _check_against_sampling(net, plane)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), width=st.integers(2, 8), depth=st.integers(1, 3))
def test_random_mlps_match_sampling(seed, width, depth):
    net = mlp(seed, width=width, depth=depth, n_in=3, n_out=4)
    rng = np.random.default_rng(seed)
    plane = PlanarSlice(net, anchors=rng.normal(size=(3, 3)), margin=0.5).fit()
    _check_against_sampling(net, plane)


def test_grouping_under_a_memory_limit_gives_the_same_partition(monkeypatch):
    net = convnet()
    anchors = torch.randn(
        3, 1, 6, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    ).numpy()
    whole = PlanarSlice(net, anchors=anchors).fit()
    groups = []
    concatenate = trace._concatenate

    def counting(results):
        groups.append(len(results))
        return concatenate(results)

    monkeypatch.setattr(trace, "_concatenate", counting)
    grouped = PlanarSlice(net, anchors=anchors, memory_limit=3_000_000).fit()
    assert groups and max(groups) > 1
    assert len(grouped.regions_) == len(whole.regions_)
    assert grouped.n_linear_regions_ == whole.n_linear_regions_
    points = grid_points(whole.extent_, 60)
    assert np.array_equal(grouped.predict(points), whole.predict(points))
    for name, pattern in whole.activation_patterns_.items():
        assert np.array_equal(
            grouped.activation_patterns_[name][grouped.apply(points)], pattern[whole.apply(points)]
        )
    assert len(grouped.boundary_) == len(whole.boundary_)
    lean = PlanarSlice(net, anchors=anchors, keep_patterns=False).fit()
    assert lean.activation_patterns_ == {} and len(lean.regions_) == len(whole.regions_)
    assert np.linalg.norm(np.diff(grouped.boundary_, axis=1), axis=2).sum() == pytest.approx(
        np.linalg.norm(np.diff(whole.boundary_, axis=1), axis=2).sum()
    )


# ----------------------------------------------------------------- the decision boundary


def test_boundary_segments_lie_where_two_top_classes_tie():
    net = mlp(3, width=8, depth=2)
    plane = PlanarSlice(net, **PLANE, extent=(-10, 10, -10, 10)).fit()
    assert set(plane.region_classes_) == {0, 1, 2}
    assert len(plane.boundary_) > 0
    t = np.array([0.25, 0.5, 0.75])
    points = (
        plane.boundary_[:, :1] * (1 - t[:, None]) + plane.boundary_[:, 1:] * t[:, None]
    ).reshape(-1, 2)
    with torch.no_grad():
        scores = net(torch.as_tensor(points)).numpy()
    pairs = np.repeat(plane.boundary_classes_, 3, axis=0)
    rows = np.arange(len(points))
    assert np.allclose(scores[rows, pairs[:, 0]], scores[rows, pairs[:, 1]], atol=1e-9)
    assert np.all(scores[rows, pairs[:, 0]] >= scores.max(axis=1) - 1e-9)
    # A small step off a segment's middle, either way, lands in its two classes.
    middle = plane.boundary_.mean(axis=1)
    direction = plane.boundary_[:, 1] - plane.boundary_[:, 0]
    normal = np.c_[-direction[:, 1], direction[:, 0]] / np.linalg.norm(direction, axis=1)[:, None]
    with torch.no_grad():
        left = net(torch.as_tensor(middle + 1e-6 * normal)).argmax(1).numpy()
        right = net(torch.as_tensor(middle - 1e-6 * normal)).argmax(1).numpy()
    assert np.array_equal(
        np.sort(np.c_[left, right], axis=1), np.sort(plane.boundary_classes_, axis=1)
    )


def test_boundary_is_complete():
    """Every pair of neighbouring samples of different class has a segment between them."""
    net = mlp(3, width=8, depth=2)
    plane = PlanarSlice(net, **PLANE, extent=(-10, 10, -10, 10)).fit()
    assert set(plane.region_classes_) == {0, 1, 2}
    u = np.linspace(-9.99, 9.99, 80)
    U, V = np.meshgrid(u, u)
    with torch.no_grad():
        labels = (
            net(torch.as_tensor(np.c_[U.ravel(), V.ravel()])).argmax(1).numpy().reshape(U.shape)
        )
    rows, cols = np.nonzero(labels[:, 1:] != labels[:, :-1])
    assert len(rows) > 10
    a = np.c_[U[rows, cols], V[rows, cols]]
    b = np.c_[U[rows, cols + 1], V[rows, cols + 1]]
    p, q = plane.boundary_[:, 0], plane.boundary_[:, 1]

    def side(o, d, x):
        return d[..., 0] * (x[..., 1] - o[..., 1]) - d[..., 1] * (x[..., 0] - o[..., 0])

    crosses = (
        side(a[:, None], (b - a)[:, None], p[None]) * side(a[:, None], (b - a)[:, None], q[None])
        <= 0
    ) & (side(p[None], (q - p)[None], a[:, None]) * side(p[None], (q - p)[None], b[:, None]) <= 0)
    assert crosses.any(axis=1).all()


# ----------------------------------------------------------------- the module and the plane


def test_final_softmax_is_skipped_and_binary_output_handled():
    net = mlp(5, width=6, depth=2)
    plain = PlanarSlice(net, **PLANE, extent=(-2, 2, -2, 2)).fit()
    with_softmax = PlanarSlice(
        nn.Sequential(net, nn.Softmax(dim=1)), **PLANE, extent=(-2, 2, -2, 2)
    ).fit()
    assert len(with_softmax.regions_) == len(plain.regions_)
    assert np.allclose(with_softmax.region_scores_, plain.region_scores_)

    binary = nn.Sequential(*list(net)[:-1], nn.Linear(6, 1).double(), nn.Sigmoid())
    plane = PlanarSlice(binary, **PLANE, extent=(-2, 2, -2, 2), classes=["no", "yes"]).fit()
    points = grid_points(plane.extent_, 50)
    with torch.no_grad():
        positive = binary(torch.as_tensor(points)).numpy()[:, 0] > 0.5
    assert np.array_equal(plane.predict(points), np.where(positive, "yes", "no"))


def test_torch_classifier_lends_its_input_shape_and_classes():
    net = convnet().float()
    clf = TorchClassifier(net, input_shape=(1, 6, 6), classes=["a", "b", "c", "d"])
    anchors = np.random.default_rng(0).normal(size=(3, 36))
    plane = PlanarSlice(clf, anchors=anchors).fit()
    assert plane.input_shape_ == (1, 6, 6)
    assert set(plane.classes_) == {"a", "b", "c", "d"}
    assert np.allclose(plane.to_input(plane.anchors_uv_).reshape(3, -1), anchors)
    points = grid_points(plane.extent_, 30)
    assert np.array_equal(
        plane.predict(points), clf.predict(plane.to_input(points).reshape(len(points), -1))
    )
    assert next(net.parameters()).dtype == torch.float32  # the module itself is untouched


def test_anchors_lie_at_their_plane_coordinates():
    rng = np.random.default_rng(1)
    anchors = rng.normal(size=(3, 5))
    plane = PlanarSlice(mlp(0, n_in=5), anchors=anchors, margin=0.0).fit()
    assert np.allclose(plane.to_input(plane.anchors_uv_), anchors)
    assert np.allclose(plane.basis_ @ plane.basis_.T, np.eye(2))
    assert plane.anchors_uv_[0].tolist() == [0, 0] and plane.anchors_uv_[1, 1] == 0
    low, high = plane.anchors_uv_.min(axis=0), plane.anchors_uv_.max(axis=0)
    assert plane.extent_ == pytest.approx((low[0], high[0], low[1], high[1]))


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(anchors=[[0, 0], [1, 1], [2, 2]]), "one line"),
        (dict(anchors=[[0, 0], [0, 0], [1, 1]]), "degenerate"),
        (dict(anchors=[[0, 0], [1, 0]]), "3 rows"),
        (dict(), "either anchors"),
        (dict(anchors=[[0, 0], [1, 0], [0, 1]], **PLANE), "either anchors"),
        (dict(anchors=[[0, 0], [1, 0], [0, 1]], extent=(1, 0, 0, 1)), "extent must be"),
        (dict(anchors=[[0, 0], [1, 0], [0, 1]], margin=-1), "margin must be"),
        (dict(anchors=[[0, 0], [1, 0], [0, 1]], input_shape=(3,)), "does not hold"),
        (dict(anchors=[[0, 0], [1, 0], [0, 1]], classes=["a", "b"]), "2 classes given for 3"),
    ],
)
def test_bad_planes_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        PlanarSlice(mlp(0), **params).fit()


def test_points_outside_the_extent_are_refused():
    plane = PlanarSlice(mlp(0), **PLANE, extent=(-1, 1, -1, 1)).fit()
    with pytest.raises(ValueError, match="outside the partitioned extent"):
        plane.predict([[0.0, 0.0], [1.5, 0.0]])
    with pytest.raises(ValueError, match="shape"):
        plane.predict([0.0, 0.0])


def test_parameters_follow_scikit_learn():
    plane = PlanarSlice(mlp(0), **PLANE, extent=(-1, 1, -1, 1), tolerance=1e-10)
    twin = clone(plane)
    assert twin.get_params()["tolerance"] == 1e-10 and isinstance(twin.module, nn.Sequential)
    assert not hasattr(twin, "regions_")
    assert plane.set_params(margin=0.5).margin == 0.5


class Square(nn.Module):
    def forward(self, x):
        return x * x


class FlattenBatch(nn.Module):
    def forward(self, x):
        return torch.flatten(x)


class Transposed(nn.Module):
    def forward(self, x):
        return torch.tanh(x.T).T


class SoftmaxInTheMiddle(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(torch.softmax(x, dim=1))


@pytest.mark.parametrize(
    "layer, message",
    [
        (nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2)), r"1 \(Tanh\)"),
        (nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3), nn.Linear(3, 2)), r"LayerNorm"),
        (nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(2.0), nn.Linear(3, 2)), r"slope 2.0"),
        (Square(), "multiplies"),
        (FlattenBatch(), "batch axis"),
        (SoftmaxInTheMiddle(), "last operation"),
        (Transposed(), "getattr"),
        (
            nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3, track_running_stats=False)),
            "by the batch",
        ),
    ],
)
def test_layers_that_are_not_piecewise_linear_are_named(layer, message):
    with pytest.raises(UnsupportedLayerError, match=message):
        PlanarSlice(layer, **PLANE, extent=(-1, 1, -1, 1)).fit()


def test_max_pooling_with_padding_is_refused():
    net = nn.Sequential(nn.MaxPool2d(2, padding=1), nn.Flatten(), nn.Linear(4, 2))
    with pytest.raises(UnsupportedLayerError, match=r"0 \(MaxPool2d\).*padding"):
        PlanarSlice(net, anchors=np.random.default_rng(0).normal(size=(3, 1, 2, 2))).fit()


# ----------------------------------------------------------------- corner cases


def test_a_strip_thinner_than_the_tolerance_is_not_lost():
    """Three kinks v = 0, v = w/2, v = w with w below twice the tolerance: the cells still tile."""
    tolerance = 1e-4
    w = 1.5 * tolerance * np.hypot(2, 2)
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]))
        net[0].bias.copy_(torch.tensor([0.0, -w, -w / 2]))
        net[2].weight.copy_(torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
        net[2].bias.zero_()
    plane = PlanarSlice(net, **PLANE, extent=(-1, 1, -1, 1), tolerance=tolerance).fit()
    assert abs(sum(_area(r) for r in plane.regions_) - 4.0) < 1e-12
    assert (plane.apply(grid_points(plane.extent_, 40)) >= 0).all()


def test_a_boundary_along_a_kink_is_found():
    """relu(u) as a single logit: class 0 where u ≤ 0 (a tie at 0), class 1 where u > 0."""
    net = nn.Sequential(nn.Linear(2, 1), nn.ReLU()).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0]]))
        net[0].bias.zero_()
    plane = PlanarSlice(net, **PLANE, extent=(-1, 1, -1, 1)).fit()
    assert plane.boundary_classes_.tolist() == [[0, 1]]
    assert np.allclose(plane.boundary_[0, :, 0], 0)
    assert sorted(plane.boundary_[0, :, 1]) == pytest.approx([-1, 1])


class SharedReLU(nn.Module):
    """One ReLU module used twice, a size read before the first kink, a matmul, dropout off."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(2, 6), nn.Linear(6, 5)
        self.relu = nn.ReLU()
        self.weight = nn.Parameter(torch.randn(5, 3))

    def forward(self, x):
        n = x.shape[0]
        h = self.relu(self.fc1(x))
        h = self.relu(self.fc2(h)).reshape(n, -1)
        h = F.dropout(h, 0.5, training=False)
        return h @ self.weight


def test_shared_modules_and_bookkeeping_operations():
    torch.manual_seed(0)
    net = SharedReLU().double().eval()
    plane = PlanarSlice(net, **PLANE, extent=(-3, 3, -3, 3)).fit()
    assert [p.shape[1:] for p in plane.activation_patterns_.values()] == [(6,), (5,)]
    points = grid_points(plane.extent_, 80)
    with torch.no_grad():
        scores = net(torch.as_tensor(points)).numpy()
    assert np.array_equal(plane.predict(points), scores.argmax(axis=1))
    assert np.allclose(plane.decision_function(points), scores, atol=1e-9)
