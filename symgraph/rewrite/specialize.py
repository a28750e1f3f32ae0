"""specialize: cheaper spellings of the same computation (powers to products, ...)."""

import numpy as np

from ..scalar import ops as scal
from .pattern import Pat
from .rules import RuleTable
from .utils import broadcast_like, scalar_constant

specialize = RuleTable("specialize")
register = specialize.register


@register(Pat(scal.pow_, Pat(name="x"), Pat(name="p")), name="pow_to_mul")
def pow_to_mul(node, x, p):
    from ..tensor import math as tm

    value = scalar_constant(p)
    if value is None or x.dtype != node.outputs[0].dtype:
        return None
    value = float(value)
    if value == 2:
        out = tm.sqr(x)
    elif value == 0.5:
        out = tm.sqrt(x)
    elif value == -1:
        out = tm.reciprocal(x)
    elif value == -0.5:
        out = tm.reciprocal(tm.sqrt(x))
    elif value == int(value) and 3 <= value <= 4:
        out = tm.mul(*([x] * int(value)))
    elif value == int(value) and -4 <= value <= -2:
        out = tm.reciprocal(tm.mul(*([x] * int(-value))))
    else:
        return None
    if np.dtype(x.dtype).kind in "iu" and value < 0:
        return None
    return broadcast_like(out, node.outputs[0])
