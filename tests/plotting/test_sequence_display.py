"""Small multiples and the animation of a DecisionMapSequence."""

import copy

import numpy as np
import pytest
from PIL import Image
from sklearn.neural_network import MLPClassifier

from didi import DecisionMapSequence
from didi.plotting import DecisionMapSequenceDisplay
from didi.plotting._decision_map_display import class_colors
from didi.plotting._sequence_display import _frame_plan, map_palette


@pytest.fixture(scope="module")
def sequence(digits):
    X, y = digits
    X = X / 16
    model, checkpoints = MLPClassifier(hidden_layer_sizes=(16,), random_state=0), []
    for _ in range(3):
        model.partial_fit(X[300:], y[300:], classes=np.arange(10))
        checkpoints.append(copy.deepcopy(model))
    return DecisionMapSequence(checkpoints, n_neighbors=10, resolution=10, random_state=0).fit(
        X[:90], y[:90]
    )


def test_small_multiples_share_one_frame(sequence):
    display = DecisionMapSequenceDisplay.from_estimator(sequence, ncols=2)
    assert len(display.axes_) == 3
    extent = display.extent_
    for ax, embedding, name in zip(
        display.axes_, sequence.embeddings_, sequence.checkpoint_names_, strict=True
    ):
        np.testing.assert_allclose(ax.collections[0].get_offsets(), embedding)
        assert ax.get_xlim() == pytest.approx(extent[:2])
        assert ax.get_title().startswith(name)
    assert extent[0] <= sequence.embeddings_[..., 0].min()
    assert extent[3] >= sequence.embeddings_[..., 1].max()
    chosen = DecisionMapSequenceDisplay.from_estimator(sequence, checkpoints=[2])
    np.testing.assert_allclose(
        chosen.axes_[0].collections[0].get_offsets(), sequence.embeddings_[2]
    )


def test_the_gif_palette_holds_pure_colours_tints_and_greys():
    colors = class_colors(10)
    palette = map_palette(colors)
    assert len(palette) <= 256
    np.testing.assert_allclose(palette[:10], colors[:, :3])
    faded = 1 - 0.6 * (1 - colors[3, :3])  # a certain cell of class 3, as the map draws it
    assert np.min(np.abs(palette - faded).sum(axis=1)) < 1e-9
    assert [0.0, 0.0, 0.0] in palette.tolist() and [1.0, 1.0, 1.0] in palette.tolist()
    assert len(map_palette(class_colors(40))) <= 256 and map_palette(class_colors(201)) is None


def test_frame_plan_holds_each_map_and_glides_between():
    assert _frame_plan(2, 2, 1) == [(0, 0.0), (0, 1 / 3), (0, 2 / 3), (1, 0.0)]
    assert len(_frame_plan(4, 3, 2)) == 4 * 2 + 3 * 3


def test_animation_moves_the_points_between_checkpoints(sequence, tmp_path):
    display = DecisionMapSequenceDisplay.from_estimator(sequence)
    path = tmp_path / "training.gif"
    animation = display.animate(path, steps_between=3, hold=1, dpi=40)
    with Image.open(path) as gif:
        assert gif.n_frames == 3 + 2 * 3
        # The points and the legend keep their classes' exact colours.
        shown = {tuple(rgb) for _, rgb in gif.convert("RGB").getcolors(1 << 16)}
    for rgb in class_colors(10)[:, :3]:
        assert tuple(int(v) for v in np.round(255 * rgb)) in shown
    figure, update = display._animation_artists(point_size=5)
    _, points, _ = update((1, 0.25))
    expected = 0.75 * sequence.embeddings_[1] + 0.25 * sequence.embeddings_[2]
    np.testing.assert_allclose(points.get_offsets(), expected)
    del animation, figure


def test_animation_refuses_other_formats_and_bad_counts(sequence, tmp_path):
    display = DecisionMapSequenceDisplay.from_estimator(sequence)
    with pytest.raises(ValueError, match=r"\.gif or \.mp4"):
        display.animate(tmp_path / "training.avi")
    with pytest.raises(ValueError, match="hold"):
        display.animate(hold=0)
    with pytest.raises(ValueError, match="fps"):
        display.animate(fps=0)
    with pytest.raises(ValueError, match="ncols"):
        display.plot(ncols=0)
    with pytest.raises(ValueError, match="empty"):
        DecisionMapSequenceDisplay.from_estimator(sequence, checkpoints=[])
