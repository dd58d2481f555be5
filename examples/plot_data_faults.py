"""Find what is wrong in the data, on the map
=============================================

A classifier learns the digits from a clean training set; the set we look at has been
tampered with: copies of some digits (exact, and re-scanned with 5 % jitter), wrong
labels on 4 % of the digits, and ten images that are not digits at all (Fashion-MNIST
clothes shrunk to 8 × 8 when Debian's ``dataset-fashion-mnist`` is installed, random
noise otherwise). The script

1. fits a :class:`~didi.Familiarity` model to the classifier's view of the training set
   (here: the pixels) and asks which of the looked-at samples are unfamiliar;
2. finds the near-duplicates with :class:`~didi.NearDuplicates` under the DiDi distance;
3. lists the likely wrong labels with :func:`~didi.find_label_issues`, from the
   classifier's probabilities and the labels of each sample's DiDi neighbours;
4. prints how many of the planted faults each one found, draws the map with the
   findings marked (``digits_faults.png``) and writes ``digits_faults.html``, where each
   kind of mark has a switch and hovering a near-duplicate names its twins.

Run: ``python examples/plot_data_faults.py``
"""

import matplotlib

matplotlib.use("Agg")
import numpy as np
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

from didi import DecisionMap, DecisionMapDisplay, Familiarity, NearDuplicates, find_label_issues

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, y_train, X_look, y_look = X[500:], y[500:], X[:500], y[:500].copy()
rng = np.random.default_rng(0)

# %%
# Plant the faults: copies, wrong labels, images from elsewhere.
try:
    from didi.datasets import load_fashion_mnist

    clothes = load_fashion_mnist("test")[0][:10] / 255
    foreign = clothes[:, ::3, ::3][:, :8, :8].reshape(10, 64)
except (OSError, ValueError):  # the data set is not installed
    foreign = rng.uniform(0, 1, size=(10, 64))
copies = np.vstack([X_look[:8], np.clip(X_look[8:16] * (1 + rng.normal(0, 0.05, (8, 64))), 0, 1)])
wrong = rng.choice(500, size=20, replace=False)
y_look[wrong] = (y_look[wrong] + rng.integers(1, 10, 20)) % 10
X_all = np.vstack([X_look, copies, foreign])
y_all = np.concatenate([y_look, y_look[:16], rng.integers(0, 10, 10)])

model = MLPClassifier(hidden_layer_sizes=(64,), max_iter=400, random_state=0)
model.fit(X_train, y_train)
dmap = DecisionMap(model, min_dist=0.8, resolution=60, random_state=0).fit(X_all, y_all)

# %%
# Ask the three questions.
familiarity = Familiarity(responses="samples", random_state=0).fit(X_train)
unfamiliar = np.flatnonzero(familiarity.predict(X_all) == -1)
duplicates = NearDuplicates(model, space="didi", random_state=0).fit(X_all)
issues = find_label_issues(y_all, model.predict_proba(X_all), decision_map=dmap)
foreign_found = np.isin(np.arange(516, 526), unfamiliar).sum()
copies_found = np.isin(np.arange(500, 516), np.flatnonzero(duplicates.labels_ >= 0)).sum()
print(f"unfamiliar: {len(unfamiliar)} flagged, {foreign_found} of the 10 foreign images")
print(f"near-duplicates: {len(duplicates.sets_)} sets, {copies_found} of the 16 copies")
print(f"label issues: {len(issues)} flagged, {np.isin(wrong, issues).sum()} of the 20 wrong labels")

# %%
# The map with what was found. The foreign images' familiarity is measured against the
# training set, so the marks use the flagged indices rather than a model of these samples.
display = DecisionMapDisplay.from_estimator(
    dmap, familiarity=unfamiliar, duplicates=duplicates, label_issues=issues
)
display.figure_.savefig("digits_faults.png", dpi=90, bbox_inches="tight")
dmap.to_html(
    "digits_faults.html", title="Digits: what is wrong", image_shape=(8, 8),
    familiarity=unfamiliar, duplicates=duplicates, label_issues=issues,
)  # fmt: skip
