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
from .blas import (
    AssertAligned, BatchedDot, Dot, batched_dot, batched_tensordot, dot, matmul, outer, tensordot,
)
from .creation import (
    ARange, Eye, Repeat, SegmentSum, Tile, arange, eye, identity_like, repeat, tile, tri, tril, triu,
)
from .join import (
    Join, Split, concatenate, flip, horizontal_stack, hstack, join, split, vertical_stack, vstack,
)
from .sort import Argsort, PermuteAlongAxis, Sort, argsort, sort
from .subtensor import IncSubtensor, Subtensor, inc_subtensor, set_subtensor
from .advanced_subtensor import AdvancedIncSubtensor, AdvancedIncSubtensor1, AdvancedSubtensor, AdvancedSubtensor1, Nonzero, flatnonzero, nonzero, nonzero_values, take  # noqa: E501
from .type import TensorType
from .variable import TensorConstant, TensorVariable, as_tensor_variable, constant
from ..gradient import grad
from . import nnet  # noqa: E402  (T.nnet; imports the tensor API above)
from . import linalg  # noqa: E402  (T.linalg; imports the tensor API above)

as_tensor = as_tensor_variable
from . import random  # noqa: E402  (T.random)
