"""Command line: ``didi demo`` maps an MLP on the digits data; ``didi map`` maps yours;
``didi report`` writes a page with every view of yours.

Run ``python -m didi --help`` (or ``didi --help`` once installed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..saliency import METHODS as SALIENCY_METHODS
from ._commands import run_demo, run_map, run_report
from ._output import UsageError


def _shape(text: str) -> tuple[int, ...]:
    """``"1x28x28"`` → ``(1, 28, 28)``, for ``--model-input-shape``."""
    try:
        shape = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected a shape like 784 or 1x28x28; got {text!r}")
    return shape


def _image_shape(text: str) -> tuple[int, ...]:
    """``"28x28"`` → ``(28, 28)``, for ``--image-shape``."""
    try:
        shape = _shape(text)
    except argparse.ArgumentTypeError:
        shape = ()
    if len(shape) not in (2, 3):
        raise argparse.ArgumentTypeError(f"expected a shape like 28x28 or 3x32x32; got {text!r}")
    return shape


def _lam(text: str) -> float | str:
    """``--lam``: a number, or ``auto``."""
    return "auto" if text == "auto" else float(text)


def _names(text: str) -> tuple[str, ...]:
    """``"a,b"`` → ``("a", "b")``; ``"none"`` → ``()``."""
    return () if text == "none" else tuple(part.strip() for part in text.split(",") if part.strip())


def _unit_layers(text: str) -> str | tuple[str, ...] | None:
    """``--unit-layers``: ``auto``, ``none`` or module names."""
    if text in ("auto", "none"):
        return None if text == "none" else text
    names = _names(text)
    if not names:
        raise argparse.ArgumentTypeError("expected auto, none or module names like 1,3")
    return names


def _add_output_options(
    parser: argparse.ArgumentParser,
    default: str = "didi-output",
    files: str = "the PNG, the web page, the JSON scores and the embedding",
) -> None:
    """The options every subcommand that draws a map shares."""
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path(default),
        help=f"folder for {files}, written together once the work is done; a run that "
        "fails or is interrupted leaves it as it was (default: %(default)s)",
    )
    parser.add_argument(
        "--resolution",
        type=int,
        default=100,
        help="grid cells per axis of the map (default: %(default)s)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error instead of a one-line message",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``didi`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="didi",
        description="Decision maps of classifiers (DeepView): see what a trained "
        "classifier does, as a picture.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_demo_command(sub)
    _add_map_command(sub)
    _add_report_command(sub)
    return parser


def _add_demo_command(sub) -> None:
    """``didi demo``: the digits MLP."""
    demo = sub.add_parser(
        "demo",
        help="map an MLP trained on scikit-learn's bundled digits",
        description="Train an MLP on scikit-learn's bundled digits, draw the decision map "
        "of held-out digits and print the four quality scores. Writes "
        "decision_map.png, decision_map.html (a self-contained page to explore), "
        "scores.json and embedding.npz to --output-dir.",
    )
    _add_output_options(demo)
    demo.add_argument(
        "--n-samples",
        type=int,
        default=600,
        help="held-out digits to map; the rest train the MLP (default: %(default)s)",
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed for the split, the MLP and the map (default: %(default)s)",
    )


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    """How ``didi map`` opens the classifier's file."""
    parser.add_argument(
        "--model",
        type=Path,
        required=True,
        help="the fitted classifier: .onnx (onnxruntime), .skops (a scikit-learn model "
        "saved with skops.io.dump), .pt (TorchScript), .pt2 (torch.export), .keras, or "
        "a pickle (.joblib, .pkl; needs --allow-pickle)",
    )
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="open a pickled model (.joblib, .pkl), which runs the code it holds",
    )
    parser.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="TYPE",
        help="a type a .skops file may hold beyond skops' defaults (repeat for each; "
        "the error for an untrusted file lists them)",
    )
    parser.add_argument(
        "--model-output",
        choices=("logits", "probabilities", "log_probabilities"),
        default=None,
        help="what a network or ONNX model returns (default: logits for PyTorch, "
        "probabilities for Keras and ONNX)",
    )
    parser.add_argument(
        "--model-input-shape",
        type=_shape,
        default=None,
        help="the shape one sample takes for a network or ONNX model, e.g. 1x28x28 "
        "(default: the samples' own shape)",
    )


def _add_map_command(sub) -> None:
    """``didi map``: a saved classifier on samples from a file."""
    mapper = sub.add_parser(
        "map",
        help="map your own samples and saved classifier",
        description="Draw the decision map of a saved classifier on samples from a .npz "
        "file and print the four quality scores. Writes decision_map.png, decision_map.html, "
        "scores.json and embedding.npz to --output-dir. The model's format is chosen by "
        "its file: .onnx, .skops, .pt (TorchScript), .pt2 (exported PyTorch) and .keras "
        "open without running code from the file; a pickle (.joblib, .pkl) runs what it "
        "holds and opens only with --allow-pickle: use it only for files you trust.",
    )
    _add_sample_options(mapper)
    _add_model_options(mapper)
    _add_output_options(mapper)
    _add_map_params(mapper)
    mapper.add_argument(
        "--verbose", action="store_true", help="show progress bars on the long stages"
    )


def _add_report_command(sub) -> None:
    """``didi report``: every view of a saved classifier on samples from a file."""
    reporter = sub.add_parser(
        "report",
        help="write a report page: map, layers, confusion, familiarity, duplicates, "
        "label issues, saliency, units",
        description="Write index.html, one page that opens offline and links every view "
        "of a saved classifier on samples from a .npz file: the decision map with its "
        "layers and scores, the confusion matrix, the least and most familiar samples, "
        "near-duplicate sets, label-issue candidates, the saliency of any selected sample "
        "or map position, and for PyTorch networks inactive units and principal filters; "
        "and report.json with its figures. Models open as for 'didi map'.",
    )
    _add_sample_options(reporter)
    _add_model_options(reporter)
    _add_output_options(reporter, "didi-report", "the page (index.html) and report.json")
    _add_map_params(reporter)
    reporter.add_argument(
        "--layers",
        type=_names,
        default=("boundary_distance",),
        help="map layers to compute beyond the gradient, comma-separated, or 'none' "
        "(default: boundary_distance; consistency costs about 280 classifier rows per cell)",
    )
    reporter.add_argument(
        "--saliency-method",
        choices=SALIENCY_METHODS,
        default="auto",
        help="how saliency is computed (default: gradients where the model has them, "
        "else finite differences or occlusion)",
    )
    reporter.add_argument(
        "--unit-layers",
        type=_unit_layers,
        default="auto",
        help="a PyTorch network's modules to analyse, comma-separated; 'auto' takes its "
        "activation modules, 'none' skips the unit analyses (default: auto)",
    )
    reporter.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_sample_options(parser: argparse.ArgumentParser) -> None:
    """Where the samples come from."""
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="a .npz file with the samples (array --x-key, any shape the classifier "
        "accepts) and optionally their true labels (array --y-key)",
    )
    parser.add_argument(
        "--x-key", default="X", help="name of the samples' array in --data (default: X)"
    )
    parser.add_argument(
        "--y-key",
        default="y",
        help="name of the true labels' array in --data, used if present (default: y)",
    )
    parser.add_argument(
        "--n-samples",
        type=int,
        default=None,
        help="map a random subset of this many samples (default: all)",
    )
    parser.add_argument(
        "--image-shape",
        type=_image_shape,
        default=None,
        help="show flat samples as images of this shape in the web page, e.g. 28x28 or "
        "3x32x32 (default: shown as images only if the samples already have an image shape)",
    )


def _add_map_params(parser: argparse.ArgumentParser) -> None:
    """The decision map's parameters."""
    parser.add_argument(
        "--lam",
        type=_lam,
        default=0.65,
        help="weight of the input-space distance, in [0, 1], or 'auto' to choose it "
        "by the paper's recipe (default: %(default)s)",
    )
    parser.add_argument(
        "--a",
        type=float,
        default=500.0,
        help="sharpness of the inverse projection (default: %(default)s)",
    )
    parser.add_argument(
        "--n-neighbors", type=int, default=30, help="UMAP's neighbourhood (default: %(default)s)"
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed for the subset and the map (default: %(default)s)",
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="parallel jobs for the path evaluations (default: one)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Mistakes in the options, the files or the data are reported in one line with
    exit status 2 (``--debug`` shows the traceback instead); an interrupted run
    writes nothing.
    """
    args = build_parser().parse_args(argv)
    commands = {"demo": run_demo, "map": run_map, "report": run_report}
    try:
        result = commands[args.command](args)
    except KeyboardInterrupt:
        print(f"didi {args.command}: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except Exception as exc:  # the classifier's and its framework's errors included
        if args.debug:
            raise
        message = " ".join(str(exc).split())
        kind = "" if isinstance(exc, UsageError) else f"{type(exc).__name__}: "
        print(f"didi {args.command}: error: {kind}{message}", file=sys.stderr)
        return 2
    if args.command == "report":
        _print_report(result, args.output_dir)
        return 0
    what = "digits" if args.command == "demo" else "samples"
    accuracy = result.get("classifier_test_accuracy")
    chosen = getattr(args, "lam", None) == "auto"
    print(
        f"Decision map of {result['n_samples']} {what}"
        + ("" if accuracy is None else f" (MLP test accuracy {accuracy:.1%})")
        + f", fitted in {result['fit_seconds']:.1f} s"
        + (f", λ = {result['lam']} chosen by --lam auto" if chosen else "")
    )
    _print_scores(result["scores"], args.output_dir)
    return 0


def _print_report(result: dict, output_dir: Path) -> None:
    """What ``didi report`` found, in a few lines."""
    seconds = sum(result["stage_seconds"].values())
    print(f"Report on {result['summary']['samples']} samples written in {seconds:.0f} s:")
    print(f"  unfamiliar samples   {len(result['unfamiliar'])}")
    print(f"  near-duplicate sets  {len(result['duplicate_sets'])}")
    print(f"  label issues         {len(result['label_issues'])}")
    print(f"Open {output_dir / 'index.html'} in a browser (it needs no network).")


def _print_scores(scores: dict, output_dir: Path) -> None:
    labels = {
        "q_knn_e": "Q_kNN-E",
        "q_knn": "Q_kNN",
        "q_data": "Q_data",
        "q_not_data": "Q_not_data",
        "acc_m": "Acc_m",
        "cons_d": "Cons_d",
    }
    for key, label in labels.items():
        value = scores[key]
        print(f"  {label:<11} {'n/a' if value is None else f'{value:6.1%}':>6}")
    print(f"  {'gradient':<11} {scores['gradient']:6.2f}  (mean ‖∂π⁻¹‖, data radii per map width)")
    print(
        f"Wrote {output_dir / 'decision_map.png'}, {output_dir / 'decision_map.html'}, "
        f"{output_dir / 'scores.json'} and {output_dir / 'embedding.npz'}"
    )
