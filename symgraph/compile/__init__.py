"""function(), shared variables, In/Out, modes and the backend registry."""

from .function import Function, function
from .io import In, Out
from .mode import Mode
from .shared import SharedVariable, TensorSharedVariable, shared

__all__ = ["Function", "In", "Mode", "Out", "SharedVariable", "TensorSharedVariable", "function", "shared"]
