"""The reference backend: every node runs its Op's NumPy ``perform``."""

from .linker import compile, lowered_ops

__all__ = ["availability", "compile", "lowered_ops"]


def availability():
    return True, "always available (runs each Op's perform)"
