"""The tensor API: NumPy-like symbolic arrays with Theano's names (``import symgraph.tensor as T``)."""

from . import basic, elemwise, math, reduction, shape
from .basic import *  # noqa: F401,F403
from .constructors import *  # noqa: F401,F403
from .elemwise import DimShuffle, Elemwise
from .math import *  # noqa: F401,F403
from .math import abs, all_names as _math_names  # noqa: F401
from .reduction import (
    Argmax, CAReduce, CumOp, all, any, argmax, argmin, cumprod, cumsum, logsumexp, max, mean, min,
    prod, std, sum, var,
)
from .shape import (
    Reshape, Shape, Shape_i, SpecifyShape, addbroadcast, expand_dims, flatten, reshape, shape,
    shape_i, shape_padaxis, shape_padleft, shape_padright, specify_shape, squeeze,
)
from .type import TensorType
from .variable import TensorConstant, TensorVariable, as_tensor_variable, constant
from ..gradient import grad

as_tensor = as_tensor_variable
