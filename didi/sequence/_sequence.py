"""``DecisionMapSequence``: decision maps of one set of samples across checkpoints."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any, ClassVar

import joblib
import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from .._base import check_samples, forwarded_params
from .._frames import FrameSpec, feature_names_of
from .._validation import (
    CLASSIFIER,
    Interval,
    Options,
    Satisfies,
    check_value,
    validate_params,
)
from ..decision_map import DecisionMap
from ..decision_map._quality import FIT_SCORE_NAMES, SCORE_NAMES
from ..distance._stores import SamplePairMemory
from ._layout import AlignedLayout, layout_graph
from ._temporal import transition_measures

#: The scores every map's fit makes, kept per checkpoint in ``scores_``.
FIT_SCORES = (*SCORE_NAMES, *FIT_SCORE_NAMES)

ALIGNMENTS = ("aligned", "independent")


def _is_checkpoint_list(value: Any) -> bool:
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = list(value)
    else:  # a generator would be used up by this very check
        return False
    return all(CLASSIFIER.accepts(item) for item in items)


CHECKPOINTS = Satisfies(
    lambda value: value is None or _is_checkpoint_list(value),
    "None, a list of fitted classifiers (or callables), or a dict from names to them",
)


def checkpoint_items(checkpoints: Any) -> list[tuple[str, Any]]:
    """``(name, classifier)`` pairs of a list (named by position) or a dict."""
    if checkpoints is None:
        return []
    if isinstance(checkpoints, Mapping):
        return [(str(name), item) for name, item in checkpoints.items()]
    return [(str(index), item) for index, item in enumerate(checkpoints)]


class DecisionMapSequence(BaseEstimator):
    """Decision maps of the same samples under a sequence of classifiers, kept still
    where the classifier stays still.

    One :class:`DecisionMap` per checkpoint (e.g. a model after each training
    epoch), all of the same samples. With ``alignment="aligned"`` each map after
    the first starts from the previous map's positions and is laid out with UMAP's
    objective on its own DiDi graph plus a pull towards the previous positions,
    weighted per sample by how much of its DiDi neighbourhood survived (the
    objective of umap-learn's ``AlignedUMAP``, on didi's precomputed graphs): the
    pull is strongest on samples whose neighbourhood did not change and absent on
    those whose neighbourhood is new. A checkpoint whose DiDi graph equals the previous one's keeps
    the previous map exactly. ``alignment="independent"`` fits every map on its
    own, as :class:`DecisionMap` would.

    Work that does not depend on the classifier is done once: the Euclidean UMAP
    behind ``q_knn_e`` is shared by all maps. Path lengths are handed from one
    checkpoint to the next and reused when the classifier is recognised as
    unchanged (same probabilities at the samples and at 16 fixed points between
    them); a changed classifier needs its paths evaluated anew.

    Parameters
    ----------
    checkpoints : list or dict, default=None
        Fitted classifiers (anything :class:`DecisionMap` accepts), oldest first, or
        a dict from names (e.g. ``"epoch 3"``) to them. ``None`` starts empty: add
        checkpoints one at a time with :meth:`add_checkpoint`. They are only
        queried, and shared (not copied) by :func:`~sklearn.base.clone`.
    alignment : {"aligned", "independent"}, default="aligned"
        Whether each map is laid out near the previous one, or on its own.
    alignment_strength : float, default=0.01
        ``λ``, the weight of the pull towards the previous positions against
        UMAP's forces (umap-learn's ``alignment_regularisation``; its default). Larger
        values move the maps less and follow each graph less closely.
    lam, n_steps, n_neighbors, min_dist, spread, a, b, resolution, holdout, scoring, \
random_state, base_metric, mode, scale, n_centers, alpha, margin, n_jobs, memory, \
verbose, batch_size, n_epochs, umap_kwargs, embedder, grid, layout_device, \
inverse_device
        Every map's parameters, as in :class:`DecisionMap`; ``lam`` is one number for
        all maps (maps at different λ do not compare: choose it once with
        ``DecisionMap(checkpoint, lam="auto").fit(X).lam_``). An aligned layout runs
        ``n_epochs`` epochs (200, as ``AlignedUMAP``, when ``None``); it is UMAP's
        objective, so ``embedder="tsne"`` needs ``alignment="independent"``.
        ``layout_device`` lays out the first map, independent maps and the Euclidean
        UMAP on the device; aligned layouts run umap-learn's numba kernel.
        ``inverse_device`` is read again by :meth:`to_html`, as by
        :meth:`DecisionMap.inverse_transform`.

    Attributes
    ----------
    maps_ : list of DecisionMap
        One fitted map per checkpoint, in order.
    checkpoint_names_ : list of str
        The checkpoints' names (their dict keys, or their positions).
    embeddings_ : ndarray of shape (n_checkpoints, n_samples, 2)
        Every map's positions of the samples.
    proba_ : ndarray of shape (n_checkpoints, n_samples, n_classes)
        Every checkpoint's probabilities of the samples.
    classes_ : ndarray of shape (n_classes,)
        The classes, the same for every checkpoint.
    scores_ : dict of str to ndarray of shape (n_checkpoints,)
        Each quality score of :class:`DecisionMap` per map.
    movement_ : ndarray of shape (n_checkpoints - 1, n_samples)
        How far each sample moved from one map to the next (for independent maps,
        after rotating, scaling and shifting the next map onto the previous one:
        their orientation is arbitrary).
    flips_ : ndarray of bool, shape (n_checkpoints - 1, n_samples)
        Whose predicted class changed from one checkpoint to the next.
    neighbour_preservation_ : ndarray of shape (n_checkpoints - 1, n_samples)
        How much of each sample's DiDi neighbourhood survived to the next
        checkpoint: the Jaccard index of its neighbours in the two maps' fuzzy
        graphs (``projection_.umap_.graph_``), in ``[0, 1]``; the same overlap
        weighs the aligned layout's pull. (DeepVisualInsight's rate is
        ``|N_t ∩ N_{t+1}| / k`` on k-NN lists.)
    transition_scores_ : dict of str to ndarray of shape (n_checkpoints - 1,)
        Per transition: ``"movement"`` (mean of ``movement_``), ``"flips"`` (share
        of samples that flipped), ``"neighbour_preservation"`` (mean),
        ``"temporal_preservation"`` (DeepVisualInsight's measure: the Spearman
        correlation over the samples between neighbourhood preservation and
        *absence* of movement, ``−ρ(α, δ)``, in ``[−1, 1]``, higher is better;
        ``nan`` when nothing moved) and ``"procrustes_disparity"`` (how much the
        map's shape changed, in ``[0, 1]``, see :func:`scipy.spatial.procrustes`).
    n_classifier_rows_ : ndarray of int, shape (n_checkpoints,)
        Rows each map passed to its classifier.
    fit_seconds_ : ndarray of shape (n_checkpoints,)
        Seconds each map took.

    See Also
    --------
    DecisionMap : One map.
    didi.plotting.DecisionMapSequenceDisplay : Small multiples and animations.
    didi.CheckpointRecorder : Keep checkpoints while a model trains.

    Examples
    --------
    >>> import copy
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import SGDClassifier
    >>> from didi import DecisionMapSequence
    >>> X, y = load_iris(return_X_y=True)
    >>> model = SGDClassifier(loss="log_loss", random_state=0)
    >>> checkpoints = []
    >>> for epoch in range(3):
    ...     checkpoints.append(copy.deepcopy(model.partial_fit(X, y, classes=[0, 1, 2])))
    >>> seq = DecisionMapSequence(checkpoints, n_neighbors=10, resolution=10, random_state=0)
    >>> seq.fit(X, y).embeddings_.shape
    (3, 150, 2)
    >>> seq.flips_.shape
    (2, 150)
    """

    def __init__(
        self,
        checkpoints: Any = None,
        *,
        alignment: str = "aligned",
        alignment_strength: float = 0.01,
        lam: float = 0.65,
        n_steps: int = 5,
        n_neighbors: int = 30,
        min_dist: float = 0.1,
        spread: float = 1.0,
        a: float = 500,
        b: float = 1,
        resolution: int = 100,
        holdout: float = 0.3,
        scoring: str = "q_not_data",
        random_state: Any = None,
        base_metric: str = "euclidean",
        mode: str = "auto",
        scale: str = "typical",
        n_centers: int | str = "auto",
        alpha: float = 0.03,
        margin: float = 0.05,
        n_jobs: int | None = None,
        memory: Any = None,
        verbose: bool = False,
        batch_size: int | None = None,
        n_epochs: int | None = None,
        umap_kwargs: dict | None = None,
        embedder: str = "umap",
        grid: str = "full",
        layout_device: Any = None,
        inverse_device: Any = None,
    ) -> None:
        self.checkpoints = checkpoints
        self.alignment = alignment
        self.alignment_strength = alignment_strength
        self.lam = lam
        self.n_steps = n_steps
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.spread = spread
        self.a = a
        self.b = b
        self.resolution = resolution
        self.holdout = holdout
        self.scoring = scoring
        self.random_state = random_state
        self.base_metric = base_metric
        self.mode = mode
        self.scale = scale
        self.n_centers = n_centers
        self.alpha = alpha
        self.margin = margin
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose
        self.batch_size = batch_size
        self.n_epochs = n_epochs
        self.umap_kwargs = umap_kwargs
        self.embedder = embedder
        self.grid = grid
        self.layout_device = layout_device
        self.inverse_device = inverse_device

    _parameter_constraints: ClassVar[dict] = {
        **{k: v for k, v in DecisionMap._parameter_constraints.items() if k != "estimator"},
        # One λ for every map: lam="auto" would choose one per checkpoint.
        "lam": [Interval(Real, 0, 1)],
        "checkpoints": [CHECKPOINTS],
        "alignment": [Options(ALIGNMENTS)],
        "alignment_strength": [Interval(Real, 0, None)],
    }

    def __sklearn_clone__(self) -> DecisionMapSequence:
        # The checkpoints are fitted classifiers: a clone shares them (cloning
        # would hand it unfitted copies), as DecisionMap shares its estimator.
        params = self.get_params(deep=False)
        checkpoints = params.pop("checkpoints")
        params = {name: clone(value, safe=False) for name, value in params.items()}
        return type(self)(checkpoints, **params)

    def fit(self, X: Any, y: Any = None) -> DecisionMapSequence:
        r"""Map ``X`` under every checkpoint.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \*shape)
            Samples to show, the same for every checkpoint.
        y : array-like of shape (n_samples,), default=None
            True labels, for display.

        Returns
        -------
        self : DecisionMapSequence
        """
        validate_params(self)
        items = checkpoint_items(self.checkpoints)
        if not items:
            raise ValueError(
                "DecisionMapSequence.fit needs at least one checkpoint; pass checkpoints, "
                "or add them one at a time with add_checkpoint(classifier, X)."
            )
        state = self._start(X, y)
        for name, estimator in items:
            self._extend(state, estimator, name)
        self._keep(state)
        return self

    def add_checkpoint(
        self, estimator: Any, X: Any = None, y: Any = None, *, name: str | None = None
    ) -> DecisionMapSequence:
        r"""Map the samples under one more checkpoint, e.g. during training.

        The first call (on an unfitted sequence) takes the samples; later calls map
        the same samples and must not pass them again. The classifier is used only
        during the call: a model trained further afterwards does not change this
        checkpoint's map. It is not added to the ``checkpoints`` parameter: a refit,
        or a clone, maps ``checkpoints`` only.

        Parameters
        ----------
        estimator : object or callable
            The classifier at this checkpoint.
        X : array-like of shape (n_samples, n_features) or (n_samples, \*shape), default=None
            Samples, on the first call only.
        y : array-like of shape (n_samples,), default=None
            True labels, on the first call only.
        name : str, default=None
            The checkpoint's name; its position when ``None``.

        Returns
        -------
        self : DecisionMapSequence
        """
        validate_params(self)
        check_value("DecisionMapSequence.add_checkpoint", "estimator", estimator, [CLASSIFIER])
        fitted = hasattr(self, "maps_")
        if fitted and (X is not None or y is not None):
            raise ValueError(
                "The sequence already maps its samples: add_checkpoint takes X and y only "
                "on the first call (or refit with fit)."
            )
        if not fitted and X is None:
            raise ValueError("The first add_checkpoint needs the samples X to map.")
        state = self._resume() if fitted else self._start(X, y)
        self._extend(state, estimator, str(len(state["maps"])) if name is None else str(name))
        self._keep(state)
        return self

    def _start(self, X: Any, y: Any) -> dict:
        """A fresh sequence's state: the validated samples and no map yet."""
        names, frame = feature_names_of(X), FrameSpec.of(X)
        X = check_samples(X, min_samples=4 if self.holdout > 0 else 3)
        y = DecisionMap()._check_labels(y, len(X))
        return {
            "X": X, "y": y, "frame": frame, "names": names, "maps": [], "labels": [], "seconds": []
        }  # fmt: skip

    def _resume(self) -> dict:
        """The fitted sequence's state, to extend (lists copied: a failed map leaves it)."""
        first = self.maps_[0]
        return {
            "X": first.projection_.metric_.X_fit_,
            "y": first.y_,
            "frame": first._frame,
            "names": getattr(first, "feature_names_in_", None),
            "maps": list(self.maps_),
            "labels": list(self.checkpoint_names_),
            "seconds": list(self.fit_seconds_),
        }

    def _extend(self, state: dict, estimator: Any, name: str) -> None:
        """Fit the next checkpoint's map, aligned with the last one, into ``state``."""
        if self.alignment == "aligned" and self.embedder != "umap":
            raise ValueError(
                "alignment='aligned' lays maps out with UMAP's objective: use "
                "embedder='umap', or alignment='independent' for t-SNE maps."
            )
        previous = state["maps"][-1] if state["maps"] else None
        dmap = DecisionMap(**forwarded_params(self, DecisionMap, estimator=estimator))
        validate_params(dmap)
        dmap._check_devices()  # before this checkpoint's distances
        layout = None
        if previous is not None and self.alignment == "aligned":
            layout = AlignedLayout(
                previous.embedding_,
                previous.projection_.umap_.graph_,
                float(self.alignment_strength),
                self.n_epochs,
                self.random_state,
            )
        clock = time.perf_counter()
        dmap._fit(
            state["X"],
            state["y"],
            ids=np.arange(len(state["X"])),
            pairs=SamplePairMemory() if previous is None else previous._sample_pairs.copy(),
            frame=state["frame"],
            names=state["names"],
            layout=layout,
            euclidean_umap=self._shared_euclidean_umap(previous),
        )
        seconds = time.perf_counter() - clock
        if previous is not None and not np.array_equal(dmap.classes_, previous.classes_):
            raise ValueError(
                f"Checkpoint {name!r} has classes {list(dmap.classes_)}, the earlier ones "
                f"{list(previous.classes_)}: a sequence maps one classifier's classes."
            )
        state["maps"].append(dmap)
        state["labels"].append(name)
        state["seconds"].append(seconds)

    def _shared_euclidean_umap(self, previous: DecisionMap | None) -> Any:
        """The previous map's Euclidean UMAP behind ``q_knn_e`` (it does not depend on
        the classifier), unless its parameters have changed since (``set_params``)."""
        if previous is None:
            return None
        names = ("n_neighbors", "min_dist", "spread", "n_epochs", "random_state", "umap_kwargs",
                 "layout_device")  # fmt: skip
        before = {name: previous.get_params()[name] for name in names}
        now = {name: getattr(self, name) for name in names}
        return previous.euclidean_umap_ if joblib.hash(before) == joblib.hash(now) else None

    def _keep(self, state: dict) -> None:
        """Store the maps of ``state`` and everything measured on them, all computed
        before anything is stored."""
        maps = state["maps"]
        embeddings = np.stack([m.embedding_ for m in maps])
        proba = np.stack([m.proba_ for m in maps])
        graphs = [layout_graph(m.projection_.umap_.graph_, self.n_epochs) for m in maps]
        measures = transition_measures(
            embeddings, proba, graphs, procrustes_first=self.alignment == "independent"
        )
        # The scores every fit makes: a layer computed on one map since is not in all.
        scores = {name: np.array([m.scores_[name] for m in maps]) for name in FIT_SCORES}
        self.maps_, self.checkpoint_names_ = maps, state["labels"]
        self.classes_ = maps[0].classes_
        self.embeddings_, self.proba_ = embeddings, proba
        self.scores_ = scores
        self.n_classifier_rows_ = np.array([m.n_classifier_rows_ for m in maps], dtype=np.int64)
        self.fit_seconds_ = np.array(state["seconds"])
        self.movement_ = measures["movement"]
        self.flips_ = measures["flips"]
        self.neighbour_preservation_ = measures["neighbour_preservation"]
        self.transition_scores_ = measures["summary"]

    def to_html(
        self,
        path: Any,
        *,
        title: str = "Decision maps",
        image_shape: tuple[int, ...] | None = None,
        probe_resolution: int = 12,
    ):
        """Write every map as one self-contained web page with a checkpoint slider.

        The page is :meth:`DecisionMap.to_html`'s (hover, zoom, pan, click for a
        sample or for π⁻¹ at a position) with a slider that switches between the
        checkpoints' maps, drawn in one frame so that a sample that stays in place
        stays on screen.

        Parameters
        ----------
        path : str or path
            File to write.
        title : str, default="Decision maps"
            Title of the page.
        image_shape : tuple of int, default=None
            Shape to reshape flat samples to, to show them as images.
        probe_resolution : int, default=12
            Positions per axis where π⁻¹ is precomputed per map for clicks on the
            background (``probe_resolution²`` classifier rows per map).

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from ..plotting._html import write_html

        check_is_fitted(self, "maps_")
        check_value(
            "DecisionMapSequence.to_html",
            "probe_resolution",
            probe_resolution,
            [Interval(Integral, 1, 200)],
        )
        # π⁻¹ runs on the device named now, not at fit: a sequence fitted on a GPU
        # writes its page on a machine without one after set_params(inverse_device=None).
        maps = [copy.copy(m).set_params(inverse_device=self.inverse_device) for m in self.maps_]
        return write_html(
            maps,
            path,
            title=title,
            frame_names=self.checkpoint_names_,
            image_shape=image_shape,
            probe_resolution=probe_resolution,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.target_tags.required = False
        return tags
