"""Arrays made from lengths or by repeating others: arange, eye, tri, repeat, tile, tril, triu.

``ARange`` and ``Eye`` depend on their arguments only through lengths and
offsets, so their gradients are disconnected.  ``Repeat`` and ``Tile`` copy
entries, so their gradients sum the copies back (``SegmentSum`` is the
adjoint of ``Repeat``, and ``Repeat`` is its adjoint in turn).  ``tri``,
``tril`` and ``triu`` compare index grids, so their gradients are masks.
"""

import numbers

import numpy as np

from ..config import config
from ..errors import GraphShapeError, GraphTypeError, InputShapeError, where
from ..graph.basic import Apply, Constant, Variable
from ..graph.op import Op
from .type import DISCRETE_DTYPES, INT_DTYPES, TensorType, normalize_dtype, upcast
from .variable import as_tensor_variable, constant

__all__ = ["ARange", "Eye", "Repeat", "SegmentSum", "Tile", "arange", "eye", "identity_like",
           "repeat", "tile", "tri", "tril", "triu"]


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in ``[start, stop)``, as ``np.arange``; bounds may be symbolic.

    Without ``dtype``: int64 when every bound is an integer (NumPy's rule),
    otherwise the widest float among the bounds, Python floats counting as
    ``floatX``.
    """
    if stop is None:
        start, stop = 0, start
    bounds = [start, stop, step]
    if dtype is None:
        floats = []
        for b in bounds:
            if isinstance(b, float):
                floats.append(config.floatX)
            elif not isinstance(b, numbers.Integral):
                d = as_tensor_variable(b).dtype
                if d not in DISCRETE_DTYPES:
                    floats.append(d)
        dtype = upcast(*floats) if floats else "int64"
    dtype = normalize_dtype(dtype)
    tensors = []
    for name, b in zip(("start", "stop", "step"), bounds):
        if isinstance(b, numbers.Integral) and not isinstance(b, bool):
            b = constant(int(b), dtype="int64")
        elif isinstance(b, float):
            b = constant(b, dtype="float64")
        tensors.append(as_tensor_variable(b))
    return ARange(dtype)(*tensors)


def eye(n, m=None, k=0, dtype=None):
    """A 2-D array with ones on diagonal ``k`` and zeros elsewhere (``floatX`` by default)."""
    m = n if m is None else m
    args = [_int_scalar(v, name, "eye") for v, name in ((n, "n"), (m, "m"), (k, "k"))]
    return Eye(normalize_dtype(dtype))(*args)


def identity_like(x):
    """The identity matrix shaped and typed like the matrix ``x``."""
    from .shape import shape_i

    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise GraphTypeError(f"identity_like: expected a matrix, got {x} ({x.type})" + where(x))
    return eye(shape_i(x, 0), shape_i(x, 1), 0, dtype=x.dtype)


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below diagonal ``k`` of an ``N x M`` array, zeros above (``np.tri``)."""
    from .math import cast

    return cast(_lower_mask(N, N if M is None else M, k), normalize_dtype(dtype))


def tril(m, k=0):
    """``m`` with the entries above diagonal ``k`` of its last two axes zeroed."""
    return _masked(m, k, lower=True, name="tril")


def triu(m, k=0):
    """``m`` with the entries below diagonal ``k`` of its last two axes zeroed."""
    return _masked(m, k, lower=False, name="triu")


def repeat(x, repeats, axis=None):
    """Repeat each entry of ``x`` along ``axis`` (of the flattened array when None),
    ``repeats`` times: an int, or an int vector with one count per entry."""
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    elif not isinstance(axis, numbers.Integral) or not -x.ndim <= axis < x.ndim:
        raise GraphTypeError(f"repeat: axis {axis!r} is out of range for {x} ({x.type})" + where(x))
    if isinstance(repeats, numbers.Integral) and not isinstance(repeats, bool):
        repeats = constant(int(repeats), dtype="int64")
    elif isinstance(repeats, (list, tuple, np.ndarray)) and not any(
            isinstance(r, Variable) for r in np.ravel(np.asarray(repeats, dtype=object))):
        repeats = constant(np.asarray(repeats, dtype="int64"))
    return Repeat(int(axis) % x.ndim)(x, repeats)


def tile(x, reps, ndim=None):
    """``x`` repeated ``reps[i]`` times along each axis, as ``np.tile``; ``reps`` is
    constant, and a longer ``reps`` (or ``ndim``) adds leading axes."""
    x = as_tensor_variable(x)
    if isinstance(reps, numbers.Integral):
        reps = (reps,)
    if isinstance(reps, Variable) or not all(isinstance(r, numbers.Integral) for r in reps):
        raise GraphTypeError(f"tile: reps must be constant ints, got {reps!r}" + where(x))
    reps = tuple(int(r) for r in reps)
    out_ndim = max(len(reps), x.ndim, ndim or 0)
    reps = (1,) * (out_ndim - len(reps)) + reps
    if x.ndim < out_ndim:
        x = x.dimshuffle(*["x"] * (out_ndim - x.ndim), *range(x.ndim))
    return Tile(reps)(x)


# ---- Ops -------------------------------------------------------------------------------------

class ARange(Op):
    """``np.arange(start, stop, step)`` of ``dtype`` from three scalars."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = normalize_dtype(dtype)

    def __str__(self):
        return f"ARange{{{self.dtype}}}"

    def make_node(self, start, stop, step):
        bounds = [as_tensor_variable(b) for b in (start, stop, step)]
        for name, b in zip(("start", "stop", "step"), bounds):
            if b.ndim != 0:
                raise GraphTypeError(
                    f"arange: {name} must be a scalar, got {b} ({b.type})" + where(b)
                )
        length = None
        if all(isinstance(b, Constant) for b in bounds):
            length = _arange_length(*[b.data.item() for b in bounds], GraphShapeError, bounds[0])
        return Apply(self, bounds, [TensorType(self.dtype, (length,))()])

    def perform(self, node, inputs, output_storage):
        start, stop, step = (b.item() for b in inputs)
        _arange_length(start, stop, step, InputShapeError, node.outputs[0])
        output_storage[0][0] = np.arange(start, stop, step, dtype=self.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        from . import math as tm

        start, stop, step = node.inputs
        if all(b.dtype in DISCRETE_DTYPES for b in node.inputs):
            start, stop, step = (tm.cast(b, "int64") for b in (start, stop, step))
            length = -tm.int_div(start - stop, step)
        else:
            start, stop, step = (tm.cast(b, "float64") for b in (start, stop, step))
            length = tm.cast(tm.ceil((stop - start) / step), "int64")
        return [(tm.maximum(length, 0),)]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type

        return [disconnected_type() for _ in inputs]

    def R_op(self, inputs, eval_points):
        return [None]

    def connection_pattern(self, node):
        return [[False]] * 3


class Eye(Op):
    """``np.eye(n, m, k)`` of ``dtype`` from three int scalars."""

    __props__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = normalize_dtype(dtype)

    def __str__(self):
        return f"Eye{{{self.dtype}}}"

    def make_node(self, n, m, k):
        args = [as_tensor_variable(v) for v in (n, m, k)]
        for name, v in zip("nmk", args):
            if v.ndim != 0 or v.dtype not in INT_DTYPES:
                raise GraphTypeError(
                    f"eye: {name} must be an int scalar, got {v} ({v.type})" + where(v)
                )
        shape = [int(v.data) if isinstance(v, Constant) else None for v in args[:2]]
        for length in shape:
            if length is not None and length < 0:
                raise GraphShapeError(
                    f"eye: lengths must be non-negative, got {length}" + where(args[0])
                )
        return Apply(self, args, [TensorType(self.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        n, m, k = (int(v) for v in inputs)
        if n < 0 or m < 0:
            raise InputShapeError(f"eye: lengths must be non-negative, got n={n}, m={m}"
                                  + where(node.outputs[0]))
        output_storage[0][0] = np.eye(n, m, k, dtype=self.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        from .math import cast

        return [(cast(node.inputs[0], "int64"), cast(node.inputs[1], "int64"))]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type

        return [disconnected_type() for _ in inputs]

    def R_op(self, inputs, eval_points):
        return [None]

    def connection_pattern(self, node):
        return [[False]] * 3


class Repeat(Op):
    """``np.repeat(x, repeats, axis)`` with an int scalar or vector of counts."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def __str__(self):
        return f"Repeat{{axis={self.axis}}}"

    def make_node(self, x, repeats):
        x, repeats = as_tensor_variable(x), as_tensor_variable(repeats)
        if not 0 <= self.axis < x.ndim:
            raise GraphTypeError(f"{self}: axis out of range for {x} ({x.type})" + where(x))
        if repeats.ndim > 1 or repeats.dtype not in INT_DTYPES:
            raise GraphTypeError(
                f"repeat: repeats must be an int or a vector of ints, "
                f"got {repeats} ({repeats.type})"
                + where(x)
            )
        n = x.type.shape[self.axis]
        counts = repeats.type.shape[0] if repeats.ndim else 1
        if isinstance(repeats, Constant):
            counts = repeats.data.size
        if repeats.ndim and counts not in (None, 1) and n is not None and n != counts:
            raise GraphShapeError(
                f"repeat: {counts} counts for axis {self.axis} of length {n} of {x.type}" + where(x)
            )
        length = None
        if isinstance(repeats, Constant):
            data = repeats.data
            if (data < 0).any():
                raise GraphShapeError(f"repeat: negative counts {data.tolist()}" + where(x))
            if data.size == 1:
                r = int(data.reshape(-1)[0])
                length = 0 if r == 0 else (None if n is None else n * r)
            else:
                length = int(data.sum())
        shape = list(x.type.shape)
        shape[self.axis] = length
        return Apply(self, [x, repeats], [TensorType(x.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        x, repeats = inputs
        n = x.shape[self.axis]
        if (repeats < 0).any() or (repeats.ndim and repeats.size not in (1, n)):
            raise InputShapeError(
                f"repeat: cannot repeat axis {self.axis} (length {n}) of an array of shape "
                f"{x.shape} by counts {repeats.tolist()}; expected one non-negative count or {n}"
                + where(node.outputs[0])
            )
        output_storage[0][0] = np.repeat(x, repeats, axis=self.axis)

    def infer_shape(self, fgraph, node, input_shapes):
        from . import math as tm
        from .reduction import sum as tsum
        from .shape import shape_i

        repeats = tm.cast(node.inputs[1], "int64")
        n = input_shapes[0][self.axis]
        if repeats.ndim == 0:
            length = n * repeats
        else:
            total = tsum(repeats)
            length = tm.switch(tm.eq(shape_i(repeats, 0), 1), n * total, total)
        shape = list(input_shapes[0])
        shape[self.axis] = length
        return [tuple(shape)]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type
        from .math import zeros_like
        from .shape import shape_i

        x, repeats = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [zeros_like(x, dtype=config.floatX), disconnected_type()]
        counts = repeats if repeats.ndim else repeats.dimshuffle("x")
        g = SegmentSum(self.axis)(output_grads[0], counts, shape_i(x, self.axis))
        return [g, disconnected_type()]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0], inputs[1])]

    def connection_pattern(self, node):
        return [[True], [False]]


class SegmentSum(Op):
    """Sum consecutive runs of ``g`` along ``axis`` whose lengths are ``counts``
    (one per run, or one for all ``n`` runs): the adjoint of ``Repeat``."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def __str__(self):
        return f"SegmentSum{{axis={self.axis}}}"

    def make_node(self, g, counts, n):
        g, counts, n = (as_tensor_variable(v) for v in (g, counts, n))
        if (counts.ndim != 1 or counts.dtype not in INT_DTYPES or n.ndim != 0
                or not 0 <= self.axis < g.ndim):
            raise GraphTypeError(
                f"{self}: expected an array, an int vector of counts and an int scalar, got "
                f"{g.type}, {counts.type}, {n.type}" + where(g)
            )
        shape = list(g.type.shape)
        shape[self.axis] = int(n.data) if isinstance(n, Constant) else None
        return Apply(self, [g, counts, n], [TensorType(g.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        g, counts, n = inputs
        n = int(n)
        if counts.size not in (1, n) or (counts < 0).any():
            raise InputShapeError(
                f"{self}: {counts.size} counts for {n} runs" + where(node.outputs[0])
            )
        counts = np.broadcast_to(counts, (n,))
        g = np.moveaxis(g, self.axis, 0)
        if g.shape[0] != counts.sum():
            raise InputShapeError(
                f"{self}: runs of lengths adding up to {counts.sum()} over an axis of length "
                f"{g.shape[0]}" + where(node.outputs[0])
            )
        out = np.zeros((n,) + g.shape[1:], dtype=g.dtype)
        nonempty = counts > 0
        if nonempty.any():
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[nonempty]
            out[nonempty] = np.add.reduceat(g, starts, axis=0)
        output_storage[0][0] = np.moveaxis(out, 0, self.axis)

    def infer_shape(self, fgraph, node, input_shapes):
        from .math import cast

        shape = list(input_shapes[0])
        shape[self.axis] = cast(node.inputs[2], "int64")
        return [tuple(shape)]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type

        counts = inputs[1]
        gx = Repeat(self.axis)(output_grads[0], counts)
        return [gx, disconnected_type(), disconnected_type()]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0], *inputs[1:])]

    def connection_pattern(self, node):
        return [[True], [False], [False]]


class Tile(Op):
    """``np.tile(x, reps)`` for constant ``reps`` with one entry per axis of ``x``."""

    __props__ = ("reps",)

    def __init__(self, reps):
        self.reps = tuple(int(r) for r in reps)
        if any(r < 0 for r in self.reps):
            raise GraphTypeError(f"tile: reps must be non-negative, got {self.reps}")

    def __str__(self):
        return f"Tile{{reps={self.reps}}}"

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim != len(self.reps):
            raise GraphTypeError(
                f"{self}: expected an input of ndim {len(self.reps)}, got {x} ({x.type})" + where(x)
            )
        shape = [0 if r == 0 else (None if s is None else s * r)
                 for s, r in zip(x.type.shape, self.reps)]
        return Apply(self, [x], [TensorType(x.dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = np.tile(inputs[0], self.reps)

    def infer_shape(self, fgraph, node, input_shapes):
        return [tuple(s * r for s, r in zip(input_shapes[0], self.reps))]

    def L_op(self, inputs, outputs, output_grads):
        from .math import cast, zeros_like
        from .reduction import sum as tsum
        from .shape import reshape, shape_tuple

        (x,) = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [zeros_like(x, dtype=config.floatX)]
        # Axis i of the output is reps[i] copies of axis i of x, one after another.
        split = [d for r, s in zip(self.reps, shape_tuple(x)) for d in (r, s)]
        g = reshape(output_grads[0], split, ndim=2 * x.ndim)
        g = tsum(g, axis=list(range(0, 2 * x.ndim, 2))) if x.ndim else g
        return [cast(g, x.dtype)]

    def R_op(self, inputs, eval_points):
        return [None if eval_points[0] is None else self(eval_points[0])]


# ---- helpers ---------------------------------------------------------------------------------

def _arange_length(start, stop, step, error, var):
    if step == 0:
        raise error(f"arange: step must not be zero (start={start}, stop={stop})" + where(var))
    if all(isinstance(b, numbers.Integral) for b in (start, stop, step)):
        return len(range(start, stop, step))
    span = (stop - start) / step
    if not np.isfinite(span):
        raise error(f"arange: cannot make a range from start={start}, stop={stop}, step={step}: "
                    f"its length is not finite" + where(var))
    return max(0, int(np.ceil(span)))


def _int_scalar(v, name, fn):
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return constant(int(v), dtype="int64")
    v = as_tensor_variable(v)
    if v.ndim != 0 or v.dtype not in INT_DTYPES:
        raise GraphTypeError(f"{fn}: {name} must be an int scalar, got {v} ({v.type})" + where(v))
    return v


def _lower_mask(rows, cols, k, lower=True):
    """Boolean ``rows x cols`` grid, true where ``j <= i + k`` (``j >= i + k`` for the upper)."""
    from .math import ge, le

    i = arange(_int_scalar(rows, "N", "tri")).dimshuffle(0, "x")
    j = arange(_int_scalar(cols, "M", "tri")).dimshuffle("x", 0)
    return (le if lower else ge)(j, i + _int_scalar(k, "k", "tri"))


def _masked(m, k, lower, name):
    from .math import switch
    from .shape import shape_i

    m = as_tensor_variable(m)
    if m.ndim < 2:
        raise GraphTypeError(f"{name}: expected at least 2 axes, got {m} ({m.type})" + where(m))
    rows, cols = shape_i(m, m.ndim - 2), shape_i(m, m.ndim - 1)
    from .variable import constant

    # A zero of m's own dtype: NumPy's tril keeps the dtype (bool stays bool).
    return switch(_lower_mask(rows, cols, k, lower), m, constant(0, dtype=m.dtype))
