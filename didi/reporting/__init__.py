"""One page on a classifier and a data set: :func:`report` runs the decision map, its
layers, familiarity, near-duplicates, label issues, saliency and unit analyses, and
writes a page that links them and opens offline."""

from ._report import report

__all__ = ["report"]
