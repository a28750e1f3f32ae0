"""Joining and splitting arrays along an axis: Join, Split and the stacking functions.

``Join`` and ``Split`` are each other's gradient, so derivatives of any order
stay within these two Ops.
"""

import numbers

import numpy as np

from ..errors import GraphShapeError, GraphTypeError, InputShapeError, where
from ..graph.basic import Apply, Constant, Variable
from ..graph.op import Op, ShapeNotImplemented
from .type import DISCRETE_DTYPES, INT_DTYPES, TensorType, upcast
from .variable import as_tensor_variable, constant

__all__ = ["Join", "Split", "concatenate", "flip", "horizontal_stack", "hstack", "join", "split",
           "vertical_stack", "vstack"]


def concatenate(tensors, axis=0):
    """Join ``tensors`` along an existing ``axis`` (negative counts from the end),
    upcasting mixed dtypes as NumPy."""
    if isinstance(tensors, Variable) or not isinstance(tensors, (list, tuple)):
        raise GraphTypeError(
            f"concatenate: expected a list or tuple of tensors, got {type(tensors).__name__}"
        )
    tensors = [as_tensor_variable(t) for t in tensors]
    if not tensors:
        raise GraphTypeError("concatenate: need at least one tensor")
    ndim = tensors[0].ndim
    for t in tensors:
        if t.ndim == 0:
            raise GraphTypeError(f"concatenate: cannot join 0-d tensor {t} ({t.type})" + where(t))
        if t.ndim != ndim:
            raise GraphTypeError(
                f"concatenate: all tensors must have the same ndim; got "
                f"{', '.join(str(u.type) for u in tensors)}" + where(t)
            )
    axis = _normalize_axis(axis, ndim, "concatenate", tensors[0])
    if len(tensors) == 1:
        return tensors[0]
    return _join_ops(axis)(*tensors)


def join(axis, *tensors):
    """Theano's spelling: ``join(axis, t0, t1, ...)`` is ``concatenate([t0, t1, ...], axis)``."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    return concatenate(list(tensors), axis=axis)


def split(x, splits_size, n_splits=None, axis=0):
    """Cut ``x`` along ``axis`` into pieces of lengths ``splits_size``.

    ``splits_size`` is a list of ints or scalars (``n_splits`` may then be
    left out) or a symbolic int vector, for which ``n_splits`` (its length)
    is required, as in Theano's ``split(x, splits_size, n_splits, axis)``.
    Returns a list of ``n_splits`` tensors.
    """
    x = as_tensor_variable(x)
    if x.ndim == 0:
        raise GraphTypeError(f"split: cannot split 0-d tensor {x} ({x.type})" + where(x))
    axis = _normalize_axis(axis, x.ndim, "split", x)
    if isinstance(splits_size, (list, tuple)):
        if n_splits is not None and int(n_splits) != len(splits_size):
            raise GraphTypeError(
                f"split: n_splits={n_splits} but {len(splits_size)} sizes were given" + where(x)
            )
        n_splits = len(splits_size)
        if all(isinstance(s, numbers.Integral) for s in splits_size):
            splits = constant(np.asarray(splits_size, dtype="int64"))
        else:
            from .basic import stack
            from .math import cast

            splits = stack([cast(as_tensor_variable(s), "int64") for s in splits_size])
    else:
        splits = as_tensor_variable(splits_size)
        if n_splits is None:
            n_splits = splits.type.shape[0] if splits.ndim == 1 else None
            if n_splits is None:
                raise GraphTypeError(
                    f"split: the number of pieces of symbolic sizes {splits} is unknown; "
                    f"pass n_splits" + where(x)
                )
    out = Split(int(n_splits), axis)(x, splits)
    return out if isinstance(out, list) else [out]


def hstack(tensors):
    """Stack along axis 1 (axis 0 for vectors), as ``np.hstack``."""
    tensors = [_atleast(as_tensor_variable(t), 1) for t in tensors]
    return concatenate(tensors, axis=0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Stack along axis 0, vectors becoming rows, as ``np.vstack``."""
    return concatenate([_atleast(as_tensor_variable(t), 2) for t in tensors], axis=0)


def horizontal_stack(*tensors):
    """Theano's name for ``hstack``, taking the tensors as arguments."""
    return hstack(tensors)


def vertical_stack(*tensors):
    """Theano's name for ``vstack``, taking the tensors as arguments."""
    return vstack(tensors)


def flip(x, axis=None):
    """``x`` reversed along ``axis`` (an int, a tuple, or None for all): a view, as ``np.flip``."""
    x = as_tensor_variable(x)
    if axis is None:
        axes = set(range(x.ndim))
    else:
        items = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
        axes = {_normalize_axis(a, x.ndim, "flip", x) for a in items}
        if len(axes) != len(items):
            raise GraphTypeError(f"flip: repeated axis in {axis!r}" + where(x))
    if not axes:
        return x
    return x[tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim))]


class Join(Op):
    """Concatenate inputs of one ndim along ``axis``; mixed dtypes are upcast."""

    __props__ = ("axis",)

    def __init__(self, axis):
        self.axis = int(axis)

    def __str__(self):
        return f"Join{{axis={self.axis}}}"

    def make_node(self, *tensors):
        from .math import cast

        tensors = [as_tensor_variable(t) for t in tensors]
        if not tensors:
            raise GraphTypeError(f"{self}: need at least one tensor")
        ndim = tensors[0].ndim
        if ndim == 0 or any(t.ndim != ndim for t in tensors) or not 0 <= self.axis < ndim:
            raise GraphTypeError(
                f"{self}: expected tensors of one ndim with axis {self.axis} in range; got "
                f"{', '.join(str(t.type) for t in tensors)}" + where(tensors[0])
            )
        dtype = upcast(*[t.dtype for t in tensors])
        tensors = [cast(t, dtype) for t in tensors]
        shape = []
        for axis in range(ndim):
            lengths = [t.type.shape[axis] for t in tensors]
            if axis == self.axis:
                shape.append(None if None in lengths else sum(lengths))
                continue
            known = {n for n in lengths if n is not None}
            if len(known) > 1:
                raise GraphShapeError(
                    f"join: cannot join along axis {self.axis} tensors whose static lengths differ "
                    f"on axis {axis}: shapes {', '.join(_static(t) for t in tensors)}"
                    + where(tensors[0])
                )
            shape.append(known.pop() if known else None)
        return Apply(self, tensors, [TensorType(dtype, shape)()])

    def perform(self, node, inputs, output_storage):
        first = inputs[0].shape
        for x in inputs[1:]:
            if any(a != b for k, (a, b) in enumerate(zip(first, x.shape)) if k != self.axis):
                raise InputShapeError(
                    f"join: cannot join arrays of shapes {', '.join(str(i.shape) for i in inputs)} "
                    f"along axis {self.axis}: every other axis must have the same length"
                    + where(node.outputs[0])
                )
        output_storage[0][0] = np.concatenate(inputs, axis=self.axis)

    def infer_shape(self, fgraph, node, input_shapes):
        out = []
        for axis in range(node.outputs[0].ndim):
            if axis == self.axis:
                total = input_shapes[0][axis]
                for shp in input_shapes[1:]:
                    total = total + shp[axis]
                out.append(total)
            else:
                static = node.outputs[0].type.shape[axis]
                out.append(constant(static, dtype="int64") if static is not None
                           else input_shapes[0][axis])
        return [tuple(out)]

    def L_op(self, inputs, outputs, output_grads):
        from .basic import make_vector
        from .math import cast, zeros_like
        from .shape import shape_i

        (gz,) = output_grads
        sizes = make_vector(*[shape_i(x, self.axis) for x in inputs], dtype="int64")
        pieces = Split(len(inputs), self.axis)(gz, sizes)
        pieces = pieces if isinstance(pieces, list) else [pieces]
        grads = []
        for x, g in zip(inputs, pieces):
            if x.dtype in DISCRETE_DTYPES:
                grads.append(zeros_like(x, dtype=_floatx()))
            else:
                grads.append(cast(g, x.dtype))
        return grads

    def R_op(self, inputs, eval_points):
        from .math import zeros_like

        if all(e is None for e in eval_points):
            return [None]
        return [self(*[zeros_like(x) if e is None else e for x, e in zip(inputs, eval_points)])]


class Split(Op):
    """Cut ``x`` along ``axis`` into ``n_splits`` views of lengths given by an int vector."""

    __props__ = ("n_splits", "axis")

    def __init__(self, n_splits, axis=0):
        self.n_splits = int(n_splits)
        self.axis = int(axis)
        if self.n_splits < 1:
            raise GraphTypeError(f"split: n_splits must be at least 1, got {n_splits}")
        self.view_map = {i: [0] for i in range(self.n_splits)}

    def __str__(self):
        return f"Split{{n_splits={self.n_splits}, axis={self.axis}}}"

    def make_node(self, x, splits):
        x = as_tensor_variable(x)
        splits = as_tensor_variable(splits)
        if not 0 <= self.axis < x.ndim:
            raise GraphTypeError(
                f"{self}: axis {self.axis} is out of range for {x.type}" + where(x)
            )
        if splits.ndim != 1 or splits.dtype not in INT_DTYPES:
            raise GraphTypeError(
                f"split: the sizes must be an integer vector, got {splits} ({splits.type})"
                + where(x)
            )
        if splits.type.shape[0] not in (None, self.n_splits):
            raise GraphShapeError(
                f"split: n_splits={self.n_splits} but the sizes vector has length "
                f"{splits.type.shape[0]}" + where(x)
            )
        sizes = _static_entries(splits, self.n_splits)
        length = x.type.shape[self.axis]
        if None not in sizes and length is not None and sum(sizes) != length:
            raise GraphShapeError(
                f"split: sizes {tuple(sizes)} add up to {sum(sizes)}, but axis {self.axis} of "
                f"{x.type} has length {length}" + where(x)
            )
        if self.n_splits == 1 and length is not None:
            sizes = [length]
        outs = []
        for n in sizes:
            shape = list(x.type.shape)
            shape[self.axis] = n
            outs.append(TensorType(x.dtype, shape)())
        return Apply(self, [x, splits], outs)

    def perform(self, node, inputs, output_storage):
        x, splits = inputs
        length = x.shape[self.axis]
        sizes = tuple(int(s) for s in splits)
        if len(splits) != self.n_splits or (splits < 0).any() or splits.sum() != length:
            raise InputShapeError(
                f"split: cannot cut axis {self.axis} (length {length}) of an array of shape "
                f"{x.shape} into {self.n_splits} pieces of lengths {sizes}; "
                f"expected {self.n_splits} non-negative lengths adding up to {length}"
                + where(node.outputs[0])
            )
        bounds = np.cumsum(splits[:-1])
        for cell, piece in zip(output_storage, np.split(x, bounds, axis=self.axis)):
            cell[0] = piece

    def infer_shape(self, fgraph, node, input_shapes):
        sizes = _symbolic_entries(node.inputs[1], self.n_splits)
        out = []
        for n in sizes:
            shape = list(input_shapes[0])
            shape[self.axis] = n
            out.append(tuple(shape))
        return out

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type
        from .math import cast, zeros_like

        x, _ = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [zeros_like(x, dtype=_floatx()), disconnected_type()]
        g = concatenate(list(output_grads), axis=self.axis)
        return [cast(g, x.dtype), disconnected_type()]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None] * self.n_splits
        out = self(eval_points[0], inputs[1])
        return out if isinstance(out, list) else [out]

    def connection_pattern(self, node):
        return [[True] * self.n_splits, [False] * self.n_splits]


_joins = {}


def _join_ops(axis):
    op = _joins.get(axis)
    if op is None:
        op = _joins[axis] = Join(axis)
    return op


def _normalize_axis(axis, ndim, name, x):
    if isinstance(axis, Constant) and axis.type.ndim == 0:
        axis = axis.data.item()
    if isinstance(axis, Variable):
        raise GraphTypeError(
            f"{name}: the axis must be a constant int, got symbolic {axis}" + where(x)
        )
    if not isinstance(axis, numbers.Integral) or not -ndim <= axis < ndim:
        raise GraphTypeError(f"{name}: axis {axis!r} is out of range for ndim {ndim}" + where(x))
    return int(axis) % ndim


def _static_entries(v, n):
    if isinstance(v, Constant):
        return [int(s) if s >= 0 else None for s in v.data]
    if v.owner is not None and hasattr(v.owner.op, "static_entries"):
        return v.owner.op.static_entries(v.owner)
    return [None] * n


def _symbolic_entries(v, n):
    from .math import cast

    if isinstance(v, Constant):
        return [constant(int(s), dtype="int64") for s in v.data]
    if v.owner is not None and type(v.owner.op).__name__ == "MakeVector":
        return [cast(s, "int64") for s in v.owner.inputs]
    try:
        return [cast(v[i], "int64") for i in range(n)]
    except ImportError:
        # Indexing arrives with symgraph.tensor.subtensor; until then compute the shape.
        raise ShapeNotImplemented(v) from None


def _atleast(x, ndim):
    if x.ndim >= ndim:
        return x
    if ndim == 1:
        return x.dimshuffle("x")
    return x.dimshuffle(*["x"] * (ndim - x.ndim), *range(x.ndim))


def _static(x):
    return "(" + ", ".join("?" if s is None else str(s) for s in x.type.shape) + \
        ("," if x.ndim == 1 else "") + ")"


def _floatx():
    from ..config import config

    return config.floatX
