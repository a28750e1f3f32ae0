"""Graph rewriting (the compile pipeline lives in pipeline.py)."""

from .pipeline import rewrite_graph

__all__ = ["rewrite_graph"]
