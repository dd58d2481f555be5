"""Doctest collection: the optional adapters need their frameworks."""

import importlib.util
import os

# Keras 3 picks its backend at import; torch is the one the test extra installs.
os.environ.setdefault("KERAS_BACKEND", "torch")

#: Each optional adapter's public module and its private one, by the package it needs.
_ADAPTERS = {"torch": "torch", "keras": "keras", "onnx": "onnxruntime", "skorch": "skorch"}

collect_ignore = [
    path
    for name, package in _ADAPTERS.items()
    if importlib.util.find_spec(package) is None
    for path in (f"didi/{name}.py", f"didi/adapters/_{name}.py")
]

#: Private modules beyond the adapters that import torch at the top.
_TORCH_MODULES = ["didi/adapters/_gradients.py", "didi/adapters/_layer_responses.py"]
if importlib.util.find_spec("torch") is None:
    collect_ignore += _TORCH_MODULES
