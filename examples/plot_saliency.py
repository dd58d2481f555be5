"""
Why a prediction is what it is: saliency, confusion, and one report
===================================================================

A map shows *where* a classifier decides what. Saliency shows *why*: which pixels raise
the score of the class the classifier gives a digit, at a mapped digit and at a position
of the map where π⁻¹ synthesises one. The confusion matrix beside the map says which
classes are mixed up, and a click on a cell rings those samples. Finally
:func:`didi.report` writes one page with every view, linked.

The classifier is a scikit-learn MLP, so saliency comes from finite differences of its
``predict_proba``: two inputs per pixel, counted and bounded.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from didi import DecisionMap, MapConfusionDisplay, SaliencyDisplay, report

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_map, y_train, y_map = train_test_split(X, y, test_size=300, stratify=y, random_state=0)
clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=0)
clf.fit(X_train, y_train)
dmap = DecisionMap(clf, resolution=60, random_state=0).fit(X_map, y_map)

# %%
# Saliency of four digits
# -----------------------
# Each row: the digit, the saliency of an empty (all-zero) image for the same class
# (where the MLP looks whatever it is shown), the digit's saliency, their difference
# and that difference times the digit. Red raises the log-probability of the class,
# blue lowers it; a row shares one colour scale.

shown = SaliencyDisplay.from_estimator(
    clf, X_map[:4], image_shape=(8, 8), method="finite_difference"
)
print(f"{shown.explanation.n_rows} inputs evaluated for 4 digits")

# %%
# Saliency of positions of the map
# --------------------------------
# Halfway between two mapped digits of different predicted classes π⁻¹ synthesises a
# blend; its saliency says which strokes the MLP reads there.

predicted = dmap.classes_[dmap.proba_.argmax(axis=1)]
first = int(np.flatnonzero(predicted == 3)[0])
second = int(np.flatnonzero(predicted == 8)[0])
positions = np.array(
    [dmap.embedding_[first], (dmap.embedding_[first] + dmap.embedding_[second]) / 2]
)
SaliencyDisplay.from_decision_map(dmap, positions, image_shape=(8, 8), method="finite_difference")

# %%
# The confusion matrix beside the map
# -----------------------------------
# In an interactive window a click on a cell rings its samples; here the most
# frequent confusion is ringed by hand.

confusion = MapConfusionDisplay.from_estimator(dmap)
off_diagonal = confusion.confusion_matrix_ - np.diag(np.diag(confusion.confusion_matrix_))
true, wrong = np.unravel_index(off_diagonal.argmax(), off_diagonal.shape)
ringed = confusion.highlight(dmap.classes_[true], dmap.classes_[wrong])
print(f"{len(ringed)} digits of class {dmap.classes_[true]} taken for {dmap.classes_[wrong]}")

# %%
# Everything in one page
# ----------------------
# The report links the map and its layers, the confusion matrix, familiarity rankings,
# near-duplicate sets, label-issue candidates, and the saliency of any selected sample
# or map position. It opens offline.

page = report(
    clf, X_map, y_map, output_dir="digits_report", image_shape=(8, 8),
    map_params={"resolution": 60}, layers=("boundary_distance",), progress=False,
)  # fmt: skip
print(f"wrote {page}")
plt.show()
