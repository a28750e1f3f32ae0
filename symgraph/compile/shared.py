"""Shared variables: values that live across calls and are changed by updates."""

import copy

import numpy as np

from ..errors import SymgraphError
from ..graph.basic import Variable
from ..tensor.type import TensorType
from ..tensor.variable import _TensorMethods


class SharedVariable(Variable):
    """A variable whose value is stored with it and used by every function that reads it.

    ``get_value`` returns a copy (``borrow=True``: the stored array itself);
    ``set_value`` stores a copy (``borrow=True``: the given array).  A borrowed
    array is the shared value: the llvm backend writes a function's update of
    it into that very array (a read-only one is copied first), so an array
    obtained or given with ``borrow=True`` sees the updates of later calls.
    """

    def __init__(self, type, value, name=None, strict=False, allow_downcast=None):
        super().__init__(type, None, None, name)
        self.container = [type.filter(value, name=name, strict=strict, allow_downcast=allow_downcast)]

    def get_value(self, borrow=False):
        value = self.container[0]
        return value if borrow else value.copy()

    def set_value(self, value, borrow=False):
        value = self.type.filter(value, name=self.name or "shared variable")
        if not borrow and value is not None:
            value = np.array(value, copy=True)
        self.container[0] = value

    @property
    def value(self):
        return self.get_value()

    def clone(self):
        return self

    def __deepcopy__(self, memo):
        cp = copy.copy(self)
        cp.container = [self.container[0].copy()]
        return cp

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_eval_cache", None)
        return state


class TensorSharedVariable(_TensorMethods, SharedVariable):
    """A shared array."""


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, shape=None,
           broadcastable=None):
    """A shared variable holding ``value`` (copied unless ``borrow=True``).

    The static shape is unknown on every axis (so ``set_value`` may change the
    shape) unless ``shape`` or ``broadcastable`` says otherwise.
    """
    if isinstance(value, Variable):
        raise SymgraphError(f"shared() needs a value, not the symbolic variable {value}")
    if isinstance(value, (int, float, bool)) and not isinstance(value, np.generic):
        arr = np.asarray(value, dtype=_python_dtype(value))
    else:
        arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise SymgraphError(f"shared(): expected numeric data, got {type(value).__name__}")
    if not borrow or arr is not value:
        arr = np.array(arr, copy=True)
    if shape is None:
        shape = (None,) * arr.ndim
        if broadcastable is not None:
            shape = tuple(1 if b else None for b in broadcastable)
    return TensorSharedVariable(TensorType(arr.dtype, shape), arr, name=name, strict=strict,
                                allow_downcast=allow_downcast)


def _python_dtype(value):
    from ..config import config

    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    return config.floatX
