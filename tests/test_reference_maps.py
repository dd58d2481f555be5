"""The same seeds give the same maps as the reference written before the code was
reorganised (``tests/data/make_reference_maps.py``): bit for bit."""

import numpy as np
import pytest

from .data.make_reference_maps import (
    HERE,
    SETTINGS,
    arrays_of,
    demo_classifier_and_samples,
    fit_setting,
    library_versions,
)

REFERENCE = np.load(HERE / "reference_maps.npz")


@pytest.fixture(scope="module")
def demo():
    return demo_classifier_and_samples()


@pytest.mark.parametrize("name", list(SETTINGS))
def test_maps_are_bit_identical_to_the_reference(demo, name):
    arrays = arrays_of(name, fit_setting(name, *demo))
    assert sorted(arrays) == sorted(k for k in REFERENCE.files if k.startswith(f"{name}/"))
    # Our own work (probabilities, exact neighbour graph, classifier rows) does not
    # depend on the layout library; the layout and what follows it may change with
    # umap-learn's or numba's version, so it is compared where those are the same.
    same_layout_engine = str(REFERENCE["versions"]) == library_versions()
    for key, value in arrays.items():
        if key.split("/")[1] in ("knn_indices", "knn_distances", "rows") or same_layout_engine:
            np.testing.assert_array_equal(value, REFERENCE[key], err_msg=key)
