"""The command line: ``didi demo`` maps an MLP on the digits data; ``didi map`` maps yours."""

from ._main import main

__all__ = ["main"]
