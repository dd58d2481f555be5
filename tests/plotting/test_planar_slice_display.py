"""PlanarSliceDisplay: what it draws is the fitted slice."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from sklearn.exceptions import NotFittedError

torch = pytest.importorskip("torch")

from didi.exact import PlanarSlice  # noqa: E402
from didi.plotting import PlanarSliceDisplay  # noqa: E402
from didi.plotting._decision_map_display import class_colors  # noqa: E402


@pytest.fixture(scope="module")
def plane():
    torch.manual_seed(4)
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
    ).double()
    fitted = PlanarSlice(net, anchors=[[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]], margin=1.0).fit()
    assert len(set(fitted.region_classes_)) > 1 and len(fitted.boundary_) > 0
    return fitted


def test_cells_boundary_and_anchors_are_drawn(plane):
    disp = PlanarSliceDisplay.from_estimator(plane, anchor_labels=["a", "b", "c"])
    paths = disp.cells_.get_paths()
    assert len(paths) == len(plane.regions_)
    for path, region in zip(paths, plane.regions_, strict=True):
        assert np.allclose(path.vertices[: len(region)], region)
    colors = class_colors(len(plane.classes_))
    expected = [to_rgba(colors[list(plane.classes_).index(c)]) for c in plane.region_classes_]
    assert np.allclose(disp.cells_.get_facecolors(), expected)
    assert np.allclose(np.array(disp.boundary_lines_.get_segments()), plane.boundary_)
    assert [t.get_text() for t in disp.ax_.texts] == ["a", "b", "c"]
    assert disp.ax_.get_xlim() == pytest.approx(plane.extent_[:2])
    legend = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert legend[-1] == "decision boundary"
    assert set(legend[:-1]) == {str(c) for c in set(plane.region_classes_)}
    plt.close("all")


def test_slope_colouring_is_the_score_gradient(plane):
    """The slope of each cell against central differences of the network itself."""
    disp = PlanarSliceDisplay.from_estimator(plane, color_by="slope")
    centres = np.array([r.mean(axis=0) for r in plane.regions_])

    def scores(uv):
        with torch.no_grad():
            return plane.module(torch.as_tensor(plane.to_input(uv))).numpy()

    du_, dv_ = np.array([1e-6, 0.0]), np.array([0.0, 1e-6])
    du = (scores(centres + du_) - scores(centres - du_)) / 2e-6
    dv = (scores(centres + dv_) - scores(centres - dv_)) / 2e-6
    expected = np.sqrt((du**2).sum(axis=1) + (dv**2).sum(axis=1))
    assert np.allclose(disp.cells_.get_array(), expected, rtol=1e-5)
    assert len(disp.figure_.axes) == 2  # the colour bar
    plt.close("all")


def test_bad_requests_are_refused(plane):
    with pytest.raises(ValueError, match="color_by must be one of"):
        PlanarSliceDisplay.from_estimator(plane, color_by="area")
    with pytest.raises(ValueError, match="name the 3 anchors"):
        PlanarSliceDisplay.from_estimator(plane, anchor_labels=["a"])
    with pytest.raises(NotFittedError):
        PlanarSliceDisplay.from_estimator(
            PlanarSlice(plane.module, anchors=[[0, 0], [1, 0], [0, 1]])
        )
    plt.close("all")


def test_the_plane_on_a_decision_map(plane):
    from didi import DecisionMap
    from didi.torch import TorchClassifier

    clf = TorchClassifier(plane.module)
    X = np.random.default_rng(0).uniform(-4, 8, size=(80, 2))
    dmap = DecisionMap(clf, n_neighbors=8, resolution=20, random_state=0).fit(X)
    disp = PlanarSliceDisplay.from_estimator(plane, decision_map=dmap, n_map_points=6)
    comparison = disp.map_comparison
    u0, u1, v0, v1 = plane.extent_
    grid = np.stack(np.meshgrid(np.linspace(u0, u1, 6), np.linspace(v0, v1, 6)), -1).reshape(-1, 2)
    assert np.allclose(comparison["positions"], dmap.transform(plane.to_input(grid)))
    assert np.array_equal(comparison["exact"], plane.predict(grid))
    shown = clf.predict(dmap.inverse_transform(comparison["positions"]))
    assert np.array_equal(comparison["shown"], shown)
    assert comparison["agreement"] == pytest.approx(np.mean(shown == plane.predict(grid)))
    disp.plot_on_map(dmap)
    assert len(disp.map_points_.get_offsets()) == 36
    assert f"{comparison['agreement']:.0%}" in disp.map_ax_.get_title()
    with pytest.raises(ValueError, match="No map comparison"):
        PlanarSliceDisplay.from_estimator(plane).plot_on_map(dmap)
    plt.close("all")
