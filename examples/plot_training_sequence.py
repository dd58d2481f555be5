"""Watch a model learn: decision maps across training epochs
==========================================================

A small neural network (scikit-learn's ``MLPClassifier``) learns the digits one epoch
at a time. A :class:`~didi.CheckpointRecorder` keeps a copy after epochs 1, 2, 4, 8 and
16; a :class:`~didi.DecisionMapSequence` maps the same 300 digits under each copy,
every map laid out near the one before, so that the digits move little where the model
changed little. The script

1. prints, per epoch, the accuracy, the share of predictions that flipped, how far the
   digits moved, and each map's quality score;
2. draws the maps as small multiples (``digits_training.png``);
3. writes ``digits_training.gif``, an animation in which the digits glide from one
   epoch's map to the next, and ``digits_training.html``, a web page with a slider
   over the epochs.

In a PyTorch loop, ``recorder.record(model)`` after each epoch does the same;
``didi.skorch.RecordCheckpoints`` and ``didi.keras.RecordCheckpoints`` are the
callbacks for skorch and Keras.

Run: ``python examples/plot_training_sequence.py``
"""

import warnings

import matplotlib

matplotlib.use("Agg")
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from didi import CheckpointRecorder
from didi.plotting import DecisionMapSequenceDisplay

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, y_train, X_map, y_map = X[300:], y[300:], X[:300], y[:300]

# %%
# Train, keeping a copy of the model after epochs 1, 2, 4, 8 and 16.
model = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=1e-2, random_state=0)
recorder = CheckpointRecorder(X_map)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    for epoch in range(1, 17):
        model.partial_fit(X_train, y_train, classes=np.arange(10))
        if epoch in (1, 2, 4, 8, 16):
            recorder.record(model, name=f"epoch {epoch}")

# %%
# Map the same digits under every checkpoint, each map aligned with the previous one.
sequence = recorder.sequence(n_neighbors=15, resolution=60, random_state=0).fit(X_map, y_map)
accuracy = [(proba.argmax(1) == y_map).mean() for proba in sequence.proba_]
print("epoch  accuracy  flipped  moved  q_not_data")
for k, name in enumerate(sequence.checkpoint_names_):
    flipped = moved = "     -"
    if k:
        flipped = f"{100 * sequence.transition_scores_['flips'][k - 1]:5.1f}%"
        moved = f"{sequence.transition_scores_['movement'][k - 1]:6.2f}"
    print(
        f"{name:9s} {100 * accuracy[k]:5.1f}%  {flipped}  {moved}"
        f"   {100 * sequence.scores_['q_not_data'][k]:5.1f}%"
    )

# %%
# Small multiples, all in one frame, then the animation and the web page.
display = DecisionMapSequenceDisplay.from_estimator(sequence, ncols=5, panel_size=2.6)
display.figure_.savefig("digits_training.png", dpi=80, bbox_inches="tight")
display.animate("digits_training.gif", steps_between=3, hold=2, dpi=60)
sequence.to_html("digits_training.html", title="Digits across training", image_shape=(8, 8))
