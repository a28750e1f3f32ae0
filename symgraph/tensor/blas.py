"""Linear-algebra products: Dot, BatchedDot and the NumPy-named functions built on them.

Two primitives do the arithmetic: ``Dot`` (vector/matrix by vector/matrix,
what a backend lowers to GEMM/GEMV/DOT) and ``BatchedDot`` (a stack of matrix
products).  ``dot``, ``tensordot``, ``matmul``, ``batched_dot`` and ``outer``
reduce every other rank to these with dimshuffles and reshapes, so
differentiation and backends only ever see the two.
"""

import numbers

import numpy as np

from ..errors import GraphShapeError, GraphTypeError, InputShapeError, where
from ..graph.basic import Apply
from ..graph.op import Op
from .type import DISCRETE_DTYPES, TensorType, upcast
from .variable import as_tensor_variable

__all__ = ["AssertAligned", "BatchedDot", "Dot", "batched_dot", "batched_tensordot", "dot",
           "matmul", "outer", "tensordot"]


def dot(a, b):
    """NumPy's ``np.dot``: scalars multiply, vectors/matrices multiply, N-D contracts
    the last axis of ``a`` with the second-to-last of ``b``."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        from .math import mul

        return mul(a, b)
    if a.ndim <= 2 and b.ndim <= 2:
        return _dot(a, b)
    return _contract(a, b, [a.ndim - 1], [max(b.ndim - 2, 0)], "dot")


def tensordot(a, b, axes=2):
    """Sum products over ``axes`` (an int n: the last n of ``a`` with the first n of
    ``b``; or a pair of axis sequences), as ``np.tensordot``."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    a_axes, b_axes = _normalize_tensordot_axes(a, b, axes)
    return _contract(a, b, a_axes, b_axes, "tensordot")


def matmul(a, b):
    """``a @ b`` as NumPy: 1-D operands are promoted and the promoted axis dropped,
    leading (batch) axes broadcast where their static length is 1."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    for k, x in enumerate((a, b)):
        if x.ndim == 0:
            raise GraphTypeError(
                f"matmul: operand {k} must have at least one axis, got {x.type}; "
                f"use * to multiply by a scalar" + where(x)
            )
    if a.ndim <= 2 and b.ndim <= 2:
        return _dot(a, b, "matmul")
    if b.ndim <= 2:
        return _contract(a, b, [a.ndim - 1], [0], "matmul")
    if a.ndim == 1:
        return _contract(a, b, [0], [b.ndim - 2], "matmul")
    if a.ndim == 2:
        out = _contract(a, b, [1], [b.ndim - 2], "matmul")
        nbatch = b.ndim - 2
        return out.dimshuffle(*range(1, nbatch + 1), 0, nbatch + 1)
    return _batched_matmul(a, b)


def batched_dot(a, b):
    """Per-example products along the leading (batch) axis, as Theano's ``batched_dot``.

    Matrices and 3-tensors give ``(B, k) . (B, k) -> (B,)``, ``(B, m, k) .
    (B, k) -> (B, m)``, ``(B, k) . (B, k, n) -> (B, n)`` and ``(B, m, k) .
    (B, k, n) -> (B, m, n)``; a vector scales each example; higher ranks
    contract the last axis of ``a`` with axis ``max(1, b.ndim - 2)`` of ``b``.
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    for k, x in enumerate((a, b)):
        if x.ndim == 0:
            raise GraphTypeError(
                f"batched_dot: operand {k} needs a leading batch axis, got {x.type}" + where(x)
            )
    if a.ndim == 1:
        return a.dimshuffle(0, *["x"] * (b.ndim - 1)) * b
    if b.ndim == 1:
        return a * b.dimshuffle(0, *["x"] * (a.ndim - 1))
    return batched_tensordot(a, b, [[a.ndim - 1], [max(1, b.ndim - 2)]])


def batched_tensordot(a, b, axes):
    """``tensordot`` of each pair ``a[i], b[i]`` along the leading axis.

    ``axes`` is an int n (the last n axes of ``a`` with axes 1..n of ``b``) or a
    pair of axis sequences that excludes axis 0.
    """
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if isinstance(axes, numbers.Integral):
        n = int(axes)
        axes = [list(range(a.ndim - n, a.ndim)), list(range(1, n + 1))]
    a_axes, b_axes = _normalize_tensordot_axes(a, b, axes, "batched_tensordot")
    if 0 in a_axes or 0 in b_axes:
        raise GraphTypeError(
            f"batched_tensordot: axis 0 is the batch axis and cannot be summed over; "
            f"got axes {axes!r}" + where(a)
        )
    return _batched_contract(a, b, a_axes, b_axes, "batched_dot")


def outer(a, b):
    """Outer product of two vectors (other ranks are flattened, as ``np.outer``)."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    a = a if a.ndim == 1 else a.flatten()
    b = b if b.ndim == 1 else b.flatten()
    return _dot(a.dimshuffle(0, "x"), b.dimshuffle("x", 0), "outer")


# ---- the primitives ----------------------------------------------------------------------------

class Dot(Op):
    """Product of vectors and matrices: ``v.v -> ()``, ``M.v -> (m,)``, ``v.M -> (n,)``,
    ``M.M -> (m, n)``, with NumPy's dtype promotion."""

    __props__ = ()

    def __init__(self, name="dot"):
        # Only a label for errors (the user-facing function), so not a prop:
        # every Dot is interchangeable.
        self.name = name

    def __str__(self):
        return "Dot"

    def make_node(self, a, b):
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for k, x in enumerate((a, b)):
            if x.ndim not in (1, 2):
                raise GraphTypeError(
                    f"{self.name}: Dot multiplies vectors and matrices; operand {k} is {x.type}"
                    + where(x)
                )
        ka, kb = a.type.shape[-1], b.type.shape[0]
        if ka is not None and kb is not None and ka != kb:
            raise GraphShapeError(
                f"{self.name}: shapes {_static(a)} and {_static(b)} are not aligned: "
                f"{ka} (axis {a.ndim - 1} of the first) != {kb} (axis 0 of the second)" + where(a)
            )
        shape = a.type.shape[:-1] + b.type.shape[1:]
        return Apply(self, [a, b], [TensorType(upcast(a.dtype, b.dtype), shape)()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        if a.shape[-1] != b.shape[0]:
            raise InputShapeError(
                f"{self.name}: shapes {a.shape} and {b.shape} are not aligned: {a.shape[-1]} "
                f"(axis {a.ndim - 1} of the first) != {b.shape[0]} (axis 0 of the second)"
                + where(node.outputs[0])
            )
        out = np.dot(a, b)
        output_storage[0][0] = np.asarray(out, dtype=node.outputs[0].type.numpy_dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        sa, sb = input_shapes
        return [tuple(sa[:-1]) + tuple(sb[1:])]

    def L_op(self, inputs, outputs, output_grads):
        a, b = inputs
        (gz,) = output_grads
        if outputs[0].dtype in DISCRETE_DTYPES:
            return [_zero_grad(a), _zero_grad(b)]
        if a.ndim == 1 and b.ndim == 1:
            ga, gb = gz * b, gz * a
        elif a.ndim == 2 and b.ndim == 1:
            ga, gb = _dot(gz.dimshuffle(0, "x"), b.dimshuffle("x", 0)), _dot(a.T, gz)
        elif a.ndim == 1:
            ga, gb = _dot(b, gz), _dot(a.dimshuffle(0, "x"), gz.dimshuffle("x", 0))
        else:
            ga, gb = _dot(gz, b.T), _dot(a.T, gz)
        return [_as_grad(ga, a), _as_grad(gb, b)]

    def R_op(self, inputs, eval_points):
        a, b = inputs
        ea, eb = eval_points
        terms = []
        if ea is not None:
            terms.append(_dot(ea, b))
        if eb is not None:
            terms.append(_dot(a, eb))
        if not terms:
            return [None]
        return [terms[0] if len(terms) == 1 else terms[0] + terms[1]]


class BatchedDot(Op):
    """``out[i] = a[i] @ b[i]`` for 3-tensors ``a: (B, m, k)`` and ``b: (B, k, n)``."""

    __props__ = ()

    def __str__(self):
        return "BatchedDot"

    def make_node(self, a, b):
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for k, x in enumerate((a, b)):
            if x.ndim != 3:
                raise GraphTypeError(
                    f"BatchedDot: expected 3-tensors (batch, rows, columns); "
                    f"operand {k} is {x.type}"
                    + where(x)
                )
        (ba, m, ka), (bb, kb, n) = a.type.shape, b.type.shape
        for what, x, y in (("batch lengths", ba, bb), ("inner lengths", ka, kb)):
            if x is not None and y is not None and x != y:
                raise GraphShapeError(
                    f"batched_dot: shapes {_static(a)} and {_static(b)} do not match: "
                    f"{what} {x} != {y}" + where(a)
                )
        batch = ba if ba is not None else bb
        return Apply(self, [a, b], [TensorType(upcast(a.dtype, b.dtype), (batch, m, n))()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
            raise InputShapeError(
                f"batched_dot: shapes {a.shape} and {b.shape} do not match: need equal batch "
                f"lengths (axis 0) and a.shape[2] == b.shape[1]" + where(node.outputs[0])
            )
        dtype = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = np.asarray(np.matmul(a, b), dtype=dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        (ba, m, _), (bb, _, n) = input_shapes
        a, b = node.inputs
        return [(ba if a.type.shape[0] is not None or b.type.shape[0] is None else bb, m, n)]

    def L_op(self, inputs, outputs, output_grads):
        a, b = inputs
        (gz,) = output_grads
        if outputs[0].dtype in DISCRETE_DTYPES:
            return [_zero_grad(a), _zero_grad(b)]
        ga = self(gz, b.dimshuffle(0, 2, 1))
        gb = self(a.dimshuffle(0, 2, 1), gz)
        return [_as_grad(ga, a), _as_grad(gb, b)]

    def R_op(self, inputs, eval_points):
        a, b = inputs
        ea, eb = eval_points
        terms = [self(ea, b)] if ea is not None else []
        if eb is not None:
            terms.append(self(a, eb))
        if not terms:
            return [None]
        return [terms[0] if len(terms) == 1 else terms[0] + terms[1]]


class AssertAligned(Op):
    """A view of ``a`` that first checks ``a.shape[i] == b.shape[j]`` for each ``(i, j)``.

    The contractions reshape their operands before multiplying, which would
    let mismatched axes with equal products through silently; this check
    runs on the user's shapes, so the error names them.
    """

    __props__ = ("name", "pairs")
    view_map = {0: [0]}  # noqa: RUF012 (the Op base class declares it this way)

    def __init__(self, name, pairs):
        self.name = name
        self.pairs = tuple((int(i), int(j)) for i, j in pairs)

    def make_node(self, a, b):
        a, b = as_tensor_variable(a), as_tensor_variable(b)
        for i, j in self.pairs:
            if not (0 <= i < a.ndim and 0 <= j < b.ndim):
                raise GraphTypeError(
                    f"{self}: axes ({i}, {j}) out of range for {a.type} and {b.type}" + where(a)
                )
        return Apply(self, [a, b], [a.type()])

    def perform(self, node, inputs, output_storage):
        a, b = inputs
        for i, j in self.pairs:
            if a.shape[i] != b.shape[j]:
                hint = (" (only axes declared broadcastable, of static length 1, broadcast)"
                        if 1 in (a.shape[i], b.shape[j]) else "")
                raise InputShapeError(
                    f"{self.name}: shapes {a.shape} and {b.shape} are not aligned: axis {i} of "
                    f"the first has length {a.shape[i]} but axis {j} of the second has length "
                    f"{b.shape[j]}{hint}" + where(node.outputs[0])
                )
        output_storage[0][0] = a

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type

        return [output_grads[0], disconnected_type()]

    def R_op(self, inputs, eval_points):
        return [eval_points[0]]

    def connection_pattern(self, node):
        return [[True], [False]]


# ---- building blocks -------------------------------------------------------------------------

_dot_ops = {}


def _dot(a, b, name="dot"):
    op = _dot_ops.get(name)
    if op is None:
        op = _dot_ops[name] = Dot(name)
    return op(a, b)


_batched_dot = BatchedDot()


def _static(x):
    return tuple("?" if s is None else s for s in x.type.shape)


def _zero_grad(x):
    from ..config import config
    from .math import zeros_like

    return zeros_like(x, dtype=config.floatX if x.dtype in DISCRETE_DTYPES else x.dtype)


def _as_grad(g, x):
    from .math import cast

    if x.dtype in DISCRETE_DTYPES:
        return _zero_grad(x)
    return cast(g, x.dtype) if g.dtype != x.dtype else g


def _normalize_tensordot_axes(a, b, axes, name="tensordot"):
    if isinstance(axes, numbers.Integral):
        n = int(axes)
        if not 0 <= n <= min(a.ndim, b.ndim):
            raise GraphTypeError(
                f"{name}: axes={n} needs 0 <= axes <= min(ndim) for {a.type} and {b.type}"
                + where(a)
            )
        return list(range(a.ndim - n, a.ndim)), list(range(n))
    try:
        a_axes, b_axes = axes
    except (TypeError, ValueError):
        raise GraphTypeError(
            f"{name}: axes must be an int or a pair of axis sequences, got {axes!r}" + where(a)
        ) from None
    a_axes = [a_axes] if isinstance(a_axes, numbers.Integral) else list(a_axes)
    b_axes = [b_axes] if isinstance(b_axes, numbers.Integral) else list(b_axes)
    if len(a_axes) != len(b_axes):
        raise GraphTypeError(
            f"{name}: axes {axes!r} name {len(a_axes)} axes of the first operand but "
            f"{len(b_axes)} of the second" + where(a)
        )
    out = []
    for x, xs in ((a, a_axes), (b, b_axes)):
        norm = []
        for ax in xs:
            if not isinstance(ax, numbers.Integral) or not -x.ndim <= ax < x.ndim:
                raise GraphTypeError(f"{name}: axis {ax!r} is out of range for {x.type}" + where(x))
            norm.append(int(ax) % x.ndim)
        if len(set(norm)) != len(norm):
            raise GraphTypeError(f"{name}: repeated axis in {xs!r}" + where(x))
        out.append(norm)
    return out


def _aligned(a, b, pairs, name):
    """Check the static lengths of ``pairs`` now and add a run-time check where unknown."""
    unknown = []
    for i, j in pairs:
        si, sj = a.type.shape[i], b.type.shape[j]
        if si is not None and sj is not None:
            if si != sj:
                raise GraphShapeError(
                    f"{name}: shapes {_static(a)} and {_static(b)} are not aligned: axis {i} of "
                    f"the first has length {si} but axis {j} of the second has length {sj}"
                    + where(a)
                )
        else:
            unknown.append((i, j))
    return AssertAligned(name, unknown)(a, b) if unknown else a


def _lengths(x, axes):
    from .shape import shape_i

    return [shape_i(x, i) for i in axes]


def _product(lengths):
    from .variable import TensorConstant

    if all(isinstance(n, TensorConstant) for n in lengths):
        return int(np.prod([int(n.data) for n in lengths], dtype="int64"))
    out = lengths[0]
    for n in lengths[1:]:
        out = out * n
    return out


def _fold(x, groups):
    """Reshape ``x`` so each group of consecutive axes becomes one (skipped when no-op)."""
    from .shape import reshape

    if all(len(g) == 1 for g in groups):
        return x
    return reshape(x, [_product(_lengths(x, g)) if g else 1 for g in groups], ndim=len(groups))


def _shuffled(x, order):
    return x if list(order) == list(range(x.ndim)) else x.dimshuffle(*order)


def _contract(a, b, a_axes, b_axes, name):
    """``np.tensordot(a, b, (a_axes, b_axes))`` through one Dot."""
    from .shape import reshape

    if not a_axes:
        return a.dimshuffle(*range(a.ndim), *["x"] * b.ndim) * \
            b.dimshuffle(*["x"] * a.ndim, *range(b.ndim))
    a = _aligned(a, b, list(zip(a_axes, b_axes)), name)
    free_a = [i for i in range(a.ndim) if i not in a_axes]
    free_b = [i for i in range(b.ndim) if i not in b_axes]
    out_lengths = _lengths(a, free_a) + _lengths(b, free_b)
    at = _shuffled(a, free_a + a_axes)
    bt = _shuffled(b, b_axes + free_b)
    na, nk = len(free_a), len(a_axes)
    a2 = _fold(at, ([list(range(na))] if na else []) + [list(range(na, na + nk))])
    b2 = _fold(bt, [list(range(nk))] + ([list(range(nk, nk + len(free_b)))] if free_b else []))
    out = _dot(a2, b2, name)
    if out.ndim != len(out_lengths):
        out = reshape(out, out_lengths, ndim=len(out_lengths))
    return out


def _batched_contract(a, b, a_axes, b_axes, name):
    """Batched ``tensordot`` over axis 0 through one BatchedDot."""
    from .shape import reshape

    a = _aligned(a, b, [(0, 0)] + list(zip(a_axes, b_axes)), name)
    free_a = [i for i in range(1, a.ndim) if i not in a_axes]
    free_b = [i for i in range(1, b.ndim) if i not in b_axes]
    out_lengths = _lengths(a, [0] + free_a) + _lengths(b, free_b)
    na, nb, nk = len(free_a), len(free_b), len(a_axes)
    at = _shuffled(a, [0] + free_a + a_axes)
    at = _fold(at, [[0], list(range(1, na + 1)), list(range(na + 1, na + nk + 1))]) if na else \
        _fold(at, [[0], list(range(1, nk + 1))]).dimshuffle(0, "x", 1)
    bt = _shuffled(b, [0] + b_axes + free_b)
    bt = _fold(bt, [[0], list(range(1, nk + 1)), list(range(nk + 1, nk + nb + 1))]) if nb else \
        _fold(bt, [[0], list(range(1, nk + 1))]).dimshuffle(0, 1, "x")
    out = _batched_dot(at, bt)
    if na == 0:
        out = out.dimshuffle(0, 2)
    if nb == 0:
        out = out.dimshuffle(*range(out.ndim - 1))
    if out.ndim != len(out_lengths):
        out = reshape(out, out_lengths, ndim=len(out_lengths))
    return out


def _batched_matmul(a, b):
    """``a @ b`` with both operands at least 3-D: broadcast the batch axes, then BatchedDot."""
    from .basic import alloc
    from .shape import reshape

    nbatch = max(a.ndim, b.ndim) - 2
    pa, pb = nbatch + 2 - a.ndim, nbatch + 2 - b.ndim
    # Pair batch axes from the right, and the inner axes; broadcast axes are not compared.
    pairs = [(a.ndim - 1, b.ndim - 2)]
    for axis in range(nbatch):
        i, j = axis - pa, axis - pb
        if i >= 0 and j >= 0 and a.type.shape[i] != 1 and b.type.shape[j] != 1:
            pairs.append((i, j))
    a = _aligned(a, b, pairs, "matmul")
    a = a.dimshuffle(*["x"] * pa, *range(a.ndim)) if pa else a
    b = b.dimshuffle(*["x"] * pb, *range(b.ndim)) if pb else b
    sa, sb = a.type.shape, b.type.shape
    batch = [_lengths(b if sa[k] == 1 else a, [k])[0] for k in range(nbatch)]
    # Reshaping folds the batch axes into one, so broadcast ones must be materialised first.
    if any(sa[k] == 1 and sb[k] != 1 for k in range(nbatch)):
        a = alloc(a, *batch, *_lengths(a, [nbatch, nbatch + 1]))
    if any(sb[k] == 1 and sa[k] != 1 for k in range(nbatch)):
        b = alloc(b, *batch, *_lengths(b, [nbatch, nbatch + 1]))
    out_lengths = batch + _lengths(a, [nbatch]) + _lengths(b, [nbatch + 1])
    groups = [list(range(nbatch)), [nbatch], [nbatch + 1]]
    out = _batched_dot(_fold(a, groups), _fold(b, groups))
    return reshape(out, out_lengths, ndim=nbatch + 2) if nbatch != 1 else out
