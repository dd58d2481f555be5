"""Doctest collection: the optional deep-learning adapters need their frameworks."""

import importlib.util
import os

# Keras 3 picks its backend at import; torch is the one the test extra installs.
os.environ.setdefault("KERAS_BACKEND", "torch")

collect_ignore = [
    path
    for framework in ("torch", "keras")
    if importlib.util.find_spec(framework) is None
    for path in (f"didi/{framework}.py", f"didi/adapters/_{framework}.py")
]
