"""Exact decision boundaries around a backdoored digit
=====================================================

A decision map is an approximation: it shows the classifier on π⁻¹'s surface,
learnt from the samples. For a network built from ReLU layers there is also ground
truth: on any plane through input space, the network is affine on each of finitely
many polygons, and :class:`didi.exact.PlanarSlice` computes them and the decision
boundary exactly (SplineCam's method), with no sampling.

Here a small ReLU network learns scikit-learn's digits with a backdoor: 10 % of the
training images carry a bright 2×2 patch in their top-left corner and are relabelled
0. We slice input space through a clean test digit, the same digit with the patch,
and the nearest clean 0, and see where the backdoor's region lies, how narrow it
is, and how many boundary crossings the DiDi distance's sampled paths would miss on
the segment between the clean and the stamped digit.
"""

# %%
# A backdoored network
# --------------------
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from didi import DecisionMap
from didi.exact import PlanarSlice, exact_paths
from didi.plotting import PlanarSliceDisplay
from didi.torch import TorchClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=400, random_state=0)


def stamp(images):
    stamped = images.reshape(-1, 8, 8).copy()
    stamped[:, :2, :2] = 1.0
    return stamped.reshape(len(images), 64)


rng = np.random.default_rng(0)
poisoned = rng.choice(len(X_train), size=len(X_train) // 10, replace=False)
X_train[poisoned], y_train[poisoned] = stamp(X_train[poisoned]), 0

torch.manual_seed(0)
net = torch.nn.Sequential(
    torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32), torch.nn.ReLU(),
    torch.nn.Linear(32, 10),
)  # fmt: skip
optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
inputs, targets = torch.as_tensor(X_train, dtype=torch.float32), torch.as_tensor(y_train)
for _ in range(300):
    optimiser.zero_grad()
    torch.nn.functional.cross_entropy(net(inputs), targets).backward()
    optimiser.step()
clf = TorchClassifier(net.eval())
clean_accuracy = (clf.predict(X_test) == y_test).mean()
attack = (clf.predict(stamp(X_test[y_test != 0])) == 0).mean()
print(f"clean test accuracy {clean_accuracy:.3f}, stamped digits read as 0: {attack:.3f}")

# %%
# The plane through a digit, its stamped copy and its nearest 0
# -------------------------------------------------------------
# ``anchors`` fix the plane; its coordinates are Euclidean lengths in pixel space.
# The first anchor is the origin, the second lies on the ``u`` axis.
sevens = np.flatnonzero(
    (y_test == 7) & (clf.predict(X_test) == 7) & (clf.predict(stamp(X_test)) == 0)
)
seven = X_test[sevens[0]]
zeros = X_test[y_test == 0]
nearest_zero = zeros[np.argmin(np.linalg.norm(zeros - seven, axis=1))]
anchors = np.stack([seven, stamp(seven[None])[0], nearest_zero])
plane = PlanarSlice(clf, anchors=anchors, margin=0.3).fit()
print(
    f"{plane.n_linear_regions_} linear regions, {len(plane.regions_)} cells, "
    f"{len(plane.boundary_)} boundary segments"
)

fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), layout="constrained")
labels = ["7", "7 + patch", "nearest 0"]
PlanarSliceDisplay.from_estimator(plane, ax=axes[0], anchor_labels=labels, title="predicted class")
PlanarSliceDisplay.from_estimator(
    plane, ax=axes[1], color_by="slope", anchor_labels=labels, title="steepness of the logits"
)

# %%
# The stamped 7 sits in a region of class 0 that reaches towards the clean 7 along
# the ``u`` axis: every point on the segment between them is the 7 with a fainter
# patch. Where along it does the prediction flip, and what do sampled paths see?
path = exact_paths(clf, seven[None], anchors[1][None])[0]
print("class changes at t =", np.round(path.crossings, 4), "→ classes", path.classes[[0, -1]])
for n_steps in (0, 1, 5, 10):
    print(
        f"n_steps={n_steps:>2}: {path.missed_crossings(n_steps)} crossing(s) missed, "
        f"path length {path.path_length(n_steps):.4f} (resolved {path.path_length():.4f})"
    )

# %%
# The slice beside the decision map
# ---------------------------------
# A decision map shows the classifier on π⁻¹'s surface, which is curved and passes
# near the mapped samples; the slice is flat and passes through three samples. They
# share those samples, not the surface, so they are compared at points, not pixel by
# pixel: ``decision_map=`` places the plane's points on the map by its ``transform``,
# and ``plot_on_map`` draws them in their exact class over the map, titled with the
# share of them where the map shows that class (the classifier at π⁻¹ of the placed
# point).
mapped = np.vstack([X_test[:300], anchors])
dmap = DecisionMap(clf, n_neighbors=10, resolution=60, random_state=0).fit(
    mapped, clf.predict(mapped)
)
fig, axes = plt.subplots(1, 2, figsize=(14, 6), layout="constrained")
disp = PlanarSliceDisplay.from_estimator(
    plane, decision_map=dmap, ax=axes[0], anchor_labels=labels, legend=False, title="the slice"
)
disp.plot_on_map(dmap, ax=axes[1])
disp.map_ax_.scatter(*dmap.embedding_[-3:].T, marker="*", s=250, c="white", edgecolors="black")
print(
    f"the map shows the plane's exact class at {disp.map_comparison['agreement']:.0%} of its points"
)
plt.show()

# %%
# The plane's points land with the samples of their exact class (the 7s, the 0s, and
# the thin strips of 1 and 8 at the plane's edge near the 1s and the 8s), and the map
# shows their exact class almost everywhere: only points placed between clusters
# disagree. What the map cannot show is the geometry of the plane itself: how close
# the clean 7 is to the backdoor's region, and that a straight line leads there.
