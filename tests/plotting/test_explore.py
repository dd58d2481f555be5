"""Clicking a drawn map: the sample behind a point, or π⁻¹ anywhere else."""

import gc

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent

from didi import DecisionMap, DecisionMapDisplay


@pytest.fixture(scope="module")
def fitted(digits, digits_mlp):
    X, y = digits
    return DecisionMap(digits_mlp, resolution=15, random_state=0).fit(X[:150], y[:150]), X[:150]


def click(display, position, button=1):
    canvas = display.figure_.canvas
    canvas.draw()
    x, y = display.ax_.transData.transform(position)
    canvas.callbacks.process(
        "button_press_event", MouseEvent("button_press_event", canvas, x, y, button)
    )


def test_clicking_a_point_shows_its_sample(fitted):
    dmap, X = fitted
    display = DecisionMapDisplay.from_estimator(dmap)
    explorer = display.explore(dmap, image_shape=(8, 8))
    click(display, dmap.embedding_[7])
    shown = explorer.last_
    assert shown.kind == "sample"
    np.testing.assert_array_equal(dmap.embedding_[shown.index], dmap.embedding_[7])
    np.testing.assert_array_equal(shown.sample, X[shown.index])
    predicted = dmap.classes_[dmap.proba_[shown.index].argmax()]
    assert (
        shown.title == f"sample {shown.index}: true {dmap.y_[shown.index]}, predicted {predicted}"
    )
    np.testing.assert_array_equal(
        explorer.panel_ax_.images[0].get_array(), X[shown.index].reshape(8, 8)
    )


def test_clicking_the_background_shows_the_inverse_there(fitted):
    dmap, _ = fitted
    display = DecisionMapDisplay.from_estimator(dmap)
    explorer = display.explore(dmap, image_shape=(8, 8))
    corner = np.array([dmap.grid_x_[1], dmap.grid_y_[1]])  # the grid's margin, no point there
    click(display, corner)
    shown = explorer.last_
    assert shown.kind == "probe"
    np.testing.assert_allclose(shown.position, corner)
    found = dmap.probe(shown.position[None, :])
    np.testing.assert_array_equal(shown.sample, found.samples[0])
    assert shown.title == f"π⁻¹ here: {found.labels[0]} ({found.certainty[0]:.0%})"


def test_clicks_elsewhere_are_ignored_and_handlers_survive(fitted):
    dmap, _ = fitted
    display = DecisionMapDisplay.from_estimator(dmap)
    display.explore(dmap)  # no reference kept: the figure keeps the explorer
    gc.collect()
    canvas = display.figure_.canvas
    canvas.draw()
    canvas.callbacks.process(
        "button_press_event", MouseEvent("button_press_event", canvas, 1, 1, 1)
    )
    (explorer,) = display.figure_._didi_explorers.values()
    assert explorer.last_ is None
    click(display, dmap.embedding_[0])
    assert explorer.last_.kind == "sample"
    explorer.disconnect()
    explorer.last_ = None
    click(display, dmap.embedding_[0])
    assert explorer.last_ is None


def test_exploring_again_replaces_the_panel_and_the_handler(fitted):
    dmap, _ = fitted
    display = DecisionMapDisplay.from_estimator(dmap)
    first = display.explore(dmap)
    second = display.explore(dmap, image_shape=(8, 8))
    # One panel on the map, and only the new explorer answers clicks.
    assert display.ax_.child_axes == [second.panel_ax_]
    click(display, dmap.embedding_[3])
    assert first.last_ is None and second.last_.kind == "sample"
    assert second.panel_ax_.images, "the live panel shows the clicked sample"


def test_two_maps_on_one_figure_each_keep_their_explorer(fitted):
    import matplotlib.pyplot as plt

    dmap, _ = fitted
    _, (left, right) = plt.subplots(1, 2)
    displays = [DecisionMapDisplay.from_estimator(dmap, ax=ax) for ax in (left, right)]
    for display in displays:
        display.explore(dmap)  # no reference kept
    gc.collect()
    for display in displays:
        click(display, dmap.embedding_[5])
        assert display.figure_._didi_explorers[display.ax_].last_.kind == "sample"


def test_clicks_through_the_web_canvas_that_ipympl_builds_on(fitted):
    """ipympl's canvas is matplotlib's WebAgg core: the browser's messages arrive as
    ``handle_event`` calls, with y measured from the top."""
    from matplotlib.backends.backend_webagg_core import (
        FigureCanvasWebAggCore,
        FigureManagerWebAgg,
    )

    dmap, _ = fitted
    display = DecisionMapDisplay.from_estimator(dmap)
    canvas = FigureCanvasWebAggCore(display.figure_)
    FigureManagerWebAgg(canvas, 1)
    explorer = display.explore(dmap, image_shape=(8, 8))
    canvas.draw()
    x, y = display.ax_.transData.transform(dmap.embedding_[7])
    height = canvas.get_width_height()[1]
    message = {"type": "button_press", "x": x, "y": height - y, "button": 0, "buttons": 1}
    canvas.handle_event({**message, "modifiers": [], "guiEvent": None})
    assert explorer.last_.kind == "sample"
    np.testing.assert_array_equal(dmap.embedding_[explorer.last_.index], dmap.embedding_[7])


def test_clicks_on_the_panel_do_not_probe_the_map_beneath(fitted):
    dmap, _ = fitted
    display = DecisionMapDisplay.from_estimator(dmap)
    explorer = display.explore(dmap, image_shape=(8, 8))
    canvas = display.figure_.canvas
    canvas.draw()
    box = explorer.panel_ax_.get_window_extent()
    event = MouseEvent(
        "button_press_event", canvas, box.x0 + box.width / 2, box.y0 + box.height / 2, 1
    )
    canvas.callbacks.process("button_press_event", event)
    assert explorer.last_ is None
