"""Doctest collection: the optional deep-learning adapters need their frameworks."""

import importlib.util
import os

# Keras 3 picks its backend at import; torch is the one the test extra installs.
os.environ.setdefault("KERAS_BACKEND", "torch")

collect_ignore = [
    f"didi/{name}.py" for name in ("torch", "keras") if importlib.util.find_spec(name) is None
]
