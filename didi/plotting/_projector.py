"""A fitted map's samples for TensorBoard's embedding projector, without TensorFlow."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ._findings import Findings
from ._samples import as_image, colour_range

#: TensorBoard's projector reads sprites of at most 8192 × 8192 pixels.
MAX_SPRITE_SIDE = 8192

VECTORS = ("proba", "embedding", "samples")


def _tsv_cell(value) -> str:
    """A metadata cell: tabs and line breaks would break the table's rows and columns."""
    return " ".join(str(value).split())


def metadata_rows(decision_map, findings: Findings | None) -> list[list[str]]:
    """The header and one row per sample: index, true and predicted label, certainty,
    and what was found about the sample."""
    from ..distance._divergence import normalized_entropy

    n = len(decision_map.embedding_)
    predicted = decision_map.classes_[decision_map.proba_.argmax(axis=1)]
    certainty = 1.0 - normalized_entropy(decision_map.proba_)
    true = decision_map.y_ if decision_map.y_ is not None else np.full(n, "")
    header = ["index", "label", "predicted", "certainty"]
    columns = [np.arange(n), true, predicted, np.round(certainty, 4)]
    if findings is not None:
        duplicate_set = np.full(n, -1)
        for number, members in enumerate(findings.duplicate_sets):
            duplicate_set[members] = number
        header += ["unfamiliar", "duplicate set", "label issue"]
        columns += [
            np.isin(np.arange(n), findings.unfamiliar),
            duplicate_set,
            np.isin(np.arange(n), findings.label_issues),
        ]
    rows = [[_tsv_cell(column[i]) for column in columns] for i in range(n)]
    return [header, *rows]


def sprite(samples: np.ndarray, image_shape: tuple[int, ...] | None):
    """The samples as one square grid of thumbnails, and one thumbnail's size; ``None``
    when they are not images or the grid would exceed TensorBoard's limit."""
    images = [as_image(sample, image_shape) for sample in samples]
    if images[0] is None:
        return None
    height, width = np.asarray(images[0]).shape[:2]
    per_row = math.ceil(math.sqrt(len(images)))
    if per_row * max(height, width) > MAX_SPRITE_SIDE:
        return None
    grid = np.ones((per_row * height, per_row * width, 3))
    for k, image in enumerate(images):
        image = np.asarray(image, dtype=np.float64)
        if image.ndim == 2:  # ink is dark, as the other pictures draw it
            low, high = image.min(), image.max()
            image = 1 - (image - low) / (high - low if high > low else 1.0)
            image = np.repeat(image[..., None], 3, axis=-1)
        else:
            image = colour_range(image)[..., :3]
        row, column = divmod(k, per_row)
        grid[row * height : (row + 1) * height, column * width : (column + 1) * width] = image
    return grid, (height, width)


def write_projector(
    decision_map,
    directory,
    *,
    vectors: str = "proba",
    image_shape: tuple[int, ...] | None = None,
    findings: Findings | None = None,
) -> Path:
    """Write ``tensors.tsv``, ``metadata.tsv``, ``sprite.png`` (for images),
    ``projector_config.pbtxt`` (TensorBoard: ``tensorboard --logdir DIRECTORY``) and
    ``projector_config.json`` (the standalone projector's "Load" dialog) into ``directory``."""
    import matplotlib.image

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    samples = decision_map.projection_.metric_.X_fit_
    table = {
        "proba": decision_map.proba_,
        "embedding": decision_map.embedding_,
        "samples": samples.reshape(len(samples), -1),
    }[vectors]
    np.savetxt(directory / "tensors.tsv", table, delimiter="\t", fmt="%.7g")
    rows = metadata_rows(decision_map, findings)
    (directory / "metadata.tsv").write_text(
        "\n".join("\t".join(row) for row in rows) + "\n", encoding="utf-8"
    )
    made = sprite(samples, image_shape)
    dims = None
    if made is not None:
        grid, dims = made
        matplotlib.image.imsave(directory / "sprite.png", grid)
    pbtxt, config = projector_configs(f"didi {vectors}", table.shape, dims)
    (directory / "projector_config.pbtxt").write_text(pbtxt, encoding="utf-8")
    (directory / "projector_config.json").write_text(
        json.dumps(config, indent=2) + "\n", encoding="utf-8"
    )
    return directory


def projector_configs(
    name: str, shape: tuple[int, ...], sprite_dims: tuple[int, int] | None
) -> tuple[str, dict]:
    """TensorBoard's ``projector_config.pbtxt`` and the standalone projector's JSON."""
    lines = [f'  tensor_name: "{name}"', '  tensor_path: "tensors.tsv"',
             '  metadata_path: "metadata.tsv"']  # fmt: skip
    embedding: dict = {"tensorName": name, "tensorShape": list(shape),
                       "tensorPath": "tensors.tsv", "metadataPath": "metadata.tsv"}  # fmt: skip
    if sprite_dims is not None:
        height, width = sprite_dims
        lines += ["  sprite {", '    image_path: "sprite.png"',
                  f"    single_image_dim: {width}", f"    single_image_dim: {height}",
                  "  }"]  # fmt: skip
        embedding["sprite"] = {"imagePath": "sprite.png", "singleImageDim": [width, height]}
    return "embeddings {\n" + "\n".join(lines) + "\n}\n", {"embeddings": [embedding]}
