"""``didi report`` from the command line: digits with a skops model, and a PyTorch
ConvNet on Fashion-MNIST with its unit analyses."""

import json

import numpy as np
import pytest

from didi.cli import main


def test_report_on_digits_with_a_skops_model(tmp_path, capsys, digits, digits_mlp):
    skops_io = pytest.importorskip("skops.io")
    X, y = digits
    data, model, out = tmp_path / "digits.npz", tmp_path / "mlp.skops", tmp_path / "report"
    np.savez(data, X=X[:160], y=y[:160])
    skops_io.dump(digits_mlp, model)
    argv = ["report", "--data", str(data), "--model", str(model), "--output-dir", str(out),
            "--image-shape", "8x8", "--resolution", "15", "--layers", "none", "--quiet",
            "--trust", "sklearn.neural_network._stochastic_optimizers.AdamOptimizer"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    figures = json.loads((out / "report.json").read_text())
    assert f"label issues         {len(figures['label_issues'])}" in printed
    assert figures["summary"]["samples"] == "160"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '"saliency":{"method":"finite_difference"' in page
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "report.json"]


def test_report_refuses_bad_options_in_one_line(tmp_path, capsys, digits, digits_mlp):
    import joblib

    X, y = digits
    data, model = tmp_path / "d.npz", tmp_path / "m.joblib"
    np.savez(data, X=X[:50], y=y[:50])
    joblib.dump(digits_mlp, model)
    base = ["report", "--data", str(data), "--model", str(model), "--allow-pickle",
            "--output-dir", str(tmp_path / "out")]  # fmt: skip
    assert main([*base, "--layers", "curvature"]) == 2
    assert "--layers must be a list of layer names" in capsys.readouterr().err
    assert main([*base, "--image-shape", "7x7"]) == 2
    assert "--image-shape 7x7 holds 49 values" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_report_on_a_fashion_convnet_with_unit_analyses(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    import joblib

    from didi.datasets import load_fashion_mnist
    from didi.torch import TorchClassifier

    try:
        images, labels = load_fashion_mnist("test")
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not installed")
    X = (images.reshape(len(images), -1) / 255.0).astype(np.float32)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 5, stride=2), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 5, stride=2),
        torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(256, 10),
    )  # fmt: skip
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    train_x = torch.from_numpy(X[2000:6000]).reshape(-1, 1, 28, 28)
    train_y = torch.from_numpy(labels[2000:6000].astype(np.int64))
    for start in range(0, 4000, 100):  # one epoch: enough to be well above chance
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(train_x[start:start + 100]),
                                                 train_y[start:start + 100])  # fmt: skip
        loss.backward()
        optimiser.step()
    data, model, out = tmp_path / "fashion.npz", tmp_path / "convnet.joblib", tmp_path / "rep"
    np.savez(data, X=X[:150], y=labels[:150])
    joblib.dump(TorchClassifier(net, input_shape=(1, 28, 28)), model)
    argv = ["report", "--data", str(data), "--model", str(model), "--allow-pickle",
            "--output-dir", str(out), "--image-shape", "28x28", "--resolution", "15",
            "--layers", "none", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '"saliency":{"method":"gradient"' in page
    assert '"layers":["1","3"]' in page  # the two ReLU modules
    figures = json.loads((out / "report.json").read_text())
    accuracy = float(figures["summary"]["accuracy on these samples"].rstrip("%")) / 100
    assert accuracy > 0.5
