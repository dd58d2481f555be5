import json
import subprocess
import sys

import numpy as np

from didi.cli import main


def test_demo_writes_the_map_and_the_scores(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--output-dir", str(out), "--n-samples", "150", "--resolution", "15"]) == 0
    printed = capsys.readouterr().out
    for label in ("Q_kNN-E", "Q_kNN", "Q_data", "Q_not_data"):
        assert label in printed
    result = json.loads((out / "scores.json").read_text())
    assert set(result["scores"]) == {"q_knn_e", "q_knn", "q_data", "q_not_data"}
    assert all(0 <= v <= 1 for v in result["scores"].values())
    assert result["n_samples"] == 150
    png = (out / "decision_map.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    page = (out / "decision_map.html").read_text(encoding="utf-8")
    assert 'id="didi-data"' in page and "data:image/png;base64" in page
    saved = np.load(out / "embedding.npz")
    assert saved["embedding"].shape == (150, 2)


def test_help_explains_the_options():
    done = subprocess.run(
        [sys.executable, "-m", "didi", "demo", "--help"], capture_output=True, text=True, check=True
    )
    for option in ("--output-dir", "--n-samples", "--resolution", "--random-state"):
        assert option in done.stdout


def test_import_does_not_pull_deep_learning_frameworks():
    code = (
        "import sys, didi; "
        "bad = [m for m in ('torch', 'tensorflow', 'keras', 'umap') if m in sys.modules]; "
        "print(bad)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _saved_problem(tmp_path, digits, digits_mlp, **arrays):
    import joblib

    X, y = digits
    data = tmp_path / "digits.npz"
    np.savez(data, **({"X": X[:160], "y": y[:160]} | arrays))
    model = tmp_path / "model.joblib"
    joblib.dump(digits_mlp, model)
    return data, model


def test_map_draws_a_saved_classifier_on_saved_samples(tmp_path, capsys, digits, digits_mlp):
    data, model = _saved_problem(tmp_path, digits, digits_mlp)
    out = tmp_path / "out"
    argv = ["map", "--data", str(data), "--model", str(model), "--output-dir", str(out)]
    argv += ["--n-samples", "120", "--n-neighbors", "10", "--resolution", "12"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Decision map of 120 samples" in printed and "Q_not_data" in printed
    result = json.loads((out / "scores.json").read_text())
    assert result["n_samples"] == 120 and result["parameters"]["n_neighbors"] == 10
    assert all(0 <= v <= 1 for v in result["scores"].values())
    assert (out / "decision_map.png").read_bytes().startswith(b"\x89PNG")
    assert "<canvas" in (out / "decision_map.html").read_text(encoding="utf-8")
    saved = np.load(out / "embedding.npz")
    assert saved["embedding"].shape == (120, 2) and saved["y"].shape == (120,)
    # The labels saved are a subset of the file's, in its order.
    assert set(saved["y"]) <= set(digits[1][:160])


def test_map_explains_bad_files(tmp_path, digits, digits_mlp):
    import joblib
    import pytest

    data, model = _saved_problem(tmp_path, digits, digits_mlp)
    with pytest.raises(SystemExit, match=r"has no array 'images'.*--x-key"):
        main(["map", "--data", str(data), "--model", str(model), "--x-key", "images"])
    joblib.dump({"not": "a model"}, tmp_path / "dict.joblib")
    with pytest.raises(SystemExit, match="has no predict_proba"):
        main(["map", "--data", str(data), "--model", str(tmp_path / "dict.joblib")])
    with pytest.raises(SystemExit, match="does not exist"):
        main(["map", "--data", str(tmp_path / "missing.npz"), "--model", str(model)])


def test_map_help_explains_every_option():
    done = subprocess.run(
        [sys.executable, "-m", "didi", "map", "--help"], capture_output=True, text=True, check=True
    )
    for option in ("--data", "--model", "--x-key", "--y-key", "--output-dir", "--n-samples",
                   "--lam", "--a", "--n-neighbors", "--resolution", "--random-state",
                   "--n-jobs", "--verbose"):  # fmt: skip
        assert option in done.stdout
    assert "trust" in done.stdout


def test_cli_refuses_bad_sizes_and_shapes(tmp_path, digits, digits_mlp):
    import pytest

    with pytest.raises(SystemExit, match="--n-samples must be between 40 and 1697"):
        main(["demo", "--n-samples", "5", "--output-dir", str(tmp_path)])
    data, model = _saved_problem(tmp_path, digits, digits_mlp)
    np.savez(tmp_path / "short.npz", X=digits[0][:50], y=digits[1][:40])
    with pytest.raises(SystemExit, match=r"50 samples .* but 40 labels"):
        main(["map", "--data", str(tmp_path / "short.npz"), "--model", str(model)])
    with pytest.raises(SystemExit, match="--n-samples must be at least 2"):
        main(["map", "--data", str(data), "--model", str(model), "--n-samples", "0"])
    with pytest.raises(SystemExit):
        main(["map", "--data", str(data), "--model", str(model), "--image-shape", "8by8"])
