"""The export for TensorBoard's embedding projector."""

import json

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression

from didi import DecisionMap, NearDuplicates


@pytest.fixture(scope="module")
def digits_map(digits):
    X, y = digits
    labels = np.array([f"digit\t{v}" if v == 3 else str(v) for v in y[:90]])
    clf = LogisticRegression(max_iter=3000).fit(
        X[300:], np.where(y[300:] == 3, "digit\t3", y[300:].astype(str))
    )
    return DecisionMap(clf, n_neighbors=10, resolution=8, random_state=0).fit(X[:90], labels)


def test_tensors_metadata_and_configs(digits_map, tmp_path):
    folder = digits_map.to_projector(tmp_path / "projector", label_issues=[4, 7])
    tensors = np.loadtxt(folder / "tensors.tsv", delimiter="\t")
    np.testing.assert_allclose(tensors, digits_map.proba_, rtol=1e-6, atol=1e-12)
    rows = (folder / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    header = rows[0].split("\t")
    assert header == ["index", "label", "predicted", "certainty", "unfamiliar",
                      "duplicate set", "label issue"]  # fmt: skip
    assert len(rows) == 91 and all(len(row.split("\t")) == 7 for row in rows)
    cells = [row.split("\t") for row in rows[1:]]
    assert [c[6] for c in cells].count("True") == 2 and cells[4][6] == "True"
    three = next(i for i, v in enumerate(digits_map.y_) if v == "digit\t3")
    assert cells[three][1] == "digit 3"  # the tab inside the label became a space
    assert cells[0][2] == str(digits_map.classes_[digits_map.proba_[0].argmax()])
    pbtxt = (folder / "projector_config.pbtxt").read_text()
    assert 'tensor_path: "tensors.tsv"' in pbtxt and 'metadata_path: "metadata.tsv"' in pbtxt
    assert "sprite" not in pbtxt  # no image shape: flat samples are no images
    config = json.loads((folder / "projector_config.json").read_text())
    assert config["embeddings"][0]["tensorShape"] == [90, 10]


def test_sprite_of_thumbnails(digits_map, tmp_path):
    duplicates = NearDuplicates().fit(digits_map.projection_.metric_.X_fit_)
    folder = digits_map.to_projector(
        tmp_path / "p", vectors="embedding", image_shape=(8, 8), duplicates=duplicates
    )
    with Image.open(folder / "sprite.png") as image:
        assert image.size == (10 * 8, 10 * 8)  # ceil(sqrt(90)) = 10 per row
        pixels = np.asarray(image.convert("L"), dtype=float) / 255
    first = digits_map.projection_.metric_.X_fit_[0].reshape(8, 8)
    expected = 1 - (first - first.min()) / (first.max() - first.min())
    np.testing.assert_allclose(pixels[:8, :8], expected, atol=0.02)
    pbtxt = (folder / "projector_config.pbtxt").read_text()
    assert "single_image_dim: 8" in pbtxt and 'image_path: "sprite.png"' in pbtxt
    tensors = np.loadtxt(folder / "tensors.tsv", delimiter="\t")
    np.testing.assert_allclose(tensors, digits_map.embedding_, rtol=1e-6)
    sets = [line.split("\t")[5] for line in (folder / "metadata.tsv").read_text().splitlines()[1:]]
    np.testing.assert_array_equal(np.array(sets, dtype=int) >= 0, duplicates.labels_ >= 0)
    with pytest.raises(ValueError, match="vectors"):
        digits_map.to_projector(tmp_path / "q", vectors="logits")
