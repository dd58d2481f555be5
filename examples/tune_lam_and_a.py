"""Choose λ and a with GridSearchCV, by the paper's quality scores
===============================================================

The paper picks λ as the largest value that does not degrade Q_kNN, and a as the
smallest that does not drop Q_data (section 5.2). Here every combination is
cross-validated: held-out digits are placed into each fitted map and scored there.
The classifier is prefit and stays as it is.

Run: ``python examples/tune_lam_and_a.py``
"""

import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier

from didi import DecisionMap, quality_scorers

X, y = load_digits(return_X_y=True)
clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=1000, random_state=0).fit(X[400:], y[400:])

search = GridSearchCV(
    DecisionMap(clf, resolution=30, random_state=0),
    {"lam": [0.2, 0.5, 0.65, 0.8], "a": [50, 500]},
    scoring=quality_scorers(),
    refit="q_not_data",
    cv=3,
).fit(X[:400])

columns = ["param_lam", "param_a"] + [f"mean_test_{s}" for s in quality_scorers()]
print(pd.DataFrame(search.cv_results_)[columns].round(3).to_string(index=False))
print("best:", search.best_params_)
