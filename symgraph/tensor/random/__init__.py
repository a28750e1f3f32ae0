"""Random draws in graphs: ``T.random.RandomStreams(seed)`` (Philox, the same numbers on every backend)."""

from .ops import RandomDraw
from .streams import RandomStreams

__all__ = ["RandomDraw", "RandomStreams"]
