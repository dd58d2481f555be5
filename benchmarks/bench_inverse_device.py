"""π⁻¹ in NumPy on the CPU against π⁻¹ on a PyTorch device (``RBFInverse(device=...)``).

The work of a ``DecisionMap``'s "inverse" stage at the map's sizes: π⁻¹ with 3,000
centres fitted to N Fashion-MNIST images (784 pixels, float32) at 2-D positions, then
mapping the N positions back. The positions are the images' first two principal
components (π⁻¹'s cost does not depend on where the points lie); N beyond 70,000 uses
the images shifted by up to two pixels (``augmented``). For each N and device, in one
process one after the other: seconds of ``fit`` and of ``inverse_transform``, and the
agreement with NumPy's (largest difference of the coefficients relative to their
largest, and of the mapped pixels).

Run: ``python benchmarks/bench_inverse_device.py`` (the CPU through PyTorch, 70,000
images: about 1 min on 2 cores); on a GPU ``--devices cuda --sizes 70000 1000000``.
Needs PyTorch and Fashion-MNIST (Debian's ``dataset-fashion-mnist`` or ``--data``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import augmented, machine_info, markdown_table, write_results

from didi import RBFInverse
from didi.datasets import load_fashion_mnist

CENTRES = 3000


def positions_and_images(n: int, data: str | None) -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_fashion_mnist("all", data_home=data)
    images = images.reshape(len(images), -1).astype(np.float32) / 255.0
    if n > len(images):
        images, _ = augmented(images, labels, n)
    images = images[:n]
    centred = images - images.mean(axis=0)
    # The top two right singular vectors from the 784 × 784 scatter matrix.
    _, vectors = np.linalg.eigh(centred.T.astype(np.float64) @ centred)
    return centred @ vectors[:, -2:].astype(np.float32), images


def timed_inverse(Y, X, device) -> tuple[RBFInverse, np.ndarray, float, float]:
    clock = time.perf_counter()
    inverse = RBFInverse(n_centers=CENTRES, random_state=0, device=device).fit(Y, X)
    fit_s = time.perf_counter() - clock
    clock = time.perf_counter()
    mapped = inverse.inverse_transform(Y)  # back on the host: the device is done
    return inverse, mapped, fit_s, time.perf_counter() - clock


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[70000])
    parser.add_argument("--devices", nargs="+", default=["cpu"], help="PyTorch devices")
    parser.add_argument("--data", default=None, help="folder of the Fashion-MNIST .gz files")
    parser.add_argument("--name", default="bench_inverse_device")
    args = parser.parse_args(argv)
    import torch

    # One-time costs (a GPU's context, its BLAS handles) before any timing.
    for device in args.devices:
        warm = np.random.default_rng(0).normal(size=(300, 2))
        RBFInverse(n_centers=50, device=device).fit(warm, warm).inverse_transform(warm)
    info = machine_info()
    info["torch"] = torch.__version__
    data = {"machine": info, "centres": CENTRES, "runs": []}
    rows = []
    for n in args.sizes:
        Y, X = positions_and_images(n, args.data)
        host, host_mapped, *host_s = timed_inverse(Y, X, None)
        runs = [("numpy", host, host_mapped, *host_s)]
        for device in args.devices:
            runs.append((device, *timed_inverse(Y, X, device)))
        for name, inverse, mapped, fit_s, map_s in runs:
            coef = float(np.abs(inverse.coef_ - host.coef_).max() / np.abs(host.coef_).max())
            pixels = float(np.abs(mapped - host_mapped).max())
            run = {"n": n, "device": name, "fit_s": fit_s, "map_s": map_s,
                   "coef_difference": coef, "pixel_difference": pixels}  # fmt: skip
            data["runs"].append(run)
            print(run, flush=True)
            rows.append([f"{n:,}", name, f"{fit_s:.2f}", f"{map_s:.2f}",
                         f"{(host_s[0] + host_s[1]) / (fit_s + map_s):.2f}",
                         f"{coef:.1e}", f"{pixels:.1e}"])  # fmt: skip
        del host, host_mapped, runs
    headers = ["N", "π⁻¹ on", "fit s", "inverse_transform s", "speed-up over NumPy",
               "coefficients: largest rel. difference", "pixels: largest difference"]  # fmt: skip
    head = (
        f"{info['cpu']}, {info['nproc']} cores, torch {torch.__version__}; "
        f"{CENTRES} centres, 784 float32 values per sample."
    )
    write_results(args.name, data, head + "\n\n" + markdown_table(headers, rows))


if __name__ == "__main__":
    main()
