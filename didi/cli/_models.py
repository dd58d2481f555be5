"""Opening a saved classifier: the format is chosen by the file's suffix.

ONNX, skops, TorchScript, exported PyTorch programs and ``.keras`` files open
without running code of their author's; a pickle (joblib) file runs whatever it
holds, so it is opened only with ``--allow-pickle``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ._output import UsageError

#: Formats that open without running the file's code: suffix → what reads it.
SAFE_FORMATS = {
    ".onnx": "ONNX, through onnxruntime (didi[onnx])",
    ".skops": "scikit-learn models, through skops' safe loading (skops)",
    ".pt": "TorchScript, through torch.jit.load (didi[torch])",
    ".pt2": "an exported PyTorch program, through torch.export.load (didi[torch])",
    ".keras": "Keras 3, through keras.saving.load_model(safe_mode=True) (didi[keras])",
}

#: Formats that unpickle, and so run, what the file holds.
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def load_classifier(
    path: Path,
    *,
    allow_pickle: bool = False,
    trusted: list[str] | None = None,
    output: str | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> Any:
    """The classifier saved in ``path``, ready for ``predict_proba``.

    ``output`` and ``input_shape`` configure the adapter of a network or ONNX
    model (see :class:`~didi.torch.TorchClassifier`); ``trusted`` names the types
    a skops file may hold beyond skops' defaults.
    """
    if not path.is_file():
        raise UsageError(f"--model {path} does not exist.")
    suffix = path.suffix.lower()
    adapter_options = {
        key: value
        for key, value in (("output", output), ("input_shape", input_shape))
        if value is not None
    }
    if suffix in PICKLE_SUFFIXES:
        clf = _load_pickle(path, allow_pickle)
    elif suffix == ".skops":
        clf = _load_skops(path, trusted or [])
    elif suffix in SAFE_FORMATS:
        clf = _open(path, suffix, adapter_options)
    else:
        formats = ", ".join([*SAFE_FORMATS, *PICKLE_SUFFIXES])
        raise UsageError(f"--model {path}: unknown format {suffix!r}; didi reads {formats}.")
    if not hasattr(clf, "predict_proba"):
        raise UsageError(
            f"the object in --model {path} ({type(clf).__name__}) has no "
            "predict_proba; save a fitted classifier that has one."
        )
    return clf


def _require(package: str, extra: str, path: Path) -> None:
    if importlib.util.find_spec(package) is None:
        raise UsageError(f'--model {path} needs {package}: pip install "didi[{extra}]".')


def _load_pickle(path: Path, allow_pickle: bool) -> Any:
    import joblib

    if not allow_pickle:
        raise UsageError(
            f"--model {path} is a pickle: opening it runs whatever code it holds. Pass "
            "--allow-pickle for a file you trust, or save the model in a format that "
            f"runs no code ({', '.join(SAFE_FORMATS)})."
        )
    try:
        return joblib.load(path)
    except Exception as exc:  # unpickling fails in many ways
        raise UsageError(
            f"--model {path} could not be loaded with joblib ({type(exc).__name__}: {exc})."
        ) from exc


def _load_skops(path: Path, trusted: list[str]) -> Any:
    _require("skops", "skops", path)
    import skops.io

    try:
        needed = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # a damaged or foreign file
        raise UsageError(f"--model {path} is not a skops file ({exc}).") from exc
    unknown = [name for name in needed if name not in trusted]
    if unknown:
        raise UsageError(
            f"--model {path} holds types that skops does not trust by default: {unknown}. "
            "Check them, then pass --trust NAME for each."
        )
    return skops.io.load(path, trusted=needed)


def _load_network(path: Path, suffix: str, options: dict) -> Any:
    """An ONNX, TorchScript, exported PyTorch or Keras model in its adapter."""
    if suffix == ".onnx":
        _require("onnxruntime", "onnx", path)
        from ..onnx import OnnxClassifier

        return OnnxClassifier(str(path), **options)
    if suffix == ".keras":
        _require("keras", "keras", path)
        import keras

        from ..keras import KerasModelClassifier

        model = keras.saving.load_model(path, safe_mode=True)
        return KerasModelClassifier(model, **options)
    _require("torch", "torch", path)
    import torch

    from ..torch import TorchClassifier

    if suffix == ".pt":
        module = torch.jit.load(str(path), map_location="cpu")
    else:
        module = torch.export.load(str(path)).module()
    return TorchClassifier(module, **options)


def _open(path: Path, suffix: str, options: dict) -> Any:
    """:func:`_load_network`, with a file its reader refuses reported as a usage error."""
    try:
        return _load_network(path, suffix, options)
    except UsageError:
        raise
    except Exception as exc:  # each framework fails in its own way on a foreign file
        raise UsageError(
            f"--model {path} could not be opened as {SAFE_FORMATS[suffix]} "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:300]})."
        ) from exc
