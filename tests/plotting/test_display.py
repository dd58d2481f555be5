import matplotlib.pyplot as plt
import numpy as np
import pytest

from didi import DecisionMap, DecisionMapDisplay
from didi._proba import label_indices
from didi.plotting._decision_map_display import background_image, class_colors


@pytest.fixture(scope="module")
def fitted(blobs):
    X, y, clf = blobs
    y_shown = y.copy()
    y_shown[:3] = (y[:3] + 1) % 3  # three points whose true label the classifier misses
    return DecisionMap(clf, n_neighbors=15, resolution=20, random_state=0).fit(X, y_shown)


def test_from_estimator_draws_everything(fitted, tmp_path):
    disp = DecisionMapDisplay.from_estimator(fitted, title="blobs")
    assert disp.ax_.get_title() == "blobs"
    assert disp.figure_ is disp.ax_.figure
    assert disp.image_.get_array().shape == (20, 20, 3)
    assert len(disp.scatter_.get_offsets()) == len(fitted.embedding_)
    assert len(disp.errors_.get_offsets()) == 3
    legend = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert legend[:3] == ["0", "1", "2"]
    disp.figure_.savefig(tmp_path / "map.png")
    disp.figure_.savefig(tmp_path / "map.svg")
    assert (tmp_path / "map.png").stat().st_size > 1000
    assert (tmp_path / "map.svg").read_text().startswith("<?xml")
    plt.close(disp.figure_)


def test_points_take_the_colour_of_their_true_class(fitted):
    disp = DecisionMapDisplay.from_estimator(fitted, legend=False)
    colors = class_colors(3)
    facecolors = disp.scatter_.get_facecolors()[:, :3]
    assert np.allclose(facecolors, colors[label_indices(fitted.y_, fitted.classes_)])
    plt.close(disp.figure_)


def test_draws_on_given_axes_and_without_labels(blobs):
    X, _, clf = blobs
    dm = DecisionMap(clf, n_neighbors=15, resolution=10, random_state=0).fit(X)
    fig, ax = plt.subplots()
    disp = DecisionMapDisplay.from_estimator(dm, ax=ax)
    assert disp.ax_ is ax
    assert disp.errors_ is None
    plt.close(fig)


def test_class_colours_do_not_depend_on_which_classes_are_present():
    # The reference divides the class index by the largest class present in the
    # grid, so a class's colour changes when another class vanishes.
    entropy = np.zeros((1, 3))
    only_low = background_image(np.array([[0, 1, 2]]), entropy, class_colors(10))
    with_high = background_image(np.array([[0, 1, 9]]), entropy, class_colors(10))
    assert np.allclose(only_low[0, :2], with_high[0, :2])


def test_certainty_is_absolute_not_rescaled_to_the_grid():
    # The reference divides entropy by its grid maximum, so the least certain cell
    # is always white. Here a grid of confident cells stays coloured.
    colors = class_colors(3)
    labels = np.zeros((2, 2), dtype=int)
    image = background_image(labels, np.full((2, 2), 0.1), colors)
    assert not np.allclose(image, 1.0)
    assert np.allclose(background_image(labels, np.ones((2, 2)), colors), 1.0)
    # Certain cells show the class colour at the configured strength, monotone in entropy.
    sure = background_image(labels, np.zeros((2, 2)), colors)[0, 0]
    unsure = background_image(labels, np.full((2, 2), 0.5), colors)[0, 0]
    assert np.all(np.abs(sure - 1) >= np.abs(unsure - 1))


def test_many_classes_get_distinct_colours():
    colors = class_colors(30)
    assert len({tuple(np.round(c, 6)) for c in colors}) == 30


def test_y_length_checked(fitted):
    with pytest.raises(ValueError, match="labels for"):
        DecisionMapDisplay.from_estimator(fitted, y=[0, 1])
