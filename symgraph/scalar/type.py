"""ScalarType: the type of the variables inside a Composite's scalar graph."""

import numpy as np

from ..graph.basic import Type, Variable


class ScalarType(Type):
    def __init__(self, dtype):
        self.dtype = np.dtype(dtype).name

    def __eq__(self, other):
        return type(other) is type(self) and other.dtype == self.dtype

    def __hash__(self):
        return hash((type(self), self.dtype))

    def __str__(self):
        return f"{self.dtype} scalar"

    __repr__ = __str__

    def filter(self, value, name=None, strict=False, allow_downcast=None):
        return np.asarray(value, dtype=self.dtype)

    def make_variable(self, name=None):
        return ScalarVariable(self, None, None, name)


class ScalarVariable(Variable):
    pass
