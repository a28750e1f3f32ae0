"""Elementwise math: NumPy-named functions over Elemwise, plus casts."""

from ..scalar import ops as scal
from .elemwise import elemwise_op
from .type import normalize_dtype
from .variable import as_tensor_variable


def _wrap(scalar_op, name, doc):
    op = elemwise_op(scalar_op)

    def fn(*args):
        return op(*args)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def add(a, b, *more):
    """a + b (+ ...), broadcasting as NumPy."""
    return elemwise_op(scal.add)(a, b, *more)


def mul(a, b=None, *more):
    """a * b (* ...), broadcasting as NumPy."""
    if b is None:
        return as_tensor_variable(a)
    return elemwise_op(scal.mul)(a, b, *more)


sub = _wrap(scal.sub, "sub", "a - b")
true_div = _wrap(scal.true_div, "true_div", "a / b (true division; ints give float64)")
int_div = _wrap(scal.int_div, "int_div", "a // b (floor division, as NumPy)")
floor_div = int_div
mod = _wrap(scal.mod, "mod", "a % b (sign of the divisor, as NumPy)")
pow = _wrap(scal.pow_, "pow", "a ** b")
maximum = _wrap(scal.maximum, "maximum", "elementwise maximum (ties share the gradient)")
minimum = _wrap(scal.minimum, "minimum", "elementwise minimum (ties share the gradient)")
arctan2 = _wrap(scal.arctan2, "arctan2", "arctan(y / x) with the quadrant of (x, y)")
logaddexp = _wrap(scal.logaddexp, "logaddexp", "log(exp(a) + exp(b)), computed stably")
lt = _wrap(scal.lt, "lt", "a < b")
gt = _wrap(scal.gt, "gt", "a > b")
le = _wrap(scal.le, "le", "a <= b")
ge = _wrap(scal.ge, "ge", "a >= b")
eq = _wrap(scal.eq, "eq", "a == b, elementwise")
neq = _wrap(scal.neq, "neq", "a != b, elementwise")
and_ = _wrap(scal.and_, "and_", "a & b (bitwise; logical on bool)")
or_ = _wrap(scal.or_, "or_", "a | b (bitwise; logical on bool)")
xor = _wrap(scal.xor, "xor", "a ^ b (bitwise; logical on bool)")
bitwise_and, bitwise_or, bitwise_xor = and_, or_, xor
logical_and = _wrap(scal.logical_and, "logical_and", "a and b, elementwise")
logical_or = _wrap(scal.logical_or, "logical_or", "a or b, elementwise")
logical_xor = _wrap(scal.logical_xor, "logical_xor", "a xor b, elementwise")
logical_not = _wrap(scal.logical_not, "logical_not", "not a, elementwise")
invert = _wrap(scal.invert, "invert", "~a (bitwise; logical on bool)")
bitwise_not = invert

neg = _wrap(scal.neg, "neg", "-x")
abs = _wrap(scal.abs_, "abs", "|x|")
abs_ = abs
sgn = _wrap(scal.sgn, "sgn", "sign of x (-1, 0, 1)")
sign = sgn
exp = _wrap(scal.exp, "exp", "e ** x")
exp2 = _wrap(scal.exp2, "exp2", "2 ** x")
expm1 = _wrap(scal.expm1, "expm1", "exp(x) - 1, accurate near 0")
log = _wrap(scal.log, "log", "natural logarithm")
log2 = _wrap(scal.log2, "log2", "base-2 logarithm")
log10 = _wrap(scal.log10, "log10", "base-10 logarithm")
log1p = _wrap(scal.log1p, "log1p", "log(1 + x), accurate near 0")
sqrt = _wrap(scal.sqrt, "sqrt", "square root")
sqr = _wrap(scal.sqr, "sqr", "x * x")
square = sqr
reciprocal = _wrap(scal.reciprocal, "reciprocal", "1 / x")
inv = reciprocal
sin = _wrap(scal.sin, "sin", "sine")
cos = _wrap(scal.cos, "cos", "cosine")
tan = _wrap(scal.tan, "tan", "tangent")
arcsin = _wrap(scal.arcsin, "arcsin", "inverse sine")
arccos = _wrap(scal.arccos, "arccos", "inverse cosine")
arctan = _wrap(scal.arctan, "arctan", "inverse tangent")
sinh = _wrap(scal.sinh, "sinh", "hyperbolic sine")
cosh = _wrap(scal.cosh, "cosh", "hyperbolic cosine")
tanh = _wrap(scal.tanh, "tanh", "hyperbolic tangent")
arcsinh = _wrap(scal.arcsinh, "arcsinh", "inverse hyperbolic sine")
arccosh = _wrap(scal.arccosh, "arccosh", "inverse hyperbolic cosine")
arctanh = _wrap(scal.arctanh, "arctanh", "inverse hyperbolic tangent")
erf = _wrap(scal.erf, "erf", "error function")
erfc = _wrap(scal.erfc, "erfc", "complementary error function")
erfinv = _wrap(scal.erfinv, "erfinv", "inverse error function")
gammaln = _wrap(scal.gammaln, "gammaln", "log |Gamma(x)|")
psi = _wrap(scal.psi, "psi", "digamma function")
digamma = psi
sigmoid = _wrap(scal.sigmoid, "sigmoid", "1 / (1 + exp(-x))")
softplus = _wrap(scal.softplus, "softplus", "log(1 + exp(x)), computed stably")
floor = _wrap(scal.floor, "floor", "round towards -inf")
ceil = _wrap(scal.ceil, "ceil", "round towards +inf")
trunc = _wrap(scal.trunc, "trunc", "round towards 0")
round = _wrap(scal.round_half_to_even, "round", "round half to even, as NumPy")
round_half_to_even = round
isnan = _wrap(scal.isnan, "isnan", "x is NaN")
isinf = _wrap(scal.isinf, "isinf", "x is +-inf")
isfinite = _wrap(scal.isfinite, "isfinite", "x is neither NaN nor inf")
switch = _wrap(scal.switch, "switch", "elementwise cond ? a : b (both are computed)")
clip = _wrap(scal.clip, "clip", "min(max(x, lo), hi)")
identity = _wrap(scal.identity, "identity", "a copy of x")
true_divide, divide, floor_divide, power, negative, absolute = true_div, true_div, int_div, pow, neg, abs


def polygamma(n, x):
    """The n-th derivative of the digamma function."""
    return elemwise_op(scal.Polygamma(n))(x)


def cast(x, dtype):
    """x converted to ``dtype`` (a no-op when it already has it)."""
    x = as_tensor_variable(x)
    dtype = normalize_dtype(dtype)
    if x.dtype == dtype:
        return x
    return elemwise_op(scal.Cast(dtype))(x)


def where(cond, a=None, b=None):
    """``switch(cond, a, b)``; with one argument, the indices of nonzero entries."""
    if a is None and b is None:
        from .subtensor import nonzero

        return nonzero(cond)
    return switch(cond, a, b)


def zeros_like(x, dtype=None):
    """Zeros with the shape of ``x`` (and its dtype unless given)."""
    from .basic import full_like

    return full_like(x, 0, dtype=dtype)


def ones_like(x, dtype=None):
    """Ones with the shape of ``x`` (and its dtype unless given)."""
    from .basic import full_like

    return full_like(x, 1, dtype=dtype)



all_names = [n for n, v in list(globals().items()) if callable(v) and not n.startswith("_")
             and getattr(v, "__module__", None) == __name__]
__all__ = all_names
