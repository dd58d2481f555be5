"""What the introspection estimators found, marked on a map."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Findings:
    """Samples to mark on a map, by their indices among the mapped samples.

    Attributes
    ----------
    unfamiliar : ndarray of int
        Unfamiliar samples (:class:`~didi.Familiarity`).
    duplicate_sets : list of ndarray of int
        Sets of near-duplicates (:class:`~didi.NearDuplicates`).
    label_issues : ndarray of int
        Samples whose label is likely wrong (:func:`~didi.find_label_issues`).
    """

    unfamiliar: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    duplicate_sets: list = field(default_factory=list)
    label_issues: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @classmethod
    def collect(
        cls, n_samples: int, *, familiarity: Any = None, duplicates: Any = None,
        label_issues: Any = None,
    ) -> Findings | None:  # fmt: skip
        """The findings for a map of ``n_samples`` samples; ``None`` when nothing is given.

        ``familiarity`` is a :class:`~didi.Familiarity` fitted on the mapped samples
        (its unfamiliar ones are marked) or the indices to mark; ``duplicates`` a
        :class:`~didi.NearDuplicates` fitted on them, or its ``labels_``;
        ``label_issues`` the indices :func:`~didi.find_label_issues` returned.
        """
        if familiarity is None and duplicates is None and label_issues is None:
            return None
        return cls(
            unfamiliar=_unfamiliar(familiarity, n_samples),
            duplicate_sets=_duplicate_sets(duplicates, n_samples),
            label_issues=_indices(label_issues, n_samples, "label_issues"),
        )

    def to_json(self) -> dict:
        """Plain lists, for the web page."""
        return {
            "unfamiliar": self.unfamiliar.tolist(),
            "duplicates": [members.tolist() for members in self.duplicate_sets],
            "issues": self.label_issues.tolist(),
        }


def _indices(value: Any, n_samples: int, name: str) -> np.ndarray:
    if value is None:
        return np.empty(0, dtype=np.int64)
    value = np.asarray(value)
    if value.dtype == bool:
        if len(value) != n_samples:
            raise ValueError(f"{name} has {len(value)} entries for {n_samples} mapped samples.")
        return np.flatnonzero(value)
    value = value.astype(np.int64).ravel()
    if len(value) and (value.min() < 0 or value.max() >= n_samples):
        raise ValueError(f"{name} holds indices outside the {n_samples} mapped samples.")
    return value


def _unfamiliar(familiarity: Any, n_samples: int) -> np.ndarray:
    if hasattr(familiarity, "fit") and not hasattr(familiarity, "familiarity_"):
        raise ValueError("The Familiarity is not fitted: fit it on the mapped samples.")
    scores = getattr(familiarity, "familiarity_", None)
    if scores is None:
        return _indices(familiarity, n_samples, "familiarity")
    if len(scores) != n_samples:
        raise ValueError(
            f"The Familiarity was fitted on {len(scores)} samples; the map shows {n_samples}."
        )
    return np.flatnonzero(scores < familiarity.offset_)


def _duplicate_sets(duplicates: Any, n_samples: int) -> list:
    if hasattr(duplicates, "fit") and not hasattr(duplicates, "labels_"):
        raise ValueError("The NearDuplicates is not fitted: fit it on the mapped samples.")
    labels = getattr(duplicates, "labels_", duplicates)
    if labels is None:
        return []
    labels = np.asarray(labels)
    if len(labels) != n_samples:
        raise ValueError(
            f"The duplicate labels cover {len(labels)} samples; the map shows {n_samples}."
        )
    return [np.flatnonzero(labels == k) for k in np.unique(labels[labels >= 0])]


def draw_findings(ax, embedding: np.ndarray, findings: Findings, point_size: float) -> dict:
    """Rings around unfamiliar samples, lines joining each duplicate set, squares around
    label issues; returns the artists by name."""
    from matplotlib.collections import LineCollection

    artists: dict[str, Any] = {}
    if len(findings.unfamiliar):
        points = embedding[findings.unfamiliar]
        artists["unfamiliar"] = ax.scatter(
            points[:, 0], points[:, 1], s=point_size * 6, facecolors="none",
            edgecolors="black", linewidths=1.2, zorder=4,
        )  # fmt: skip
    if findings.duplicate_sets:
        # Each set as a star from its first member: a set reads as one shape.
        segments = [
            [embedding[members[0]], embedding[other]]
            for members in findings.duplicate_sets
            for other in members[1:]
        ]
        artists["duplicates"] = ax.add_collection(
            LineCollection(segments, colors="black", linewidths=1.0, linestyles="--", zorder=4)
        )
    if len(findings.label_issues):
        points = embedding[findings.label_issues]
        artists["label_issues"] = ax.scatter(
            points[:, 0], points[:, 1], s=point_size * 5, marker="s", facecolors="none",
            edgecolors="magenta", linewidths=1.4, zorder=4,
        )  # fmt: skip
    return artists


def finding_handles(artists: dict) -> list:
    """Legend entries for the drawn findings."""
    from matplotlib.lines import Line2D

    styles: dict[str, dict[str, Any]] = {
        "unfamiliar": dict(marker="o", markerfacecolor="none", markeredgecolor="black",
                           linestyle="", label="unfamiliar"),
        "duplicates": dict(color="black", linestyle="--", label="near-duplicates"),
        "label_issues": dict(marker="s", markerfacecolor="none", markeredgecolor="magenta",
                             linestyle="", label="label issue"),
    }  # fmt: skip
    return [Line2D([], [], **styles[name]) for name in artists]
