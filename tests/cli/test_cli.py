import json
import subprocess
import sys

import numpy as np

from didi.cli import main
from didi.cli._output import UsageError
from didi.decision_map._quality import FIT_SCORE_NAMES, SCORE_NAMES


def test_demo_writes_the_map_and_the_scores(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--output-dir", str(out), "--n-samples", "150", "--resolution", "15"]) == 0
    printed = capsys.readouterr().out
    for label in ("Q_kNN-E", "Q_kNN", "Q_data", "Q_not_data"):
        assert label in printed
    result = json.loads((out / "scores.json").read_text())
    assert set(result["scores"]) == {*SCORE_NAMES, *FIT_SCORE_NAMES}
    assert all(0 <= result["scores"][name] <= 1 for name in SCORE_NAMES)
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


def map_argv(data, model, out=None):
    """``didi map`` on saved samples and a pickled model (into ``out`` when given)."""
    argv = ["map", "--data", str(data), "--model", str(model), "--allow-pickle"]
    return argv if out is None else [*argv, "--output-dir", str(out)]


def test_map_draws_a_saved_classifier_on_saved_samples(tmp_path, capsys, digits, digits_mlp):
    data, model = _saved_problem(tmp_path, digits, digits_mlp)
    out = tmp_path / "out"
    argv = map_argv(data, model, out)
    argv += ["--n-samples", "120", "--n-neighbors", "10", "--resolution", "12"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Decision map of 120 samples" in printed and "Q_not_data" in printed
    result = json.loads((out / "scores.json").read_text())
    assert result["n_samples"] == 120 and result["parameters"]["n_neighbors"] == 10
    assert all(0 <= result["scores"][name] <= 1 for name in SCORE_NAMES)
    assert (out / "decision_map.png").read_bytes().startswith(b"\x89PNG")
    assert "<canvas" in (out / "decision_map.html").read_text(encoding="utf-8")
    saved = np.load(out / "embedding.npz")
    assert saved["embedding"].shape == (120, 2) and saved["y"].shape == (120,)
    # The labels saved are a subset of the file's, in its order.
    assert set(saved["y"]) <= set(digits[1][:160])


def run(argv, capsys):
    """Exit status and the one line printed on stderr."""
    status = main(argv)
    return status, capsys.readouterr().err.strip()


def test_map_explains_bad_files_in_one_line(tmp_path, digits, digits_mlp, capsys):
    import joblib

    data, model = _saved_problem(tmp_path, digits, digits_mlp)
    base = ["map", "--data", str(data), "--model", str(model), "--allow-pickle"]
    status, err = run([*base, "--x-key", "images"], capsys)
    assert status == 2
    assert err.startswith("didi map: error: --data") and "no array 'images'" in err
    assert "--x-key" in err and "\n" not in err
    joblib.dump({"not": "a model"}, tmp_path / "dict.joblib")
    status, err = run(
        ["map", "--data", str(data), "--model", str(tmp_path / "dict.joblib"), "--allow-pickle"],
        capsys,
    )
    assert status == 2 and "has no predict_proba" in err
    status, err = run(
        ["map", "--data", str(tmp_path / "missing.npz"), "--model", str(model), "--allow-pickle"],
        capsys,
    )
    assert status == 2 and "missing.npz does not exist" in err
    (tmp_path / "text.npz").write_text("not an archive")
    status, err = run(
        ["map", "--data", str(tmp_path / "text.npz"), "--model", str(model), "--allow-pickle"],
        capsys,
    )
    assert status == 2 and "is not a .npz file of arrays" in err
    (tmp_path / "text.joblib").write_text("not a pickle")
    status, err = run(
        ["map", "--data", str(data), "--model", str(tmp_path / "text.joblib"), "--allow-pickle"],
        capsys,
    )
    assert status == 2 and "could not be loaded with joblib" in err


def test_debug_shows_the_traceback(tmp_path, digits, digits_mlp):
    import pytest

    data, model = _saved_problem(tmp_path, digits, digits_mlp)
    with pytest.raises(UsageError, match="has no array 'images'"):
        main(
            [
                *map_argv(data, model),
                "--x-key",
                "images",
                "--debug",
            ]
        )


class Exploding:
    """A classifier that fails when asked: proves that a run stopped before the fit."""

    classes_ = np.arange(10)

    def predict_proba(self, X):
        raise ValueError("the classifier was called")


def test_options_and_the_output_folder_are_checked_before_the_fit(tmp_path, digits, capsys):
    import joblib

    data, _ = _saved_problem(tmp_path, digits, None)
    model = tmp_path / "exploding.joblib"
    joblib.dump(Exploding(), model)
    base = ["map", "--data", str(data), "--model", str(model), "--allow-pickle"]
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for extra, message in (
        (["--output-dir", str(a_file)], f"--output-dir {a_file} exists and is not a folder"),
        (["--lam", "2"], r"--lam must be one of 'auto' or a finite number in [0, 1]; got 2.0"),
        (["--lam", "nan"], r"--lam must be one of 'auto' or a finite number in [0, 1]; got nan"),
        (["--n-neighbors", "1"], "--n-neighbors must be an integer in [2, inf); got 1"),
        (["--resolution", "1"], "--resolution must be an integer in [2, inf); got 1"),
        (["--n-jobs", "0"], "--n-jobs must be None, an integer in [1, inf)"),
        (["--image-shape", "9x9"], "--image-shape 9x9 holds 81 values, but a sample has 64"),
    ):
        status, err = run([*base, *extra], capsys)
        assert status == 2, extra
        assert message in err, (extra, err)  # not "the classifier was called"
    assert not list(tmp_path.glob(".*")), "no staging folder is left behind"


def test_a_run_that_fails_late_leaves_the_previous_output_whole(
    tmp_path, digits, digits_mlp, capsys, monkeypatch
):
    from didi import DecisionMap

    data, model = _saved_problem(tmp_path, digits, digits_mlp)
    out = tmp_path / "out"
    argv = map_argv(data, model, out)
    assert main([*argv, "--n-neighbors", "10", "--resolution", "8"]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    assert sorted(before) == [
        "decision_map.html", "decision_map.png", "embedding.npz", "scores.json"
    ]  # fmt: skip

    def failing_page(self, *args, **kwargs):
        raise ValueError("the page failed late")

    # The picture of the new map is written before the page fails.
    monkeypatch.setattr(DecisionMap, "to_html", failing_page)
    capsys.readouterr()
    status, err = run([*argv, "--n-neighbors", "12", "--resolution", "12"], capsys)
    assert status == 2 and "the page failed late" in err
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_interrupted_run_writes_nothing(tmp_path, digits, digits_mlp, capsys, monkeypatch):
    from didi.cli import _commands

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_commands, "fit_and_write", interrupted)
    data, model = _saved_problem(tmp_path, digits, digits_mlp)
    out = tmp_path / "out"
    status, err = run(
        [
            *map_argv(data, model),
            "--output-dir",
            str(out),
        ],
        capsys,
    )
    assert status == 130 and "interrupted; nothing was written" in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_map_help_explains_every_option():
    done = subprocess.run(
        [sys.executable, "-m", "didi", "map", "--help"], capture_output=True, text=True, check=True
    )
    for option in ("--data", "--model", "--x-key", "--y-key", "--output-dir", "--n-samples",
                   "--lam", "--a", "--n-neighbors", "--resolution", "--random-state",
                   "--n-jobs", "--verbose"):  # fmt: skip
        assert option in done.stdout
    assert "trust" in done.stdout


def test_cli_refuses_bad_sizes_and_shapes(tmp_path, digits, digits_mlp, capsys):
    import pytest

    status, err = run(["demo", "--n-samples", "5", "--output-dir", str(tmp_path)], capsys)
    assert status == 2 and "--n-samples must be between 40 and 1697" in err
    data, model = _saved_problem(tmp_path, digits, digits_mlp)
    np.savez(tmp_path / "short.npz", X=digits[0][:50], y=digits[1][:40])
    status, err = run(
        ["map", "--data", str(tmp_path / "short.npz"), "--model", str(model), "--allow-pickle"],
        capsys,
    )
    assert status == 2 and "50 samples ('X') but 40 labels" in err
    status, err = run(
        [*map_argv(data, model), "--n-samples", "0"],
        capsys,
    )
    assert status == 2 and "--n-samples must be at least 2" in err
    with pytest.raises(SystemExit):  # argparse's own usage error, exit status 2
        main(
            [
                *map_argv(data, model),
                "--image-shape",
                "8by8",
            ]
        )


def test_the_output_folder_may_be_a_link_and_is_made_with_ordinary_permissions(
    tmp_path, digits, digits_mlp
):
    import os

    data, model = _saved_problem(tmp_path, digits, digits_mlp)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "link"
    link.symlink_to(elsewhere, target_is_directory=True)
    argv = ["--n-neighbors", "10", "--resolution", "8"]
    assert main([*map_argv(data, model, link), *argv]) == 0
    assert sorted(p.name for p in elsewhere.iterdir()) == [
        "decision_map.html", "decision_map.png", "embedding.npz", "scores.json"
    ]  # fmt: skip
    fresh = tmp_path / "fresh"
    assert main([*map_argv(data, model, fresh), *argv]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o777 & ~umask


def test_lam_takes_auto_or_a_number():
    from didi.cli._main import build_parser

    parser = build_parser()
    base = ["map", "--data", "x.npz", "--model", "m.joblib"]
    assert parser.parse_args([*base, "--lam", "auto"]).lam == "auto"
    assert parser.parse_args([*base, "--lam", "0.4"]).lam == 0.4
    assert parser.parse_args(base).lam == 0.65


def test_scores_of_samples_without_labels_are_strict_json(tmp_path, capsys, digits, digits_mlp):
    import joblib

    X, _ = digits
    data, model = tmp_path / "unlabelled.npz", tmp_path / "model.joblib"
    np.savez(data, X=X[:100])
    joblib.dump(digits_mlp, model)
    argv = [*map_argv(data, model, tmp_path / "out"), "--n-neighbors", "10", "--resolution", "8"]
    assert main(argv) == 0
    assert "Acc_m" in capsys.readouterr().out

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    text = (tmp_path / "out" / "scores.json").read_text()
    result = json.loads(text, parse_constant=refuse)
    assert result["scores"]["acc_m"] is None and result["lam"] == 0.65
