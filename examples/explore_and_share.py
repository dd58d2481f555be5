"""Explore a decision map: probe it, stream samples in, share it as a web page
===========================================================================

A logistic regression on scikit-learn's digits. The script

1. maps 400 digits and probes five positions on a line between two classes,
   writing the map with numbered markers and the synthesised digits
   (``digits_probe.png``);
2. streams 200 more digits into the map, keeping the newest 500, and reports how
   many classifier rows the update needed against a fresh fit;
3. writes ``digits_map.html``, a self-contained page: open it in any browser,
   hover a point for its thumbnail, click the background for π⁻¹ there.

With an interactive matplotlib backend, ``DecisionMapDisplay.from_estimator(dmap)
.explore(dmap, image_shape=(8, 8))`` makes the map clickable as well.

Run: ``python examples/explore_and_share.py``
"""

import matplotlib

matplotlib.use("Agg")
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from didi import DecisionMap, ProbeDisplay

X, y = load_digits(return_X_y=True)
clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X[600:], y[600:])

dmap = DecisionMap(clf, random_state=0).fit(X[:400], y[:400])
print("scores:", {name: round(value, 3) for name, value in dmap.scores_.items()})

# 1. Probe a line between the centres of the points predicted 3 and 8.
predicted = dmap.proba_.argmax(axis=1)
start = dmap.embedding_[predicted == 3].mean(axis=0)
stop = dmap.embedding_[predicted == 8].mean(axis=0)
positions = start + np.linspace(0, 1, 5)[:, None] * (stop - start)
probe = ProbeDisplay.from_estimator(dmap, positions, image_shape=(8, 8), title="3 → 8")
probe.figure_.savefig("digits_probe.png", dpi=110, bbox_inches="tight")
found = dmap.probe(positions)
for k, (label, certainty) in enumerate(zip(found.labels, found.certainty, strict=True)):
    print(f"probe {k}: {label} ({certainty:.0%})")

# 2. Stream 200 more digits in; keep the newest 500.
rows_before = dmap.n_classifier_rows_
dmap.add_samples(X[400:600], y[400:600], max_samples=500)
fresh = DecisionMap(clf, random_state=0).fit(X[100:600], y[100:600])
print(
    f"update: {dmap.projection_.metric_.n_classifier_rows_} classifier rows for distances, "
    f"a fresh fit needs {fresh.projection_.metric_.n_classifier_rows_}"
)

# 3. Share it.
path = dmap.to_html(
    "digits_map.html", title="Logistic regression on 500 digits", image_shape=(8, 8)
)
print("wrote digits_probe.png and", path)
