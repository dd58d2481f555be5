"""Decision maps of a PyTorch ConvNet on Fashion-MNIST, with path lengths on the model's device.

A 4-layer ConvNet (two convolutions, two dense layers) is trained on the 60,000
training images on ``--device`` (GPU: a few seconds), then wrapped in
:class:`didi.torch.TorchClassifier`. For each N, ``DecisionMap`` with the paper's
Fashion-MNIST settings (λ = 0.65, n = 5, ``n_neighbors=30``, ``min_dist=1``) maps N
images: N ≤ 10,000 from the test set, more from all 70,000 (shuffled, seed 0), and
beyond 70,000 from those images shifted by up to two pixels (``augmented``: 25 shifts,
so up to 1,750,000 images).

Every forward pass of the module is timed (CUDA events on a GPU, the clock on a
CPU) and attributed to the fit stage it ran in, which gives the share of each
stage's wall time spent inside the model and the model's rows per second.

Configurations, side by side in one run:

* ``device paths``: the suite hands pairs to the adapter, which interpolates,
  classifies and measures the paths on the device (one float back per pair);
* ``host paths`` (N = 600 only): the same model behind a plain ``predict_proba``
  function, so the interpolated points are built on the host and copied over
  (one thread, so that the timed passes never overlap; device paths use
  ``n_jobs=-1``, which gives threads to the candidate ranking);
* ``mode="dense"`` (N = 600 only): all pairs, as the paper computed them.

Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` (or ``--data``);
nothing is downloaded. One-time costs (numba compilation of UMAP and the descent,
CUDA start-up) are paid on a small fit first and reported apart.

``--layout-device cuda`` lays out both UMAPs in PyTorch on the GPU
(``DecisionMap(layout_device=...)``); by default umap-learn lays them out on the CPU.
``--inverse-device cuda`` computes π⁻¹ there too (``DecisionMap(inverse_device=...)``);
by default NumPy computes it on the CPU.

Run: ``python benchmarks/bench_torch.py --sizes 600 10000 70000`` (add
``--layout-device cuda`` for the GPU targets, and run ``--sizes 1000000
--no-small-configs`` on its own: it takes minutes). Results are written after every fit;
``--heartbeat s`` prints where a fit is every ``s`` seconds, with its memory, so that a
run cut short still says how far it got. Each fit also keeps a sampled profile of
where its main thread spent the time (``sampled_profile`` in the JSON, printed after
the fit, also when ``timeout`` stops it).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import augmented, machine_info, markdown_table, write_results

from didi import DecisionMap, FisherJSMetric
from didi.datasets import load_fashion_mnist
from didi.distance._metric import (
    DEVICE_EXACT_CANDIDATES_MAX_SAMPLES,
    EXACT_CANDIDATES_MAX_SAMPLES,
)
from didi.torch import TorchClassifier

PAPER = {"lam": 0.65, "n_steps": 5, "n_neighbors": 30, "min_dist": 1.0}
#: The fit's stages in the order they run for a TorchClassifier (the Euclidean UMAP's
#: graph and initial layout after the DiDi layout: such a classifier may find its
#: neighbours while ranking; 0 s where the Euclidean UMAP is fitted in turn, in
#: "scores", as with ``--layout-device``).
STAGES = ("distances", "umap", "euclidean", "inverse", "grid", "scores", "gradient")
SCORES = ("q_knn_e", "q_knn", "q_data", "q_not_data")
#: Seconds between the samples of memory and of where the fit is.
SAMPLE_S = 0.2


def fashion_convnet() -> torch.nn.Module:
    """Two 3×3 convolutions with max-pooling, then two dense layers; logits out."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(64 * 5 * 5, 128), torch.nn.ReLU(), torch.nn.Dropout(0.25),
        torch.nn.Linear(128, 10),
    )  # fmt: skip


def train(X: np.ndarray, y: np.ndarray, device: torch.device, epochs: int) -> torch.nn.Module:
    """Adam, batch 256, cross-entropy; returns the trained module on ``device``."""
    torch.manual_seed(0)
    net = fashion_convnet().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    data = torch.from_numpy(X).reshape(-1, 1, 28, 28).to(device)
    target = torch.from_numpy(y.astype(np.int64)).to(device)
    net.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(data), device=device).split(256):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(data[batch]), target[batch]).backward()
            opt.step()
    return net


class TimedModule(torch.nn.Module):
    """The module, with each forward pass's start (host clock) and duration recorded."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module
        self.records: list = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        if x.is_cuda:
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            out = self.module(x)
            end.record()
            self.records.append((start, (begin, end), len(x)))
        else:
            out = self.module(x)
            self.records.append((start, time.perf_counter() - start, len(x)))
        return out

    def seconds_between(self, since: float, until: float) -> tuple[float, int]:
        """Model seconds and rows of the forward passes started in ``[since, until)``."""
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        seconds, rows = 0.0, 0
        for start, timing, n in self.records:
            if since <= start < until:
                seconds += (
                    timing if isinstance(timing, float) else timing[0].elapsed_time(timing[1]) / 1e3
                )
                rows += n
        return seconds, rows


class Watch(threading.Thread):
    """Peak resident memory of this process over one fit, sampled every 0.2 s, and a
    line every ``every`` seconds saying where the fit is (its innermost ``didi``
    frames), so that a run cut short still says how far it got.

    Each 0.2 s sample also counts where the main thread is (its innermost ``didi``
    frames and the call it is in), a sampling profile that costs the fit little:
    :meth:`sites` gives the seconds spent at each place.
    """

    def __init__(self, every: float) -> None:
        super().__init__(daemon=True)
        self.every, self.peak_rss, self.main = every, rss_bytes(), threading.main_thread().ident
        self.done = threading.Event()
        self.start_time = time.perf_counter()
        self.samples: Counter = Counter()

    def run(self) -> None:
        last = self.start_time
        while not self.done.wait(SAMPLE_S):
            self.peak_rss = max(self.peak_rss, rss_bytes())
            self.samples[self.where(innermost=True)] += 1
            if self.every and time.perf_counter() - last >= self.every:
                last = time.perf_counter()
                gpu = (
                    f", GPU {torch.cuda.memory_allocated() / 2**30:.1f} GiB"
                    if torch.cuda.is_available() else ""
                )  # fmt: skip
                memory = f"RSS {rss_bytes() / 2**30:.1f} GiB{gpu}"
                print(f"  [{last - self.start_time:6.0f} s, {memory}] {self.where()}", flush=True)

    def where(self, innermost: bool = False) -> str:
        frame = sys._current_frames().get(self.main)
        # Without reading source lines: the sampling thread holds the GIL meanwhile.
        walk = traceback.walk_stack(frame) if frame is not None else iter(())
        stack = list(reversed(traceback.StackSummary.extract(walk, lookup_lines=False)))
        inside = [f"{Path(f.filename).stem}.{f.name}" for f in stack if "didi" in f.filename]
        site = " > ".join(inside[-4:]) or "outside didi"
        if innermost and stack and "didi" not in stack[-1].filename:
            site += f" | {Path(stack[-1].filename).stem}.{stack[-1].name}"
        return site

    def sites(self, top: int = 20) -> list[tuple[str, float]]:
        """The ``top`` places the main thread was sampled at most, with their seconds."""
        return [(site, n * SAMPLE_S) for site, n in self.samples.most_common(top)]

    def stop(self) -> int:
        self.done.set()
        self.join()
        print("  sampled profile of the main thread (seconds, place):", flush=True)
        for site, seconds in self.sites():
            print(f"  {seconds:7.1f}  {site}", flush=True)
        return max(self.peak_rss, rss_bytes())


def rss_bytes() -> int:
    """This process's resident memory now (Linux), 0 where it cannot be read."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096
    except (OSError, IndexError, ValueError):
        return 0


def model_throughput(net: torch.nn.Module, X: np.ndarray, device, batch: int) -> float:
    """Rows per second of the bare module at ``batch`` rows per pass (median of 20)."""
    x = torch.from_numpy(X[:batch]).reshape(-1, 1, 28, 28).to(device)
    net.eval()
    times = []
    with torch.inference_mode():
        for _ in range(25):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            net(x)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return len(x) / float(np.median(times[5:]))


def one_fit(
    net, X, y, device, batch: int, *, paths: str, mode: str, layout, inverse=None,
    heartbeat: float = 0,
) -> dict:  # fmt: skip
    timed = TimedModule(net)
    clf = TorchClassifier(timed, input_shape=(1, 28, 28), device=device, batch_size=batch)
    estimator = clf if paths == "device" else (lambda Z: clf.predict_proba(Z))
    # Device paths: n_jobs=-1 gives threads to the candidate ranking, while all
    # pairs go to the device from this process. Host paths stay in one thread, so
    # that the model's timed passes never overlap.
    dmap = DecisionMap(
        estimator, mode=mode, random_state=0, n_jobs=-1 if paths == "device" else None,
        layout_device=layout, inverse_device=inverse, **PAPER,
    )  # fmt: skip
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    watch = Watch(heartbeat)
    watch.start()
    start = time.perf_counter()
    try:
        dmap.fit(X, y)
    finally:
        peak_rss = watch.stop()
        profile = watch.sites()
    wall = time.perf_counter() - start
    metric = dmap.projection_.metric_
    stages, clock = {}, start
    for stage in STAGES:
        seconds = dmap.timings_.get(stage, 0.0)
        model_s, rows = timed.seconds_between(clock, clock + seconds)
        stages[stage] = {"wall_s": seconds, "model_s": model_s, "rows": rows}
        clock += seconds
    dist = stages["distances"]
    model_total, rows_total = timed.seconds_between(start, start + wall)
    return {
        "n": len(X),
        "paths": paths,
        "mode": mode,
        "wall_s": wall,
        "stages": stages,
        "distance_rows": int(metric.n_classifier_rows_),
        "model_s": model_total,
        "model_rows": rows_total,
        "distance_model_rows_per_s": dist["rows"] / dist["model_s"] if dist["model_s"] else None,
        "distance_outside_model": 1.0 - dist["model_s"] / dist["wall_s"],
        "knn_search": metric.knn_search_,
        "scores": dmap.scores_,
        "accuracy": float(np.mean(dmap.proba_.argmax(axis=1) == y)),
        "peak_rss_gib": peak_rss / 2**30,
        "peak_gpu_gib": (
            torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
        ),
        "sampled_profile": profile,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[600, 10000])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--data", default=None, help="folder of the Fashion-MNIST .gz files")
    parser.add_argument(
        "--layout-device", default=None, help="lay out the UMAPs in PyTorch there (cuda, cpu)"
    )
    parser.add_argument(
        "--inverse-device", default=None, help="compute π⁻¹ in PyTorch there (cuda, cpu)"
    )
    parser.add_argument(
        "--name", default=None, help="results file name (default from device and sizes)"
    )
    parser.add_argument(
        "--heartbeat", type=float, default=60.0,
        help="seconds between lines saying where a fit is (0: none)",
    )  # fmt: skip
    parser.add_argument(
        "--small-configs", action=argparse.BooleanOptionalAction, default=True,
        help="at N <= 600, also host paths and the dense mode",
    )  # fmt: skip
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    # A run stopped by ``timeout`` still prints the sampled profile of the fit it cut.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    images, labels = load_fashion_mnist("all", data_home=args.data)
    images = images.reshape(len(images), -1).astype(np.float32) / 255.0
    train_X, train_y = images[: args.train_size], labels[: args.train_size]
    test_X, test_y = images[60000:], labels[60000:]

    start = time.perf_counter()
    net = train(train_X, train_y, device, args.epochs)
    train_s = time.perf_counter() - start
    rows_per_s = model_throughput(net, test_X, device, args.batch_size)

    # One-time costs: numba compiles UMAP's and the descent's code, CUDA warms up.
    start = time.perf_counter()
    warm = TorchClassifier(net, input_shape=(1, 28, 28), device=device, batch_size=args.batch_size)
    # The dense mode's code only where a configuration uses it.
    modes = ("knn", "dense") if args.small_configs and min(args.sizes) <= 600 else ("knn",)
    for mode in modes:
        DecisionMap(
            warm, mode=mode, random_state=0, resolution=10, layout_device=args.layout_device,
            inverse_device=args.inverse_device, **PAPER,
        ).fit(test_X[:200], test_y[:200])  # fmt: skip
    exact_limit = (
        DEVICE_EXACT_CANDIDATES_MAX_SAMPLES
        if device.type == "cuda"
        else EXACT_CANDIDATES_MAX_SAMPLES
    )
    if max(args.sizes) > exact_limit:
        # Up to the limit the candidates are ranked exactly (on the GPU, or pruned on
        # the CPU); beyond, the descent takes over and compiles first.
        FisherJSMetric(warm, n_neighbors=29, candidates="nndescent").fit(test_X[:300])
    warm_up_s = time.perf_counter() - start

    info = machine_info()
    info["torch"] = torch.__version__
    info["device"] = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    data = {
        "machine": info,
        "train_s": train_s,
        "epochs": args.epochs,
        "model_rows_per_s": rows_per_s,
        "batch_size": args.batch_size,
        "warm_up_s": warm_up_s,
        "layout_device": args.layout_device,
        "inverse_device": args.inverse_device,
        "runs": [],
    }
    name = args.name or f"bench_torch_{device.type}_{'_'.join(map(str, args.sizes))}"
    order = np.random.default_rng(0).permutation
    for n in args.sizes:
        if n <= len(test_X):
            pick = order(len(test_X))[:n]
            X, y = test_X[pick], test_y[pick]
        elif n <= len(images):
            pick = order(len(images))[:n]
            X, y = images[pick], labels[pick]
        else:
            X, y = augmented(images, labels, n)
        configs = [("device", "knn")]
        if n <= 600 and args.small_configs:
            configs += [("host", "knn"), ("device", "dense"), ("host", "dense")]
        for paths, mode in configs:
            print(f"N={n} paths={paths} mode={mode} ...", flush=True)
            fit = one_fit(
                net, X, y, device, args.batch_size, paths=paths, mode=mode,
                layout=args.layout_device, inverse=args.inverse_device, heartbeat=args.heartbeat,
            )  # fmt: skip
            data["runs"].append(fit)
            print({k: v for k, v in data["runs"][-1].items() if k != "stages"}, flush=True)
            # Written after every fit, so that a run cut short keeps what it measured.
            write_results(name, data, report(data))


def report(data: dict) -> str:
    rows = []
    for run in data["runs"]:
        stages = run["stages"]
        dist = stages["distances"]
        rows.append(
            [
                f"{run['n']:,}", run["mode"], run["paths"], f"{run['wall_s']:.2f}",
                *(f"{stages[s]['wall_s']:.2f}" for s in STAGES),
                f"{run['distance_rows'] / run['n']:.0f}",
                f"{dist['model_s']:.2f}",
                f"{(run['distance_model_rows_per_s'] or 0) / 1e6:.2f}",
                f"{100 * run['distance_outside_model']:.0f}",
                f"{100 * run['model_s'] / run['wall_s']:.0f}",
                *(f"{100 * run['scores'][s]:.1f}" for s in SCORES),
                f"{run['peak_rss_gib']:.1f}",
                "" if run["peak_gpu_gib"] is None else f"{run['peak_gpu_gib']:.1f}",
            ]
        )  # fmt: skip
    headers = [
        "N", "mode", "paths", "fit s", *(f"{s} s" for s in STAGES), "distance rows / point",
        "model s in distances", "model M rows/s in distances", "% of distance time outside model",
        "% of fit inside model", "Q_kNN-E %", "Q_kNN %", "Q_data %", "Q_¬data %",
        "peak RSS GiB", "peak GPU GiB",
    ]  # fmt: skip
    head = (
        f"{data['machine']['device']}, torch {data['machine']['torch']}; ConvNet trained "
        f"{data['epochs']} epochs in {data['train_s']:.1f} s; bare model "
        f"{data['model_rows_per_s'] / 1e6:.2f} M rows/s at batch {data['batch_size']}; "
        f"one-time warm-up {data['warm_up_s']:.1f} s; layouts on "
        f"{data['layout_device'] or 'the CPU (umap-learn)'}, π⁻¹ on "
        f"{data.get('inverse_device') or 'the CPU (NumPy)'}."
    )
    return head + "\n\n" + markdown_table(headers, rows)


if __name__ == "__main__":
    main()
