"""Decision maps across training: aligned against independently fitted maps.

An MLP is trained for 10 epochs on 12,000 Fashion-MNIST training images on the
CPU, recorded after every epoch with ``CheckpointRecorder`` (the two-line hook of a
plain PyTorch loop); 2,000 test images are then mapped under every checkpoint,
aligned (``alignment_strength`` 0.01, the default, and 0.003) and independently
fitted under three seeds (how much the scores vary with the layout's seed alone),
side by side in one run. Reported per checkpoint: seconds and classifier rows of each
map and its quality scores; per transition: the Procrustes disparity of consecutive
maps (``scipy.spatial.procrustes``), the temporal preservation score and the share of
flipped predictions; per variant: the scores' mean difference from the independent
maps' mean, and the worst epoch. A last checkpoint equal to the one before shows what
an unchanged model costs. Needs ``dataset-fashion-mnist``. Run::

    python benchmarks/bench_sequence.py            # 2,000 samples, 10 epochs, ~8 min
    python benchmarks/bench_sequence.py --quick    # 300 samples, 3 epochs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, markdown_table, write_results

from didi import CheckpointRecorder, DecisionMapSequence
from didi.datasets import load_fashion_mnist


def fashion_mlp() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )  # fmt: skip


def record_training(X_train, y_train, X_map, epochs: int) -> CheckpointRecorder:
    """Train with Adam, recording the model after every epoch."""
    torch.manual_seed(0)
    model = fashion_mlp()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    X, y = torch.as_tensor(X_train), torch.as_tensor(y_train)
    recorder = CheckpointRecorder(X_map, torch_options={"output": "logits"})
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(X))
        for start in range(0, len(X), 128):
            batch = order[start : start + 128]
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(model(X[batch]), y[batch]).backward()
            optimiser.step()
        recorder.record(model, name=f"epoch {epoch}")
    return recorder


def warm_up(X, y) -> None:
    """Compile umap-learn's and didi's numba code before anything is timed."""
    model = torch.nn.Linear(784, 10)
    recorder = CheckpointRecorder(torch_options={"output": "logits"})
    recorder.record(model)
    with torch.no_grad():
        model.weight.mul_(2.0)
    recorder.record(model)
    recorder.sequence(n_neighbors=10, resolution=10, random_state=0).fit(X, y)


#: The maps compared: (name, DecisionMapSequence parameters).
VARIANTS = [
    ("aligned 0.01", {"alignment": "aligned", "alignment_strength": 0.01, "random_state": 0}),
    ("aligned 0.003", {"alignment": "aligned", "alignment_strength": 0.003, "random_state": 0}),
    ("independent seed 0", {"alignment": "independent", "random_state": 0}),
    ("independent seed 1", {"alignment": "independent", "random_state": 1}),
    ("independent seed 2", {"alignment": "independent", "random_state": 2}),
]
SCORES = ("q_knn", "q_not_data")


def fit_sequence(checkpoints, X, y, params: dict) -> tuple[DecisionMapSequence, float]:
    clock = time.perf_counter()
    sequence = DecisionMapSequence(checkpoints, **params).fit(X, y)
    return sequence, time.perf_counter() - clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_map, epochs = (300, 3) if args.quick else (2000, 10)
    images, labels = load_fashion_mnist("train")
    test_images, test_labels = load_fashion_mnist("test")
    X_train = (images[:12000].reshape(12000, -1) / 255).astype(np.float32)
    X_map = (test_images[:n_map].reshape(n_map, -1) / 255).astype(np.float32)
    y_train, y_map = labels[:12000].astype(np.int64), test_labels[:n_map]
    warm_up(X_map[:120], y_map[:120])
    clock = time.perf_counter()
    recorder = record_training(X_train, y_train, X_map, epochs)
    train_seconds = time.perf_counter() - clock
    checkpoints = dict(recorder.checkpoints_)
    last = list(checkpoints)[-1]
    checkpoints[f"{last} (again)"] = checkpoints[last]
    fits = {name: fit_sequence(checkpoints, X_map, y_map, params) for name, params in VARIANTS}
    results = collect(fits, recorder, y_map, train_seconds, n_map, epochs)
    name = "bench_sequence_quick" if args.quick else "bench_sequence"
    write_results(name, results, report(results))


def collect(fits, recorder, y_map, train_seconds, n_map, epochs) -> dict:
    first = next(iter(fits.values()))[0]
    per_checkpoint = []
    for k, name in enumerate(first.checkpoint_names_):
        row = {"checkpoint": name, "accuracy": float((first.proba_[k].argmax(1) == y_map).mean())}
        for variant, (seq, _) in fits.items():
            row[variant] = {
                "seconds": float(seq.fit_seconds_[k]),
                "rows": int(seq.n_classifier_rows_[k]),
                **{score: float(seq.scores_[score][k]) for score in SCORES},
            }
        per_checkpoint.append(row)
    transitions = []
    for t in range(len(first.maps_) - 1):
        row = {"to": first.checkpoint_names_[t + 1], "flips": float(first.flips_[t].mean())}
        for variant, (seq, _) in fits.items():
            scores = seq.transition_scores_
            row[variant] = {
                key: float(scores[key][t])
                for key in ("procrustes_disparity", "temporal_preservation", "movement")
            }
        transitions.append(row)
    return {
        "machine": machine_info(),
        "n_samples": n_map,
        "epochs": epochs,
        "train_seconds_with_recording": train_seconds,
        "recorded_bytes": recorder.n_bytes_,
        "total_seconds": {variant: fit[1] for variant, fit in fits.items()},
        "checkpoints": per_checkpoint,
        "transitions": transitions,
        "summary": summarise(fits),
    }


def summarise(fits) -> dict:
    """Per variant, over the checkpoints after the first (the first map is the same for
    every variant of a seed) and before the repeated one: each score's mean difference
    from the independent maps' mean, its worst epoch, and the median disparity ratio."""
    independent = [seq for name, (seq, _) in fits.items() if name.startswith("independent")]
    inside = slice(1, -1)
    summary = {}
    for variant, (seq, _) in fits.items():
        entry = {}
        for score in SCORES:
            reference = np.mean([s.scores_[score][inside] for s in independent], axis=0)
            difference = 100 * (seq.scores_[score][inside] - reference)
            entry[score] = {"mean": float(difference.mean()), "worst": float(difference.min())}
        baseline = independent[0].transition_scores_["procrustes_disparity"][:-1]
        disparity = seq.transition_scores_["procrustes_disparity"][:-1]
        entry["median_disparity_ratio"] = float(np.median(baseline / disparity))
        entry["temporal_preservation"] = float(
            np.mean(seq.transition_scores_["temporal_preservation"][:-1])
        )
        entry["seconds_per_map"] = float(np.median(seq.fit_seconds_[inside]))
        summary[variant] = entry
    return summary


def _pct(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:.1f}"


def report(results: dict) -> str:
    variants = list(results["total_seconds"])
    short = [v.replace("independent seed ", "ind. ").replace("aligned ", "al. ") for v in variants]
    head = " / ".join(short)
    rows = [
        [c["checkpoint"], _pct(c["accuracy"]), f"{c[variants[0]]['rows']:,}"]
        + [" / ".join(_pct(c[v][score]) for v in variants) for score in SCORES]
        for c in results["checkpoints"]
    ]
    checkpoint_table = markdown_table(
        ["checkpoint", "accuracy %", "classifier rows (every variant)",
         f"q_knn % ({head})", f"q_not_data % ({head})"],
        rows,
    )  # fmt: skip
    rows = [
        [
            t["to"],
            _pct(t["flips"]),
            " / ".join(f"{t[v]['procrustes_disparity']:.4f}" for v in variants),
            " / ".join(f"{t[v]['temporal_preservation']:.2f}" for v in variants),
        ]
        for t in results["transitions"]
    ]
    transition_table = markdown_table(
        ["transition to", "flipped %", f"Procrustes disparity ({head})",
         f"temporal preservation ({head})"],
        rows,
    )  # fmt: skip
    rows = [
        [v, f"{s['seconds_per_map']:.1f}", f"{s['median_disparity_ratio']:.0f}×",
         f"{s['temporal_preservation']:.2f}"]
        + [f"{s[score]['mean']:+.2f} / {s[score]['worst']:+.2f}" for score in SCORES]
        for v, s in results["summary"].items()
    ]  # fmt: skip
    summary_table = markdown_table(
        ["variant", "s per map (median)", "disparity: ind. seed 0 ÷ variant (median)",
         "temporal preservation (mean)", "q_knn vs ind. mean, points (mean / worst)",
         "q_not_data vs ind. mean, points (mean / worst)"],
        rows,
    )  # fmt: skip
    totals = ", ".join(f"{v} {s:.0f} s" for v, s in results["total_seconds"].items())
    return (
        f"# Decision maps across training ({results['n_samples']} Fashion-MNIST test images, "
        f"{results['epochs']} epochs)\n\n"
        f"Training with recording: {results['train_seconds_with_recording']:.1f} s, "
        f"{results['recorded_bytes']:,} bytes of checkpoints kept. All maps: {totals}.\n\n"
        f"{summary_table}\n\n{checkpoint_table}\n\n{transition_table}"
    )


if __name__ == "__main__":
    main()
