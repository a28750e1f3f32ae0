"""Scalar operations, the vocabulary of Elemwise and of Composite's inner graphs."""

from . import ops
from .ops import Cast, Polygamma, ScalarOp
from .type import ScalarType, ScalarVariable

__all__ = ["Cast", "Polygamma", "ScalarOp", "ScalarType", "ScalarVariable", "ops"]
