"""Decision maps across training: aligned against independently fitted maps.

An MLP is trained for 10 epochs on 12,000 Fashion-MNIST training images on the
CPU, recorded after every epoch with ``CheckpointRecorder`` (the two-line hook of a
plain PyTorch loop); 2,000 test images are then mapped under every checkpoint,
once with ``alignment="aligned"`` and once with ``"independent"``, side by side in
one run. Reported per checkpoint: seconds and classifier rows of each map and its
quality scores; per transition: the Procrustes disparity of consecutive maps
(``scipy.spatial.procrustes``), the temporal preservation score and the share of
flipped predictions. A last checkpoint equal to the one before shows what an
unchanged model costs. Needs ``dataset-fashion-mnist``. Run::

    python benchmarks/bench_sequence.py            # 2,000 samples, 10 epochs
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


def fit_sequence(checkpoints, X, y, alignment: str) -> tuple[DecisionMapSequence, float]:
    clock = time.perf_counter()
    sequence = DecisionMapSequence(checkpoints, alignment=alignment, random_state=0)
    sequence.fit(X, y)
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
    fits = {
        mode: fit_sequence(checkpoints, X_map, y_map, mode) for mode in ("aligned", "independent")
    }
    results = collect(fits, recorder, y_map, train_seconds, n_map, epochs)
    name = "bench_sequence_quick" if args.quick else "bench_sequence"
    write_results(name, results, report(results))


def collect(fits, recorder, y_map, train_seconds, n_map, epochs) -> dict:
    aligned, independent = fits["aligned"][0], fits["independent"][0]
    per_checkpoint = []
    for k, name in enumerate(aligned.checkpoint_names_):
        row = {"checkpoint": name, "accuracy": float((aligned.proba_[k].argmax(1) == y_map).mean())}
        for mode, (seq, _) in fits.items():
            row[mode] = {
                "seconds": float(seq.fit_seconds_[k]),
                "rows": int(seq.n_classifier_rows_[k]),
                **{score: float(seq.scores_[score][k]) for score in ("q_knn", "q_not_data")},
            }
        per_checkpoint.append(row)
    transitions = []
    for t in range(len(aligned.maps_) - 1):
        row = {"to": aligned.checkpoint_names_[t + 1], "flips": float(aligned.flips_[t].mean())}
        for mode, seq in (("aligned", aligned), ("independent", independent)):
            scores = seq.transition_scores_
            row[mode] = {
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
        "total_seconds": {mode: fit[1] for mode, fit in fits.items()},
        "checkpoints": per_checkpoint,
        "transitions": transitions,
    }


def _pct(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{100 * value:.1f}"


def report(results: dict) -> str:
    rows = [
        [
            c["checkpoint"], _pct(c["accuracy"]),
            f"{c['aligned']['seconds']:.1f} / {c['independent']['seconds']:.1f}",
            f"{c['aligned']['rows']:,} / {c['independent']['rows']:,}",
            f"{_pct(c['aligned']['q_knn'])} / {_pct(c['independent']['q_knn'])}",
            f"{_pct(c['aligned']['q_not_data'])} / {_pct(c['independent']['q_not_data'])}",
        ]
        for c in results["checkpoints"]
    ]  # fmt: skip
    checkpoint_table = markdown_table(
        ["checkpoint", "accuracy %", "seconds (aligned / indep.)", "classifier rows",
         "q_knn %", "q_not_data %"],
        rows,
    )  # fmt: skip
    rows = []
    for t in results["transitions"]:
        a, i = t["aligned"], t["independent"]
        ratio = i["procrustes_disparity"] / max(a["procrustes_disparity"], 1e-300)
        rows.append([
            t["to"], _pct(t["flips"]),
            f"{a['procrustes_disparity']:.4f} / {i['procrustes_disparity']:.4f}",
            "n/a" if a["procrustes_disparity"] < 1e-12 else f"{ratio:.0f}×",
            f"{a['temporal_preservation']:.3f} / {i['temporal_preservation']:.3f}",
        ])  # fmt: skip
    transition_table = markdown_table(
        ["transition to", "flipped %", "Procrustes disparity (aligned / indep.)",
         "indep. ÷ aligned", "temporal preservation (aligned / indep.)"],
        rows,
    )  # fmt: skip
    totals = results["total_seconds"]
    return (
        f"# Decision maps across training ({results['n_samples']} Fashion-MNIST test images, "
        f"{results['epochs']} epochs)\n\n"
        f"Training with recording: {results['train_seconds_with_recording']:.1f} s, "
        f"{results['recorded_bytes']:,} bytes of checkpoints kept. All maps: "
        f"{totals['aligned']:.0f} s aligned, {totals['independent']:.0f} s independent.\n\n"
        f"{checkpoint_table}\n\n{transition_table}"
    )


if __name__ == "__main__":
    main()
