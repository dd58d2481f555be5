"""How long the demo's fit takes in a fresh process: the very first run, and once cached.

Side by side: didi as it is (umap-learn's kernels swapped for disk-cached copies,
``didi.projection._kernels``) and with umap-learn's own kernels (the swap turned off
in the child process), each with its own numba cache folder.

Each measurement starts a new Python process that imports didi, builds the demo's
classifier and 600 digits (``didi demo``'s), and fits ``DecisionMap(clf,
random_state=0)`` twice: the first fit pays for everything compiled in that process
(numba's kernels in umap-learn, pynndescent and didi), the second shows the warm cost.
All processes share one fresh numba cache folder (``NUMBA_CACHE_DIR``): the first
process is "the very first run" on this machine; the later ones are runs "once the
machine has run didi once", where only what the libraries cannot cache on disk is
compiled again. Run::

    python benchmarks/bench_cold_start.py            # 1 first run + 3 cached runs
    python benchmarks/bench_cold_start.py --quick    # 1 + 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_commit, machine_info, markdown_table, write_results

#: What one fresh process runs; prints its timings as JSON.
CHILD = r"""
import json, sys, time
start = time.perf_counter()
import didi
if sys.argv[1] == "umap-learn's own":
    import didi.projection._placement as placement, didi.projection._umap as fitting
    placement.cache_umap_kernels = fitting.cache_umap_kernels = lambda: ()
from didi.cli._commands import demo_classifier_and_samples
imported = time.perf_counter()
clf, X, y = demo_classifier_and_samples()
data = time.perf_counter()
first = didi.DecisionMap(clf, random_state=0).fit(X, y)
fitted = time.perf_counter()
second = didi.DecisionMap(clf, random_state=0).fit(X, y)
again = time.perf_counter()
print(json.dumps({
    "import_s": imported - start,
    "data_s": data - imported,
    "first_fit_s": fitted - data,
    "second_fit_s": again - fitted,
    "first_fit_stages": first.timings_,
    "same_map": bool((first.embedding_ == second.embedding_).all()),
}))
"""


#: The two ways of running umap-learn's kernels compared.
KERNELS = ("disk-cached copies", "umap-learn's own")


def fresh_process(cache: str, kernels: str) -> dict:
    """Run :data:`CHILD` in a new interpreter with ``cache`` as numba's cache folder."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, kernels],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    runs = []
    with tempfile.TemporaryDirectory(prefix="didi-numba-") as folder:
        caches = {kernels: str(Path(folder) / str(k)) for k, kernels in enumerate(KERNELS)}
        for k in range(2 if quick else 4):
            for kernels in KERNELS:  # alternating, so that both see the same machine
                run = "very first" if k == 0 else f"cached {k}"
                row = {"kernels": kernels, "run": run, **fresh_process(caches[kernels], kernels)}
                print(row, flush=True)
                runs.append(row)
    table = markdown_table(
        ["umap-learn's kernels", "run", "import s", "data s", "first fit s", "second fit s",
         "slowest stages of the first fit"],
        [
            [r["kernels"], r["run"], f"{r['import_s']:.2f}", f"{r['data_s']:.2f}",
             f"{r['first_fit_s']:.2f}", f"{r['second_fit_s']:.2f}",
             ", ".join(f"{name} {seconds:.1f}" for name, seconds in
                       sorted(r["first_fit_stages"].items(), key=lambda kv: -kv[1])[:3])]
            for r in runs
        ],
    )  # fmt: skip
    data = {"machine": machine_info(), "commit": git_commit(), "runs": runs}
    write_results("bench_cold_start_quick" if quick else "bench_cold_start", data, table)


if __name__ == "__main__":
    main()
