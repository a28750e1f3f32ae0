"""Scalar operations: the elementwise vocabulary of Elemwise and Composite.

Each ScalarOp names its NumPy implementation (which works on whole arrays)
and its derivative, written with the tensor API so it applies elementwise.
Derivatives take the inputs, the outputs and the output gradient ``gz`` and
return one gradient per input.
"""

import math

import numpy as np
import scipy.special

from ..errors import GraphTypeError
from ..graph.basic import Apply
from ..graph.op import Op
from .type import ScalarType

_FLOAT_OUT = {}


def _resolve_dtype(ufunc, dtypes):
    key = (ufunc, dtypes)
    if key not in _FLOAT_OUT:
        args = [np.ones(1, dtype=d) for d in dtypes]
        with np.errstate(all="ignore"):
            out = ufunc(*args)
        name = np.asarray(out).dtype.name
        if name == "float16" and "float16" not in dtypes:
            name = "float32"
        _FLOAT_OUT[key] = name
    return _FLOAT_OUT[key]


_WIDEN = {}


def _widened(fn, args):
    """``args``, with bools and small ints as float32 where ``fn`` would compute in float16.

    NumPy computes e.g. ``exp`` of int8 in float16; the output dtype here is
    float32, which the result would only pretend to have.
    """
    for a in args:
        dtype = getattr(a, "dtype", None)
        if dtype is None or dtype.kind in "biu":
            break
    else:
        return args  # float inputs: nothing to widen (the common, per-call path)
    key = (fn, tuple(np.asarray(a).dtype for a in args))
    widen = _WIDEN.get(key)
    if widen is None:
        with np.errstate(all="ignore"):
            out = fn(*[np.ones(1, dtype=d) for d in key[1]])
        widen = _WIDEN[key] = (np.asarray(out).dtype == np.float16
                               and not any(d == np.float16 for d in key[1]))
    if not widen:
        return args
    return [np.asarray(a, dtype="float32") if np.asarray(a).dtype.kind in "biu" else a for a in args]


def _T():
    # The tensor API builds derivative graphs; imported late (it imports us).
    from .. import tensor

    return tensor


class ScalarOp(Op):
    """An elementwise function of ``nin`` inputs (``nin=-1``: any number)."""

    nin = 1
    nout = 1
    ufunc = None
    # Output dtype: None follows NumPy; "bool" for predicates.
    out_dtype = None

    def output_dtype(self, *dtypes):
        if self.out_dtype is not None:
            return self.out_dtype
        try:
            return _resolve_dtype(self.impl, tuple(dtypes))
        except TypeError as e:
            raise GraphTypeError(
                f"{self} is not defined for inputs of dtype {', '.join(dtypes)} (as in NumPy: {e})"
            ) from None

    def impl(self, *args):
        return self.ufunc(*_widened(self.ufunc, args))

    def make_node(self, *inputs):
        out = ScalarType(self.output_dtype(*[i.type.dtype for i in inputs]))
        return Apply(self, inputs, [out()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.asarray(self.impl(*inputs), dtype=node.outputs[0].type.dtype)

    def grad(self, inputs, outputs, gz):
        """Gradients w.r.t. each input, as tensor expressions (elementwise)."""
        raise NotImplementedError

    @property
    def is_differentiable(self):
        return type(self).grad is not ScalarOp.grad

    def __str__(self):
        return self.name if hasattr(self, "name") else type(self).__name__.lower()


_BY_NAME = {}


def by_name(name):
    """The ScalarOp singleton called ``name`` (how they unpickle)."""
    return _BY_NAME[name]


def _singleton(name, nin, ufunc, grad, out_dtype):
    attrs = {
        "ufunc": staticmethod(ufunc), "name": name, "out_dtype": out_dtype, "nin": nin,
        "__reduce__": lambda self: (by_name, (name,)),
    }
    if grad is not None:
        attrs["grad"] = grad
    op = type(name.capitalize(), (ScalarOp,), attrs)()
    _BY_NAME[name] = op
    return op


def _unary(name, ufunc, grad=None, out_dtype=None):
    g = None if grad is None else (lambda self, i, o, gz: [grad(_T(), i[0], o[0], gz)])
    return _singleton(name, 1, ufunc, g, out_dtype)


def _binary(name, ufunc, grad=None, out_dtype=None):
    g = None if grad is None else (lambda self, i, o, gz: list(grad(_T(), i[0], i[1], o[0], gz)))
    return _singleton(name, 2, ufunc, g, out_dtype)


LN2 = math.log(2.0)
LN10 = math.log(10.0)
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

# ---- unary -------------------------------------------------------------------

neg = _unary("neg", np.negative, lambda T, x, z, gz: -gz)
abs_ = _unary("abs", np.absolute, lambda T, x, z, gz: gz * T.sgn(x))
sgn = _unary("sgn", np.sign, lambda T, x, z, gz: T.zeros_like(gz))
exp = _unary("exp", np.exp, lambda T, x, z, gz: gz * z)
exp2 = _unary("exp2", np.exp2, lambda T, x, z, gz: gz * z * LN2)
expm1 = _unary("expm1", np.expm1, lambda T, x, z, gz: gz * (z + 1))
log = _unary("log", np.log, lambda T, x, z, gz: gz / x)
log2 = _unary("log2", np.log2, lambda T, x, z, gz: gz / (x * LN2))
log10 = _unary("log10", np.log10, lambda T, x, z, gz: gz / (x * LN10))
log1p = _unary("log1p", np.log1p, lambda T, x, z, gz: gz / (x + 1))
sqrt = _unary("sqrt", np.sqrt, lambda T, x, z, gz: gz * 0.5 / z)
sqr = _unary("sqr", np.square, lambda T, x, z, gz: gz * 2 * x)
reciprocal = _unary("reciprocal", np.reciprocal, lambda T, x, z, gz: -gz * z * z)
sin = _unary("sin", np.sin, lambda T, x, z, gz: gz * T.cos(x))
cos = _unary("cos", np.cos, lambda T, x, z, gz: -gz * T.sin(x))
tan = _unary("tan", np.tan, lambda T, x, z, gz: gz * (1 + z * z))
arcsin = _unary("arcsin", np.arcsin, lambda T, x, z, gz: gz / T.sqrt(1 - x * x))
arccos = _unary("arccos", np.arccos, lambda T, x, z, gz: -gz / T.sqrt(1 - x * x))
arctan = _unary("arctan", np.arctan, lambda T, x, z, gz: gz / (1 + x * x))
sinh = _unary("sinh", np.sinh, lambda T, x, z, gz: gz * T.cosh(x))
cosh = _unary("cosh", np.cosh, lambda T, x, z, gz: gz * T.sinh(x))
tanh = _unary("tanh", np.tanh, lambda T, x, z, gz: gz * (1 - z * z))
arcsinh = _unary("arcsinh", np.arcsinh, lambda T, x, z, gz: gz / T.sqrt(x * x + 1))
arccosh = _unary("arccosh", np.arccosh, lambda T, x, z, gz: gz / T.sqrt(x * x - 1))
arctanh = _unary("arctanh", np.arctanh, lambda T, x, z, gz: gz / (1 - x * x))
erf = _unary("erf", scipy.special.erf, lambda T, x, z, gz: gz * TWO_OVER_SQRT_PI * T.exp(-x * x))
erfc = _unary("erfc", scipy.special.erfc, lambda T, x, z, gz: -gz * TWO_OVER_SQRT_PI * T.exp(-x * x))
erfinv = _unary(
    "erfinv", scipy.special.erfinv, lambda T, x, z, gz: gz * (math.sqrt(math.pi) / 2) * T.exp(z * z)
)
gammaln = _unary("gammaln", scipy.special.gammaln, lambda T, x, z, gz: gz * T.psi(x))
psi = _unary("psi", scipy.special.psi, lambda T, x, z, gz: gz * T.polygamma(1, x))
sigmoid = _unary("sigmoid", scipy.special.expit, lambda T, x, z, gz: gz * z * (1 - z))
softplus = _unary("softplus", lambda x: np.logaddexp(np.zeros((), x.dtype), x),
                  lambda T, x, z, gz: gz * T.sigmoid(x))
# Piecewise constant: the derivative is zero wherever it exists (Theano's choice).
floor = _unary("floor", np.floor, lambda T, x, z, gz: T.zeros_like(gz))
ceil = _unary("ceil", np.ceil, lambda T, x, z, gz: T.zeros_like(gz))
trunc = _unary("trunc", np.trunc, lambda T, x, z, gz: T.zeros_like(gz))
round_half_to_even = _unary("round", np.round, lambda T, x, z, gz: T.zeros_like(gz))
isnan = _unary("isnan", np.isnan, out_dtype="bool")
isinf = _unary("isinf", np.isinf, out_dtype="bool")
isfinite = _unary("isfinite", np.isfinite, out_dtype="bool")
logical_not = _unary("logical_not", np.logical_not, out_dtype="bool")
invert = _unary("invert", np.invert)


class Polygamma(ScalarOp):
    __props__ = ("n",)
    nin = 1

    def __init__(self, n):
        self.n = int(n)

    def impl(self, x):
        return scipy.special.polygamma(self.n, x)

    def output_dtype(self, dtype):
        return _resolve_dtype(np.sin, (dtype,))

    def grad(self, inputs, outputs, gz):
        return [gz * _T().polygamma(self.n + 1, inputs[0])]

    def __str__(self):
        return f"polygamma{self.n}"


class Cast(ScalarOp):
    __props__ = ("dtype",)
    nin = 1

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype).name

    def impl(self, x):
        return np.asarray(x).astype(self.dtype)

    def output_dtype(self, dtype):
        return self.dtype

    def grad(self, inputs, outputs, gz):
        (x,) = inputs
        return [_T().cast(gz, x.dtype)]

    def __str__(self):
        return f"cast{{{self.dtype}}}"


# ---- binary ------------------------------------------------------------------


def _div_grad(T, x, y, z, gz):
    return gz / y, -gz * z / y


def _pow_grad(T, x, y, z, gz):
    # x**y * log(x) is NaN at x=0 even where y makes the gradient finite.
    gx = gz * y * x ** (y - 1)
    gy = gz * z * T.log(T.switch(T.eq(x, 0), 1, x))
    return gx, gy


def _extremum_grad(pick):
    # Ties split the gradient evenly, so max(x, x) has derivative 1 as x does.
    def grad(T, x, y, z, gz):
        wx = T.switch(T.eq(x, y), 0.5, T.cast(pick(T, x, y), gz.dtype))
        return gz * wx, gz * (1 - wx)

    return grad


sub = _binary("sub", np.subtract, lambda T, x, y, z, gz: (gz, -gz))
true_div = _binary("true_div", np.true_divide, _div_grad)
int_div = _binary("int_div", np.floor_divide, lambda T, x, y, z, gz: (T.zeros_like(x), T.zeros_like(y)))
mod = _binary("mod", np.mod, lambda T, x, y, z, gz: (gz, -gz * T.floor(x / y)))
pow_ = _binary("pow", np.power, _pow_grad)
maximum = _binary("maximum", np.maximum, _extremum_grad(lambda T, x, y: T.gt(x, y)))
minimum = _binary("minimum", np.minimum, _extremum_grad(lambda T, x, y: T.lt(x, y)))
arctan2 = _binary(
    "arctan2", np.arctan2,
    lambda T, y, x, z, gz: (gz * x / (x * x + y * y), -gz * y / (x * x + y * y)),
)
logaddexp = _binary(
    "logaddexp", np.logaddexp, lambda T, x, y, z, gz: (gz * T.exp(x - z), gz * T.exp(y - z))
)
lt = _binary("lt", np.less, out_dtype="bool")
gt = _binary("gt", np.greater, out_dtype="bool")
le = _binary("le", np.less_equal, out_dtype="bool")
ge = _binary("ge", np.greater_equal, out_dtype="bool")
eq = _binary("eq", np.equal, out_dtype="bool")
neq = _binary("neq", np.not_equal, out_dtype="bool")
and_ = _binary("and", np.bitwise_and)
or_ = _binary("or", np.bitwise_or)
xor = _binary("xor", np.bitwise_xor)
logical_and = _binary("logical_and", np.logical_and, out_dtype="bool")
logical_or = _binary("logical_or", np.logical_or, out_dtype="bool")
logical_xor = _binary("logical_xor", np.logical_xor, out_dtype="bool")


class Switch(ScalarOp):
    nin = 3
    name = "switch"

    def __reduce__(self):
        return (by_name, ("switch",))

    def impl(self, cond, a, b):
        return np.where(cond, a, b)

    def output_dtype(self, cond, a, b):
        return np.result_type(a, b).name

    def grad(self, inputs, outputs, gz):
        T = _T()
        cond, a, b = inputs
        zero = T.zeros_like(gz)
        return [T.zeros_like(cond), T.switch(cond, gz, zero), T.switch(cond, zero, gz)]


class Clip(ScalarOp):
    nin = 3
    name = "clip"

    def __reduce__(self):
        return (by_name, ("clip",))

    def impl(self, x, lo, hi):
        return np.minimum(np.maximum(x, lo), hi)

    def output_dtype(self, x, lo, hi):
        return np.result_type(x, lo, hi).name

    def grad(self, inputs, outputs, gz):
        T = _T()
        x, lo, hi = inputs
        inside = T.cast(T.ge(x, lo) & T.le(x, hi), gz.dtype)
        return [gz * inside, gz * T.cast(T.lt(x, lo), gz.dtype), gz * T.cast(T.gt(x, hi), gz.dtype)]


switch = Switch()
clip = Clip()


class Add(ScalarOp):
    """x0 + x1 + ... (any number of terms, so rewrites can flatten chains)."""

    nin = -1
    name = "add"

    def impl(self, *args):
        out = args[0]
        for a in args[1:]:
            out = np.add(out, a)
        return out

    def output_dtype(self, *dtypes):
        return np.result_type(*dtypes).name

    def grad(self, inputs, outputs, gz):
        return [gz] * len(inputs)

    def __reduce__(self):
        return (by_name, ("add",))


class Mul(ScalarOp):
    """x0 * x1 * ... (any number of factors)."""

    nin = -1
    name = "mul"

    def impl(self, *args):
        out = args[0]
        for a in args[1:]:
            out = np.multiply(out, a)
        return out

    def output_dtype(self, *dtypes):
        return np.result_type(*dtypes).name

    def grad(self, inputs, outputs, gz):
        T = _T()
        grads = []
        for i in range(len(inputs)):
            others = inputs[:i] + inputs[i + 1:]
            grads.append(gz * T.mul(*others) if others else gz)
        return grads

    def __reduce__(self):
        return (by_name, ("mul",))


class Identity(ScalarOp):
    nin = 1
    name = "identity"

    def impl(self, x):
        return np.array(x, copy=True)

    def output_dtype(self, dtype):
        return dtype

    def grad(self, inputs, outputs, gz):
        return [gz]

    def __reduce__(self):
        return (by_name, ("identity",))


add = _BY_NAME["add"] = Add()
mul = _BY_NAME["mul"] = Mul()
identity = _BY_NAME["identity"] = Identity()
_BY_NAME["switch"] = switch
_BY_NAME["clip"] = clip
