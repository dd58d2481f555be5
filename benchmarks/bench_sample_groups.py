"""Finding equal samples, as every k-NN fit does first: hashing rows against sorting them.

``FisherJSMetric.fit`` groups equal samples (``equal_sample_groups``: equal samples are
at distance 0 whatever their path lengths). It used to sort the rows' bytes, after a
float64 copy of all samples; it now hashes each row's bits in blocks, sorts the hashes,
and compares every row with the first of its hash. This script runs both on N
Fashion-MNIST images (float32, shuffled; shifted copies beyond 70,000, ``augmented``),
each in a fresh process, as in a fit (the first large allocation of a process costs
its page faults), ``--repeats`` times, and reports the fastest and slowest seconds, the
largest peak resident memory added and whether the two found the same groups.

Run: ``python benchmarks/bench_sample_groups.py`` (about 1 min on 2 cores; needs
Debian's ``dataset-fashion-mnist`` or ``--data``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import augmented, machine_info, markdown_table, write_results

from didi.datasets import load_fashion_mnist

METHODS = ("sorted rows (before)", "hashed rows (now)")

# One measurement in a fresh process: the samples are made, then the method timed with
# its resident memory sampled every 5 ms on a thread.
CHILD = """
import json, sys, threading, time
import numpy as np
sys.path.insert(0, {bench!r})
from bench_sample_groups import samples, sorted_row_groups
from didi.distance._base_distance import equal_sample_groups
X = samples({n}, {data!r})
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
base, peak, done = rss(), [0], threading.Event()
def watch():
    while not done.wait(0.005):
        peak[0] = max(peak[0], rss())
threading.Thread(target=watch, daemon=True).start()
start = time.perf_counter()
groups = sorted_row_groups(X) if {method} == 0 else equal_sample_groups(X, X[:0])[0]
seconds = time.perf_counter() - start
done.set()
np.save({out!r}, groups)
print(json.dumps({{"seconds": seconds, "peak_added_gib": (max(peak[0], rss()) - base) / 2**30}}))
"""


def samples(n: int, data: str | None) -> np.ndarray:
    images, labels = load_fashion_mnist("all", data_home=data)
    images = images.reshape(len(images), -1).astype(np.float32) / 255.0
    if n > len(images):
        return augmented(images, labels, n)[0]
    return images[np.random.default_rng(0).permutation(len(images))[:n]]


def sorted_row_groups(X: np.ndarray) -> np.ndarray:
    """The former ``equal_sample_groups``: a float64 copy, its rows' bytes sorted."""
    rows = np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float64) + 0.0
    keys = rows.view(np.dtype((np.void, 8 * rows.shape[1]))).ravel()
    return np.unique(keys, return_inverse=True)[1].ravel()


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.c_[a, b], axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def _measure(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[70000, 250000])
    parser.add_argument("--data", default=None, help="folder of the Fashion-MNIST .gz files")
    parser.add_argument("--repeats", type=int, default=2, help="fresh processes per method")
    parser.add_argument(
        "--sort-max", type=int, default=250000,
        help="largest N sorted (the sort adds about 23 GiB at 1,000,000)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    here = str(Path(__file__).resolve().parent)
    data = {"machine": machine_info(), "runs": []}
    rows = []
    for n in args.sizes:
        found = []
        for method, name in enumerate(METHODS):
            if method == 0 and n > args.sort_max:
                continue
            out = f"/tmp/bench_sample_groups_{method}.npy"
            code = CHILD.format(bench=here, n=n, data=args.data, method=method, out=out)
            times = [_measure(code) for _ in range(args.repeats)]
            run = {"n": n, "method": name, "seconds": [t["seconds"] for t in times],
                   "peak_added_gib": max(t["peak_added_gib"] for t in times)}  # fmt: skip
            found.append(np.load(out))
            data["runs"].append(run)
            print(run, flush=True)
        same = same_partition(*found) if len(found) == 2 else None
        data["runs"][-1]["same_groups"] = same
        for run in data["runs"][-len(found) :]:
            rows.append([f"{n:,}", run["method"],
                         f"{min(run['seconds']):.2f}–{max(run['seconds']):.2f}",
                         f"{run['peak_added_gib']:.2f}",
                         {True: "yes", False: "NO", None: "(not sorted)"}[same]])  # fmt: skip
    headers = ["N", "method", "seconds (fastest–slowest)", "peak RSS added GiB", "same groups"]
    head = (
        f"{data['machine']['cpu']}, {data['machine']['nproc']} cores; each of "
        f"{args.repeats} runs per method in a fresh process."
    )
    write_results("bench_sample_groups", data, head + "\n\n" + markdown_table(headers, rows))


if __name__ == "__main__":
    main()
