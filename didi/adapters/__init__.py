"""Adapters that turn trained deep networks into scikit-learn classifiers.

They are reached through :mod:`didi.torch` and :mod:`didi.keras`, which import
their framework; this package itself imports none.
"""
