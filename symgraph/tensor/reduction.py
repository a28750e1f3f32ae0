"""Reductions: CAReduce (sum, prod, max, min, all, any), argmax/argmin, cumulative ops,
and the reductions defined by decomposition (mean, var, std, logsumexp)."""

import numbers

import numpy as np

from ..errors import GraphTypeError, InputShapeError, where
from ..graph.basic import Apply
from ..graph.op import Op
from ..scalar import ops as scal
from .type import DISCRETE_DTYPES, TensorType
from .variable import as_tensor_variable, constant

_REDUCERS = {
    "add": (np.add, "sum"),
    "mul": (np.multiply, "prod"),
    "maximum": (np.maximum, "max"),
    "minimum": (np.minimum, "min"),
    "and": (np.logical_and, "all"),
    "or": (np.logical_or, "any"),
}


def normalize_axis(axis, ndim, op="reduction"):
    """``axis`` (None, an int or a sequence, negatives allowed) as a sorted tuple."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, numbers.Integral) or not -ndim <= a < (ndim or 1):
            raise GraphTypeError(f"{op}: axis {a!r} is out of range for an input of ndim {ndim}")
        out.append(int(a) % (ndim or 1))
    if len(set(out)) != len(out):
        raise GraphTypeError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


class CAReduce(Op):
    """Reduce ``axis`` with a commutative, associative scalar op."""

    __props__ = ("scalar_op", "axis")

    def __init__(self, scalar_op, axis):
        if scalar_op.name not in _REDUCERS:
            raise GraphTypeError(f"CAReduce: {scalar_op} is not a supported reducer")
        self.scalar_op = scalar_op
        self.axis = tuple(axis)
        self.ufunc, self.label = _REDUCERS[scalar_op.name]

    def __str__(self):
        return f"{self.label}{{axis={self.axis}}}"

    def output_dtype(self, dtype):
        if self.label in ("all", "any"):
            return "bool"
        if self.label in ("sum", "prod") and dtype in DISCRETE_DTYPES:
            return "uint64" if dtype.startswith("uint") else "int64"
        return dtype

    def make_node(self, x):
        x = as_tensor_variable(x)
        for a in self.axis:
            if not 0 <= a < x.ndim:
                raise GraphTypeError(f"{self}: axis {a} out of range for {x.type}")
        shape = [s for i, s in enumerate(x.type.shape) if i not in self.axis]
        return Apply(self, [x], [TensorType(self.output_dtype(x.dtype), shape)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        dtype = node.outputs[0].type.numpy_dtype
        if self.label in ("max", "min") and 0 in [x.shape[a] for a in self.axis]:
            raise InputShapeError(
                f"{self}: cannot take the {self.label} over an empty axis (shape {x.shape})"
                + where(node.outputs[0])
            )
        if not self.axis:
            out = np.array(x, dtype=dtype, copy=True)
        elif self.label in ("sum", "prod"):
            out = self.ufunc.reduce(x, axis=self.axis, dtype=dtype)
        else:
            out = self.ufunc.reduce(x, axis=self.axis)
        output_storage[0][0] = np.asarray(out, dtype=dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(s for i, s in enumerate(input_shapes[0]) if i not in self.axis)]

    def _expand(self, g, x):
        pattern, it = [], iter(range(g.ndim))
        for i in range(x.ndim):
            pattern.append("x" if i in self.axis else next(it))
        return g.dimshuffle(*pattern)

    def L_op(self, inputs, outputs, output_grads):
        from . import math as tm
        from .basic import alloc
        from .shape import shape_tuple

        (x,) = inputs
        (z,) = outputs
        (gz,) = output_grads
        if x.dtype in DISCRETE_DTYPES or z.dtype in DISCRETE_DTYPES and self.label in ("all", "any"):
            return [tm.zeros_like(x, dtype=x.dtype if x.dtype not in DISCRETE_DTYPES else _floatx())]
        gz = self._expand(gz, x)
        if self.label == "sum":
            return [alloc(tm.cast(gz, x.dtype), *shape_tuple(x))]
        return [gz * self._partials(x, z)]

    def _partials(self, x, z):
        """d z / d x_i for max, min and prod: each output depends only on its own slice."""
        from . import math as tm

        ze = self._expand(z, x)
        if self.label in ("max", "min"):
            # Ties share the gradient, as for maximum/minimum.
            mask = tm.cast(tm.eq(x, ze), x.dtype)
            return mask / sum(mask, axis=self.axis, keepdims=True)
        # prod: d/dx_i is the product of the others, also where entries are zero.  z / x_i
        # is that product for a nonzero x_i (zero when another entry is), and its own
        # derivative is right too, so the Hessian stays exact with one zero.
        is_zero = tm.eq(x, 0)
        nzeros = sum(tm.cast(is_zero, "int64"), axis=self.axis, keepdims=True)
        safe_x = tm.switch(is_zero, 1, x)
        prod_nonzero = prod(safe_x, axis=self.axis, keepdims=True)
        at_zero = tm.switch(tm.eq(nzeros, 1), prod_nonzero, 0)
        return tm.switch(is_zero, at_zero, ze / safe_x)

    def R_op(self, inputs, eval_points):
        from . import math as tm

        (x,) = inputs
        (ev,) = eval_points
        if ev is None or self.label in ("all", "any"):
            return [None]
        if x.dtype in DISCRETE_DTYPES:
            return [tm.zeros_like(self(x))]
        if self.label == "sum":
            return [self(ev)]
        # Forward mode: the tangent of each output is its slice's partials dotted with ev.
        return [sum(self._partials(x, self(x)) * ev, axis=self.axis)]


def _floatx():
    from ..config import config

    return config.floatX


def _reduce(label, scalar_op, x, axis, keepdims, dtype=None):
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, label)
    out = CAReduce(scalar_op, axes)(x)
    if dtype is not None:
        from .math import cast

        out = cast(out, dtype)
    if keepdims:
        out = _keep(out, axes, x.ndim)
    return out


def _keep(out, axes, ndim):
    pattern, it = [], iter(range(out.ndim))
    for i in range(ndim):
        pattern.append("x" if i in axes else next(it))
    return out.dimshuffle(*pattern)


def sum(x, axis=None, keepdims=False, dtype=None):
    """Sum over ``axis`` (all axes by default)."""
    return _reduce("sum", scal.add, x, axis, keepdims, dtype)


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over ``axis``; its gradient is exact when entries are zero."""
    x = as_tensor_variable(x)
    return _reduce("prod", scal.mul, x, axis, keepdims, dtype)


def max(x, axis=None, keepdims=False):
    """Maximum over ``axis``."""
    return _reduce("max", scal.maximum, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """Minimum over ``axis``."""
    return _reduce("min", scal.minimum, x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    """Whether every entry along ``axis`` is true."""
    return _reduce("all", scal.and_, x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    """Whether some entry along ``axis`` is true."""
    return _reduce("any", scal.or_, x, axis, keepdims)


def _count(x, axes):
    from .shape import shape_i

    n = constant(1, dtype="int64")
    for a in axes:
        n = n * shape_i(x, a)
    return n


def mean(x, axis=None, keepdims=False, dtype=None):
    """Arithmetic mean over ``axis`` (integers give float64, as NumPy)."""
    from .math import cast, true_div

    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, "mean")
    out_dtype = dtype or (x.dtype if x.dtype not in DISCRETE_DTYPES else "float64")
    s = sum(cast(x, out_dtype) if x.dtype in DISCRETE_DTYPES else x, axis=axes, keepdims=keepdims)
    return cast(true_div(s, cast(_count(x, axes), out_dtype)), out_dtype)


def var(x, axis=None, keepdims=False, ddof=0, corrected=False):
    """Variance over ``axis`` (``ddof=1`` or ``corrected=True`` for the unbiased one)."""
    from .math import cast, maximum, sqr

    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, "var")
    ddof = 1 if corrected else ddof
    centred = x - mean(x, axis=axes, keepdims=True)
    ss = sum(sqr(centred), axis=axes, keepdims=keepdims)
    n = cast(_count(x, axes) - ddof, ss.dtype)
    return ss / maximum(n, 0)


def std(x, axis=None, keepdims=False, ddof=0, corrected=False):
    """Standard deviation over ``axis``."""
    from .math import sqrt

    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof, corrected=corrected))


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, shifted by the maximum so it never overflows."""
    from ..gradient import zero_grad
    from . import math as tm

    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim, "logsumexp")
    if x.dtype in DISCRETE_DTYPES:
        # x - max(x) would wrap around in a narrow int (and bools cannot be subtracted).
        x = tm.cast(x, "float64")
    m = max(x, axis=axes, keepdims=True)
    # An all -inf (or inf) slice would give inf - inf = NaN; shift by 0 there.
    m = zero_grad(tm.switch(tm.isinf(m), tm.zeros_like(m), m))
    out = tm.log(sum(tm.exp(x - m), axis=axes, keepdims=True)) + m
    if not keepdims:
        out = out.dimshuffle(*[i for i in range(x.ndim) if i not in axes])
    return out


class Argmax(Op):
    """Index of the maximum (or minimum, ``mode='min'``) along one axis, or of the flat array."""

    __props__ = ("axis", "mode")

    def __init__(self, axis, mode="max"):
        self.axis = axis
        self.mode = mode

    def __str__(self):
        return f"arg{self.mode}{{axis={self.axis}}}"

    def make_node(self, x):
        x = as_tensor_variable(x)
        if self.axis is None:
            shape = ()
        else:
            shape = [s for i, s in enumerate(x.type.shape) if i != self.axis]
        return Apply(self, [x], [TensorType("int64", shape)()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        fn = np.argmax if self.mode == "max" else np.argmin
        # Only an empty reduced axis has no arg-extremum; other empty axes give an empty result.
        empty = x.size == 0 if self.axis is None else x.shape[self.axis] == 0
        if empty:
            raise InputShapeError(f"{self}: empty input of shape {x.shape}" + where(node.outputs[0]))
        output_storage[0][0] = np.asarray(fn(x, axis=self.axis), dtype="int64")

    def infer_shape(self, fgraph, node, input_shapes):
        if self.axis is None:
            return [()]
        return [tuple(s for i, s in enumerate(input_shapes[0]) if i != self.axis)]

    def L_op(self, inputs, outputs, output_grads):
        from .math import zeros_like

        return [zeros_like(inputs[0])]

    def R_op(self, inputs, eval_points):
        return [None]

    def connection_pattern(self, node):
        return [[False]]


def _arg(mode, x, axis, keepdims):
    x = as_tensor_variable(x)
    if axis is not None:
        (axis,) = normalize_axis(axis, x.ndim, f"arg{mode}")
    out = Argmax(axis, mode)(x)
    if keepdims:
        out = _keep(out, normalize_axis(axis, x.ndim), x.ndim)
    return out


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum along ``axis`` (of the flattened array when None)."""
    return _arg("max", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum along ``axis`` (of the flattened array when None)."""
    return _arg("min", x, axis, keepdims)


class CumOp(Op):
    """Cumulative sum or product along ``axis`` (None: of the flattened array)."""

    __props__ = ("axis", "mode")

    def __init__(self, axis, mode="add"):
        self.axis = axis
        self.mode = mode

    def __str__(self):
        return f"cum{'sum' if self.mode == 'add' else 'prod'}{{axis={self.axis}}}"

    def make_node(self, x):
        x = as_tensor_variable(x)
        dtype = CAReduce(scal.add if self.mode == "add" else scal.mul, ()).output_dtype(x.dtype)
        shape = (None,) if self.axis is None else x.type.shape
        if self.axis is None and x.ndim <= 1:
            shape = x.type.shape or (1,)
        return Apply(self, [x], [TensorType(dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        fn = np.cumsum if self.mode == "add" else np.cumprod
        dtype = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = fn(inputs[0], axis=self.axis, dtype=dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        if self.axis is None:
            return [(prod(as_tensor_variable(list(input_shapes[0]) or [1])),)] if input_shapes[0] \
                else [(constant(1, dtype="int64"),)]
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from . import math as tm

        (x,) = inputs
        (gz,) = output_grads
        if x.dtype in DISCRETE_DTYPES:
            return [tm.zeros_like(x, dtype=_floatx())]
        axis = 0 if self.axis is None else self.axis
        rev = [slice(None)] * (axis) + [slice(None, None, -1)]
        if self.mode == "add":
            g = cumsum(gz[tuple(rev)], axis=axis)[tuple(rev)]
        else:
            # Valid where x has no zeros, as Theano's.
            g = cumsum((gz * outputs[0])[tuple(rev)], axis=axis)[tuple(rev)]
            g = g / (x.flatten() if self.axis is None else x)
        if self.axis is None:
            g = g.reshape(x.shape, ndim=x.ndim)
        return [tm.cast(g, x.dtype)]

    def R_op(self, inputs, eval_points):
        (ev,) = eval_points
        if ev is None:
            return [None]
        if self.mode == "add":
            return [self(ev)]
        x = inputs[0]
        z = self(x)
        if self.axis is None:
            x, ev = x.flatten(), ev.flatten()
        return [z * self.__class__(self.axis, "add")(ev / x)]


def cumsum(x, axis=None):
    """Cumulative sum along ``axis`` (of the flattened array when None)."""
    x = as_tensor_variable(x)
    if axis is not None:
        (axis,) = normalize_axis(axis, x.ndim, "cumsum")
    return CumOp(axis, "add")(x)


def cumprod(x, axis=None):
    """Cumulative product along ``axis`` (of the flattened array when None)."""
    x = as_tensor_variable(x)
    if axis is not None:
        (axis,) = normalize_axis(axis, x.ndim, "cumprod")
    return CumOp(axis, "mul")(x)
