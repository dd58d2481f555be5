"""DNIKit's Familiarity (GMM) and Duplicates (Slope) on saved responses.

Run by ``bench_data_faults.py`` in a separate environment where DNIKit is installed
(``pip install deepview==3.9.6``: DNIKit's PyPI name; it pins numpy below 2)::

    python _dnikit_runner.py responses.npz results.npz
"""

import sys

import numpy as np
from deepview.base import Batch, pipeline
from deepview.introspectors import Duplicates, Familiarity


def producer_of(values):
    def produce(batch_size):
        for start in range(0, len(values), batch_size):
            yield Batch({"responses": values[start : start + batch_size]})

    return produce


def main(source: str, target: str) -> None:
    data = np.load(source)
    results = {}
    for name in ("proba", "samples"):
        fit, score = data[f"fit_{name}"], data[f"score_{name}"]
        familiarity = Familiarity.introspect(producer_of(fit))
        scores = []
        for batch in pipeline(producer_of(score), familiarity)(256):
            scores += [r.score for r in batch.metadata[familiarity.meta_key]["responses"]]
        results[f"familiarity_{name}"] = np.asarray(scores)
        evaluated = data[f"duplicates_{name}"]
        duplicates = Duplicates.introspect(producer_of(evaluated))
        labels = np.full(len(evaluated), -1)
        for number, found in enumerate(duplicates.results["responses"]):
            labels[np.asarray(found.indices)] = number
        results[f"duplicates_{name}"] = labels
    np.savez(target, **results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
