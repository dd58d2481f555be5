"""Sphinx configuration of didi's documentation.

Build it with::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The build needs no network: cross-references to other projects' documentation
(intersphinx) are off unless ``DIDI_DOCS_INTERSPHINX=1`` is set. Offline, the
names of other projects' objects are left unlinked (``nitpick_ignore_regex``
below), while every reference to didi's own objects must resolve.
"""

import atexit
import hashlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

# Keras picks its backend when it is first imported; PyTorch is the one installed
# with the docs extra (``didi[torch]``), TensorFlow and JAX need not be.
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")

import didi

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))  # didi_gallery

# -- Project -----------------------------------------------------------------------

project = "didi"
author = "the didi developers"
copyright = "the didi developers"
release = didi.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
default_role = "literal"  # `x` in a docstring is code, as in Markdown
nitpicky = True

# -- Autodoc, autosummary, numpydoc -------------------------------------------------

autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # the numpydoc sections carry the types
add_module_names = False

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = True

# Words of the type descriptions that name no object: dimensions of shapes and
# plain words.
numpydoc_xref_ignore = {
    "of",
    "or",
    "and",
    "shape",
    "default",
    "optional",
    "keyword-only",
    "dtype",
    "len",
    "rows",
    "on",
    "these",
    "total",
    "ignored",
    "fitted",
    "map",
    "distances",
    "matrix",
    "n",
    "k",
    "d",
    "a",
    "b",
    "resolution",
    "n_samples",
    "n_features",
    "n_classes",
    "n_new",
    "n_centers",
    "n_points",
    "n_positions",
    "n_values",
    "n_queries",
    "n_pairs",
    "n_a",
    "n_b",
    "n_fitted",
    "n_components",
    "n_candidates",
    "n_pieces",
    "n_outputs",
    "n_regions",
    "n_vertices",
    "n_segments",
    "n_paths",
    "n_checkpoints",
    "n_neighbors",
    "to",
    "classifier",
    "u_min",
    "u_max",
    "v_min",
    "v_max",
    "input_shape",
    "self",
    "n_labels",
    "one",
    "two",
    "label",
    "class",
    "X.shape",
}

# Type names written for readers; they point at the owning project's object, or
# at a python builtin. Without intersphinx they stay unlinked (see nitpick below).
numpydoc_xref_aliases = {
    "CheckpointRecorder": "didi.CheckpointRecorder",
    "DecisionMapSequence": "didi.DecisionMapSequence",
    # python: plain names, so that they resolve through intersphinx when it is on
    "None": "None",
    "True": "True",
    "False": "False",
    "bool": "bool",
    "boolean": "bool",
    "int": "int",
    "float": "float",
    "str": "str",
    "string": "str",
    "list": "list",
    "tuple": "tuple",
    "dict": "dict",
    "callable": "callable",
    "iterable": "collections.abc.Iterable",
    "sequence": "collections.abc.Sequence",
    "path-like": "os.PathLike",
    "generator": "collections.abc.Generator",
    # numpy, scipy, scikit-learn, matplotlib, joblib, umap-learn
    "array-like": "numpy.typing.ArrayLike",
    "array_like": "numpy.typing.ArrayLike",
    "ndarray": "numpy.ndarray",
    "array": "numpy.ndarray",
    "RandomState": "numpy.random.RandomState",
    "Generator": "numpy.random.Generator",
    "sparse": "scipy.sparse",
    "csr_matrix": "scipy.sparse.csr_matrix",
    "Axes": "matplotlib.axes.Axes",
    "Figure": "matplotlib.figure.Figure",
    "Memory": "joblib.Memory",
    "Bunch": "sklearn.utils.Bunch",
    "DataFrame": "pandas.DataFrame",
    "uint8": "numpy.uint8",
    "Colormap": "matplotlib.colors.Colormap",
    "AxesImage": "matplotlib.image.AxesImage",
    "Colorbar": "matplotlib.colorbar.Colorbar",
    "PathCollection": "matplotlib.collections.PathCollection",
    "Annotation": "matplotlib.text.Annotation",
    "path": "os.PathLike",
    # didi's own classes, by their public names wherever a docstring lives
    "DecisionMap": "didi.DecisionMap",
    "DecisionMapDisplay": "didi.DecisionMapDisplay",
    "ProbeDisplay": "didi.ProbeDisplay",
    "FisherJSMetric": "didi.FisherJSMetric",
    "FisherUMAP": "didi.FisherUMAP",
    "RBFInverse": "didi.RBFInverse",
    "MapExplorer": "didi.plotting.MapExplorer",
    "TorchClassifier": "didi.torch.TorchClassifier",
    "KerasModelClassifier": "didi.keras.KerasModelClassifier",
    "OnnxClassifier": "didi.onnx.OnnxClassifier",
    "PlanarSlice": "didi.exact.PlanarSlice",
    "ExactPath": "didi.exact.ExactPath",
    "PlanarSliceDisplay": "didi.plotting.PlanarSliceDisplay",
    "Tensor": "torch.Tensor",
    "PolyCollection": "matplotlib.collections.PolyCollection",
    "LineCollection": "matplotlib.collections.LineCollection",
    "Rectangle": "matplotlib.patches.Rectangle",
    "BarContainer": "matplotlib.container.BarContainer",
    "Line2D": "matplotlib.lines.Line2D",
    "InactiveUnits": "didi.introspection.InactiveUnits",
    "PrincipalFilters": "didi.introspection.PrincipalFilters",
    "SaliencyDisplay": "didi.SaliencyDisplay",
    "MapConfusionDisplay": "didi.MapConfusionDisplay",
}

# Other projects' objects cannot be linked offline; they are named, not linked.
# Only these are exempt: a reference to didi's own objects that does not resolve
# fails the build.
_EXTERNAL = "|".join(
    "numpy scipy sklearn matplotlib mpl_toolkits umap pynndescent joblib pandas dask "
    "torch keras onnx onnxruntime skl2onnx skops tqdm collections os pathlib typing python".split()
)
_BUILTINS = (
    "None True False bool int float complex str bytes list tuple dict set frozenset "
    "object type callable slice range Ellipsis NotImplemented "
    "Exception ValueError TypeError MemoryError RuntimeError KeyboardInterrupt "
    "NotFittedError"
).split()
nitpick_ignore = [
    # a dimension in a shape, which numpydoc links because of its trailing "_"
    ("py:obj", "n_neighbors_"),
]
nitpick_ignore_regex = [
    (r"py:.*", rf"~?(?:{_EXTERNAL})(?:\..+)?"),
    (r"py:.*", rf"(?:{'|'.join(_BUILTINS)})"),
]

# -- Cross-references to other projects ---------------------------------------------

# Off by default: the inventories would be downloaded at every build.
if os.environ.get("DIDI_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
    }
else:
    intersphinx_mapping = {}

# -- MyST (the user guide is Markdown) ---------------------------------------------

myst_heading_anchors = 3

# -- Gallery -----------------------------------------------------------------------

# The examples that run at build time, each in a few seconds here; the others are
# shown without being run (examples/GALLERY_HEADER.rst says which and why).
EXECUTED_EXAMPLES = (
    "plot_digits_decision_map",
    "precomputed_distances",
    "explore_and_share",
    "plot_exact_backdoor_slice",
    "plot_training_sequence",
    "plot_data_faults",
    "plot_map_evidence",
    "plot_saliency",
)


def _examples_copy() -> str:
    """A copy of ``examples/`` in the temporary folder, removed when Sphinx exits.

    sphinx-gallery runs each example in the example's own folder, and the
    examples write their pictures and web pages into the working directory:
    running the copy keeps those files out of the source tree. The folder's name
    depends only on this checkout, so that Sphinx sees the same configuration
    from one build to the next and rebuilds only what changed.
    """
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"didi-docs-examples-{checkout}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in (ROOT / "examples").iterdir():
        if path.suffix in (".py", ".rst", ".txt"):
            shutil.copy2(path, folder / path.name)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return str(folder)


sphinx_gallery_conf = {
    "examples_dirs": _examples_copy(),
    "gallery_dirs": "auto_examples",
    "filename_pattern": rf"{re.escape(os.sep)}(?:{'|'.join(EXECUTED_EXAMPLES)})\.py$",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("didi",),
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    # the page of timings would name the temporary folder and load scripts from CDNs
    "write_computation_times": False,
    "plot_gallery": "True",
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    # figures saved as the examples save them (a string: Sphinx can cache it)
    "image_scrapers": ("didi_gallery.matplotlib_tight",),
}

# -- HTML --------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"didi {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}

# -- Setup ---------------------------------------------------------------------------


def _skip_member(app, what, name, obj, skip, options):
    """Document a class's members that didi defines, inherited ones included.

    The class pages list inherited members too, so that an adapter's ``fit``,
    ``predict`` and ``classes_`` (defined on a private base class) are shown;
    members that come from scikit-learn's base classes and mixins (``get_params``,
    ``set_output``, the ``set_*_request`` methods of metadata routing, ...) are
    documented by scikit-learn and left out here.
    """
    if what != "class":
        return None
    target = obj.fget if isinstance(obj, property) else obj
    module = getattr(target, "__module__", None) or ""
    if module and not (module == "didi" or module.startswith("didi.")):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
