"""End-to-end fuzzing of DecisionMap in a child process.

Inputs of many shapes, precisions and scales (up to the float maximum) and
parameters including NaN, infinity and booleans. A case must give a valid map
(checked in ``run_cases.check_map``) or a documented error (ValueError, TypeError,
MemoryError) with a message; the child process must never die. Most cases are
valid, so that most reach the map's assertions.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

N_CASES = 36

#: Parameters set to a value no parameter table may let through.
BAD_PARAMETERS = [
    {"lam": "nan"},
    {"lam": "inf"},
    {"a": "nan"},
    {"alpha": "inf"},
    {"min_dist": "nan"},
    {"margin": "-inf"},
    {"resolution": True},
    {"n_steps": True},
]


def generated_cases(seed: int = 0) -> list[dict]:
    """Cases from a fixed seed: the run is the same every time, and bounded."""
    rng = np.random.default_rng(seed)
    cases = []
    for case_id in range(N_CASES):
        shape = [int(rng.integers(1, 7))] if rng.random() < 0.7 else [2, 3, 2]
        dtype = str(rng.choice(["float64", "float32", "int64"], p=[0.6, 0.25, 0.15]))
        # Scales from tiny to the float maximum (of the dtype, for float32).
        top = 37 if dtype == "float32" else 308
        scale = float(10.0 ** rng.integers(-30, top + 1)) if rng.random() < 0.5 else 1.0
        if case_id < 4:  # right at the maximum, where values overflow or nearly do
            dtype, scale = "float64", 10.0 ** (308 - case_id)
        params = {}
        if rng.random() < 0.2:
            params.update(BAD_PARAMETERS[int(rng.integers(len(BAD_PARAMETERS)))])
        if rng.random() < 0.3:
            params["holdout"] = 0.0
        if rng.random() < 0.3:
            params["mode"] = str(rng.choice(["dense", "knn"]))
        cases.append(
            {
                "id": case_id,
                "seed": int(rng.integers(1 << 30)),
                "n": int(rng.integers(12, 50)),
                "sample_shape": shape,
                "dtype": dtype,
                "scale": scale,
                "n_classes": int(rng.integers(2, 5)),
                "params": params,
            }
        )
    return cases


def test_decision_map_never_crashes_and_gives_valid_maps_or_documented_errors():
    cases = generated_cases()
    runner = Path(__file__).with_name("run_cases.py")
    done = subprocess.run(
        [sys.executable, str(runner)],
        input="\n".join(json.dumps(case) for case in cases) + "\n",
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = done.stdout.splitlines()
    started = [line.split()[1] for line in lines if line.startswith("start")]
    assert done.returncode == 0, (
        f"the child process died (status {done.returncode}) in case "
        f"{cases[int(started[-1])] if started else None}:\n{done.stderr[-3000:]}"
    )
    verdicts = {
        int(line.split()[1]): line.split(" ", 2)[2] for line in lines if line.startswith("done")
    }
    assert sorted(verdicts) == list(range(len(cases)))
    ok = [i for i, verdict in verdicts.items() if verdict == "ok"]
    refused = {i: verdict for i, verdict in verdicts.items() if verdict != "ok"}
    for i, verdict in refused.items():
        assert verdict.startswith("refused "), (cases[i], verdict)
    # Every case with a bad parameter is refused, naming it.
    for case in cases:
        bad = [name for name in case["params"] if {name: case["params"][name]} in BAD_PARAMETERS]
        if bad:
            assert f"{bad[0]} must be" in verdicts[case["id"]], (case, verdicts[case["id"]])
    assert len(ok) >= 0.6 * len(cases), refused
