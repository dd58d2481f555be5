"""``didi map`` opens models in formats that run no code from the file; a pickle only
with --allow-pickle. Each format is exported here, mapped from the command line and
compared with the map of the same model in memory."""

import numpy as np
import pytest

from didi import DecisionMap
from didi.cli import main

#: The command line's defaults, with a small neighbourhood and grid.
PARAMS = dict(lam=0.65, a=500.0, n_neighbors=10, resolution=10, random_state=0)


@pytest.fixture
def data(tmp_path, digits):
    X, y = digits
    path = tmp_path / "digits.npz"
    np.savez(path, X=X[:160], y=y[:160])
    return path, X[:160], y[:160]


def map_from_the_command_line(data_path, model_path, out, *extra):
    argv = ["map", "--data", str(data_path), "--model", str(model_path), "--output-dir", str(out)]
    argv += ["--n-neighbors", "10", "--resolution", "10", *extra]
    assert main(argv) == 0
    with np.load(out / "embedding.npz") as saved:
        return saved["embedding"]


def map_in_memory(clf, X, y):
    return DecisionMap(clf, **PARAMS).fit(X, y).embedding_


def test_a_pickle_opens_only_when_allowed(tmp_path, data, digits_mlp, capsys):
    import joblib

    data_path, X, y = data
    model = tmp_path / "model.joblib"
    joblib.dump(digits_mlp, model)
    argv = ["map", "--data", str(data_path), "--model", str(model)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is a pickle: opening it runs whatever code it holds" in err
    assert "--allow-pickle" in err and ".onnx" in err and not (tmp_path / "didi-output").exists()
    got = map_from_the_command_line(data_path, model, tmp_path / "out", "--allow-pickle")
    np.testing.assert_array_equal(got, map_in_memory(digits_mlp, X, y))


def test_unknown_formats_are_named(tmp_path, data, capsys):
    data_path, _, _ = data
    model = tmp_path / "model.h5"
    model.write_bytes(b"\x00")
    assert main(["map", "--data", str(data_path), "--model", str(model)]) == 2
    assert "unknown format '.h5'; didi reads .onnx, .skops" in capsys.readouterr().err


def test_skops_files_open_with_the_types_the_user_trusts(tmp_path, data, digits_mlp, capsys):
    skops_io = pytest.importorskip("skops.io")
    data_path, X, y = data
    model = tmp_path / "model.skops"
    skops_io.dump(digits_mlp, model)
    assert main(["map", "--data", str(data_path), "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert "skops does not trust by default" in err and "AdamOptimizer" in err
    trust = ["--trust", "sklearn.neural_network._stochastic_optimizers.AdamOptimizer"]
    got = map_from_the_command_line(data_path, model, tmp_path / "out", *trust)
    np.testing.assert_array_equal(got, map_in_memory(digits_mlp, X, y))


def test_onnx_models_are_mapped_through_onnxruntime(tmp_path, data, digits_mlp):
    pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    from didi.onnx import OnnxClassifier

    data_path, X, y = data
    model = tmp_path / "model.onnx"
    model.write_bytes(skl2onnx.to_onnx(digits_mlp, X[:1].astype(np.float32)).SerializeToString())
    onnx_clf = OnnxClassifier(str(model))
    # The converted model computes in float32; its {label: p} maps become columns.
    np.testing.assert_allclose(onnx_clf.predict_proba(X), digits_mlp.predict_proba(X), atol=1e-4)
    np.testing.assert_array_equal(onnx_clf.classes_, digits_mlp.classes_)
    got = map_from_the_command_line(data_path, model, tmp_path / "out")
    np.testing.assert_array_equal(got, map_in_memory(onnx_clf, X, y))


@pytest.fixture
def network():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))


def test_torchscript_and_exported_programs_are_mapped(tmp_path, data, network):
    import torch

    from didi.torch import TorchClassifier

    data_path, X, y = data
    expected = map_in_memory(TorchClassifier(network), X, y)
    scripted = tmp_path / "model.pt"
    torch.jit.script(network).save(str(scripted))
    got = map_from_the_command_line(
        data_path, scripted, tmp_path / "script", "--model-output", "logits"
    )
    np.testing.assert_array_equal(got, expected)
    exported = tmp_path / "model.pt2"
    # The batch dimension is dynamic: didi hands the model batches of any size.
    batch = {0: torch.export.Dim("batch")}
    program = torch.export.export(network, (torch.zeros(2, 64),), dynamic_shapes=(batch,))
    torch.export.save(program, str(exported))
    got = map_from_the_command_line(data_path, exported, tmp_path / "export")
    np.testing.assert_array_equal(got, expected)


def test_keras_files_are_mapped_in_safe_mode(tmp_path, data):
    keras = pytest.importorskip("keras")
    from didi.keras import KerasModelClassifier

    data_path, X, y = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    got = map_from_the_command_line(data_path, path, tmp_path / "out")
    np.testing.assert_array_equal(got, map_in_memory(KerasModelClassifier(model), X, y))
