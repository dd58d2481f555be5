"""Readers for image data sets that are installed locally; nothing is downloaded."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

#: Where Debian's ``dataset-fashion-mnist`` package puts the files.
FASHION_MNIST_HOME = Path("/usr/share/datasets/fashion-mnist")

#: Fashion-MNIST's class names, in label order.
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_PARTS = {"train": "train", "test": "t10k"}


def load_fashion_mnist(
    subset: str = "train", *, data_home: str | os.PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST images and labels from the original IDX files on disk.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The 60,000 training images, the 10,000 test images, or both (train first).
    data_home : str or path-like, default=None
        Folder holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``. ``None``
        reads ``$DIDI_FASHION_MNIST`` when set, else Debian's location
        ``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``).

    Returns
    -------
    images : ndarray of shape (n, 28, 28), dtype uint8
    labels : ndarray of shape (n,), dtype uint8
        Class indices; :data:`FASHION_MNIST_CLASSES` names them.

    Examples
    --------
    >>> from didi.datasets import load_fashion_mnist
    >>> images, labels = load_fashion_mnist("test")  # doctest: +SKIP
    >>> images.shape, labels[:3]  # doctest: +SKIP
    ((10000, 28, 28), array([9, 2, 1], dtype=uint8))
    """
    parts = list(_PARTS.values()) if subset == "all" else [_PARTS.get(subset)]
    if None in parts:
        raise ValueError(f"subset must be 'train', 'test' or 'all'; got {subset!r}.")
    home = Path(data_home or os.environ.get("DIDI_FASHION_MNIST") or FASHION_MNIST_HOME)
    missing = [
        name
        for part in parts
        for name in (f"{part}-images-idx3-ubyte.gz", f"{part}-labels-idx1-ubyte.gz")
        if not (home / name).is_file()
    ]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST files not found in {home}: {', '.join(missing)}. On Debian "
            "or Ubuntu: apt-get install dataset-fashion-mnist; or pass data_home= (or "
            "set DIDI_FASHION_MNIST) to the folder holding them."
        )
    images, labels = [], []
    for part in parts:
        images.append(_read_idx(home / f"{part}-images-idx3-ubyte.gz", n_dims=3))
        labels.append(_read_idx(home / f"{part}-labels-idx1-ubyte.gz", n_dims=1))
        if len(images[-1]) != len(labels[-1]):
            raise ValueError(
                f"{home}: {part} has {len(images[-1])} images but {len(labels[-1])} labels."
            )
    return np.concatenate(images), np.concatenate(labels)


def _read_idx(path: Path, n_dims: int) -> np.ndarray:
    """One gzipped IDX file of unsigned bytes (magic 0x0000080N, then N big-endian sizes)."""
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    header = 4 + 4 * n_dims
    magic = int.from_bytes(data[:4], "big")
    if magic != 0x0800 + n_dims:
        raise ValueError(
            f"{path} is not an IDX file of {n_dims}-D unsigned bytes (magic {magic:#x})."
        )
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims)]
    if len(data) - header != int(np.prod(shape)):
        raise ValueError(
            f"{path} holds {len(data) - header} bytes of data where its header "
            f"{shape} says {int(np.prod(shape))}."
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)
