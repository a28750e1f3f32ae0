"""Graph rewriting (the compile pipeline lives in pipeline.py)."""

from . import inline  # noqa: F401  (registers its rule on canonicalize)
from .pipeline import rewrite_graph

__all__ = ["rewrite_graph"]
