"""Elementwise activation functions.

Each is a short composition of elementwise scalar ops, not an Op of its
own: gradients, R_op and shapes come from the pieces, and the fusion pass can
merge an activation with the surrounding elementwise work into one kernel.
``sigmoid`` and ``softplus`` are the scalar ops of ``T.math`` (stable for
large |x|).
"""

import math
import numbers

from ..math import clip, erfc, expm1, maximum, minimum, sigmoid, softplus, switch, tanh
from .softmax import as_float as _as_float

__all__ = ["elu", "gelu", "hard_sigmoid", "relu", "selu", "sigmoid", "softplus", "softsign"]


def hard_sigmoid(x):
    """clip(0.2 x + 0.5, 0, 1): a piecewise-linear sigmoid, as in Theano."""
    x = _as_float(x)
    return clip(x * 0.2 + 0.5, 0, 1)


def relu(x, alpha=0):
    """max(x, 0); with ``alpha``, the leaky form ``x if x > 0 else alpha * x``."""
    x = _as_float(x)
    if isinstance(alpha, numbers.Real) and float(alpha) == 0:
        return maximum(x, 0)
    return switch(x > 0, x, _scalar(alpha) * x)


def elu(x, alpha=1):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    x = _as_float(x)
    # expm1 of min(x, 0): the branch not taken never overflows, so its gradient is 0, not 0 * inf.
    return switch(x > 0, x, _scalar(alpha) * expm1(minimum(x, 0)))


def selu(x):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017)."""
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * elu(x, alpha)


def gelu(x, approximate=False):
    """x * Phi(x), Phi the standard normal CDF; ``approximate`` uses the tanh formula."""
    x = _as_float(x)
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1 + tanh(c * (x + 0.044715 * x * x * x)))
    # erfc(-x / sqrt 2) keeps its precision for very negative x, where 1 + erf(...) cancels.
    return 0.5 * x * erfc(x * (-1.0 / math.sqrt(2.0)))


def softsign(x):
    """x / (1 + |x|)."""
    from ..math import abs as tabs

    x = _as_float(x)
    return x / (1 + tabs(x))


def _scalar(v):
    # A Python number stays weakly typed, so a float32 input keeps float32.
    return float(v) if isinstance(v, numbers.Real) else v
