"""Decision map of an MLP on handwritten digits, and what π⁻¹ shows between them
=============================================================================

Trains an MLP on scikit-learn's bundled 8×8 digits, draws the decision map of 600
held-out digits, and synthesises digits at a few positions of the map with the
inverse projection π⁻¹ — the classifier's label and certainty there included.

Run: ``python examples/plot_digits_decision_map.py`` (writes two PNG files).
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from didi import DecisionMap, DecisionMapDisplay

X, y = load_digits(return_X_y=True)
images = X.reshape(-1, 8, 8)
X_train, X_map, y_train, y_map = train_test_split(
    images, y, test_size=600, stratify=y, random_state=0
)


class ImageMLP:
    """An MLP that takes 8×8 images: didi hands the classifier the caller's shape."""

    def __init__(self):
        self.mlp = MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=0)

    def fit(self, images, labels):
        self.mlp.fit(images.reshape(len(images), -1), labels)
        self.classes_ = self.mlp.classes_
        return self

    def predict_proba(self, images):
        return self.mlp.predict_proba(images.reshape(len(images), -1))


clf = ImageMLP().fit(X_train, y_train)
dmap = DecisionMap(clf, random_state=0).fit(X_map, y_map)
print({name: round(value, 3) for name, value in dmap.scores_.items()})

disp = DecisionMapDisplay.from_estimator(dmap, title="MLP on 600 held-out digits")

# Probe: a straight line between the centres of two classes' points.
predicted = dmap.proba_.argmax(axis=1)
start = dmap.embedding_[predicted == 3].mean(axis=0)
stop = dmap.embedding_[predicted == 8].mean(axis=0)
positions = start + np.linspace(0, 1, 6)[:, None] * (stop - start)
synthesised = dmap.inverse_transform(positions)
proba = clf.predict_proba(synthesised)

disp.ax_.plot(*positions.T, "k--", linewidth=1)
for k, (px, py) in enumerate(positions):
    disp.ax_.annotate(
        str(k),
        (px, py),
        fontsize=11,
        fontweight="bold",
        bbox={"boxstyle": "circle", "facecolor": "white"},
    )
disp.figure_.savefig("digits_decision_map.png", dpi=120, bbox_inches="tight")

fig, axes = plt.subplots(1, len(positions), figsize=(2 * len(positions), 2.4))
for k, ax in enumerate(axes):
    ax.imshow(synthesised[k], cmap="gray_r")
    ax.set_title(f"{k}: '{proba[k].argmax()}' ({proba[k].max():.0%})")
    ax.axis("off")
fig.savefig("digits_probes.png", dpi=120, bbox_inches="tight")
print("wrote digits_decision_map.png and digits_probes.png")
