"""The Fashion-MNIST reader, on small IDX files written here."""

import gzip

import numpy as np
import pytest

from didi.datasets import FASHION_MNIST_CLASSES, load_fashion_mnist


def write_idx(path, array, magic_dims=None):
    dims = array.ndim if magic_dims is None else magic_dims
    header = (0x0800 + dims).to_bytes(4, "big")
    header += b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def fake_home(tmp_path):
    rng = np.random.default_rng(0)
    data = {}
    for part, n in (("train", 6), ("t10k", 4)):
        images = rng.integers(0, 256, (n, 28, 28))
        labels = rng.integers(0, 10, n)
        write_idx(tmp_path / f"{part}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{part}-labels-idx1-ubyte.gz", labels)
        data[part] = images, labels
    return tmp_path, data


def test_round_trip(fake_home):
    home, data = fake_home
    images, labels = load_fashion_mnist("test", data_home=home)
    np.testing.assert_array_equal(images, data["t10k"][0])
    np.testing.assert_array_equal(labels, data["t10k"][1])
    assert images.dtype == np.uint8 and images.shape == (4, 28, 28)
    both, both_labels = load_fashion_mnist("all", data_home=home)
    np.testing.assert_array_equal(both, np.concatenate([data["train"][0], data["t10k"][0]]))
    assert len(both_labels) == 10 and len(FASHION_MNIST_CLASSES) == 10


def test_environment_variable(fake_home, monkeypatch):
    home, data = fake_home
    monkeypatch.setenv("DIDI_FASHION_MNIST", str(home))
    np.testing.assert_array_equal(load_fashion_mnist()[1], data["train"][1])


def test_errors(fake_home, tmp_path):
    home, _ = fake_home
    with pytest.raises(ValueError, match="subset must be"):
        load_fashion_mnist("validation", data_home=home)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(data_home=tmp_path / "nowhere")
    with gzip.open(home / "t10k-labels-idx1-ubyte.gz", "wb") as fh:  # 6 labels, header says 4
        fh.write((0x0801).to_bytes(4, "big") + (4).to_bytes(4, "big") + bytes(6))
    with pytest.raises(ValueError, match=r"holds 6 bytes of data where its header \[4\] says 4"):
        load_fashion_mnist("test", data_home=home)
    write_idx(home / "t10k-labels-idx1-ubyte.gz", np.zeros(4), magic_dims=3)
    with pytest.raises(ValueError, match="not an IDX file of 1-D"):
        load_fashion_mnist("test", data_home=home)
    write_idx(home / "t10k-labels-idx1-ubyte.gz", np.zeros(3))
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        load_fashion_mnist("test", data_home=home)
