import json
import subprocess
import sys

import numpy as np

from didi.__main__ import main


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
