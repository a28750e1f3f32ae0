"""Advanced indexing: integer arrays and boolean masks.

``AdvancedSubtensor`` takes any mix of integer arrays, boolean masks, ints,
slices and new axes, with NumPy's rule for where the indexed axes land (in
place when the advanced entries are adjacent, else first).  The common
``x[int_vector]`` gets its own ``AdvancedSubtensor1``, a plain ``np.take``
along axis 0.  The results are copies.  ``AdvancedIncSubtensor`` (and
``AdvancedIncSubtensor1``) set or accumulate, like ``np.add.at``, into a copy.

The ``idx_list`` format is that of ``subtensor``, where a top-level ``"?"``
stands for an integer scalar, an integer array or a boolean mask input.
"""

import numpy as np

from ..errors import GraphTypeError, where
from ..graph.basic import Apply, Constant
from ..graph.op import Op
from .subtensor import (
    SYMBOLIC,
    IncSubtensor,
    SymgraphIndexError,
    as_index_scalar,
    check_update_runtime,
    count_symbolic,
    grad_dtype,
    idx_str,
    normalize_idx_list,
    resolve,
    runtime_slice,
    slice_length,
    split_entries,
    static_int,
    static_slice_length,
)
from .type import DISCRETE_DTYPES, INT_DTYPES, TensorType
from .variable import as_tensor_variable, constant

__all__ = [
    "AdvancedIncSubtensor", "AdvancedIncSubtensor1", "AdvancedSubtensor", "AdvancedSubtensor1",
    "Nonzero", "flatnonzero", "nonzero", "nonzero_values", "take",
]


def advanced_getitem(x, entries):
    """``x[index]`` for an index (from ``subtensor.index_entries``) holding arrays or masks."""
    idx_list, inputs = split_entries(entries)
    if idx_list == (SYMBOLIC,) and inputs[0].ndim == 1 and inputs[0].dtype != "bool":
        return AdvancedSubtensor1()(x, inputs[0])
    return AdvancedSubtensor(idx_list)(x, *inputs)


def take(x, indices, axis=None, mode="raise"):
    """Entries of ``x`` at ``indices`` along ``axis`` (of the flattened ``x`` when None), as ``np.take``.

    ``mode``: ``"raise"`` (out-of-range indices are an error), ``"wrap"`` or ``"clip"``.
    """
    from . import math as tm
    from .reduction import normalize_axis
    from .shape import shape_i
    from .subtensor import getitem

    x = as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    (axis,) = normalize_axis(axis, x.ndim, "take")
    indices = as_tensor_variable(indices)
    if indices.dtype not in INT_DTYPES:
        raise GraphTypeError(f"take: indices must be integers, got {indices} of type {indices.type}"
                             + where(indices))
    if mode == "wrap":
        indices = tm.mod(indices, shape_i(x, axis))
    elif mode == "clip":
        indices = tm.clip(indices, 0, shape_i(x, axis) - 1)
    elif mode != "raise":
        raise GraphTypeError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    return getitem(x, (slice(None),) * axis + (indices,))


def nonzero(x):
    """The indices of the nonzero entries of ``x``: a tuple of int64 vectors, as NumPy."""
    x = as_tensor_variable(x)
    out = Nonzero()(x)
    return tuple(out) if isinstance(out, list) else (out,)


def flatnonzero(x):
    """Indices of the nonzero entries of the flattened ``x``."""
    return nonzero(as_tensor_variable(x).flatten())[0]


def nonzero_values(x):
    """The nonzero entries of ``x``, flattened (differentiable w.r.t. ``x``)."""
    flat = as_tensor_variable(x).flatten()
    return flat[flatnonzero(flat)]


# ---- where the indexed axes land ------------------------------------------------------------------

def _is_mask(e):
    dtype = getattr(e, "dtype", None)
    return dtype is not None and np.dtype(dtype) == np.bool_


def index_dims(entries, x_shape, adv_shape, broadcast, slice_len, one):
    """Lengths of ``x[entries]`` by NumPy's rules, in any arithmetic (static, symbolic, runtime).

    ``adv_shape(entry, lengths_of_the_axes_it_indexes, axis)`` gives an
    advanced entry's shape (a mask's is its number of true entries),
    ``broadcast(shapes)`` their common shape, ``slice_len(entry, n)`` a slice's.
    """
    dims, adv_shapes, adv_pos, adv_at = [], [], [], None
    axis = 0
    for pos, e in enumerate(entries):
        if e is None:
            dims.append(one)
            continue
        if isinstance(e, (tuple, slice)):
            dims.append(slice_len(e, x_shape[axis]))
            axis += 1
            continue
        k = np.ndim(e) if _is_mask(e) else 1
        adv_shapes.append(tuple(adv_shape(e, tuple(x_shape[axis:axis + k]), axis)))
        adv_pos.append(pos)
        if adv_at is None:
            adv_at = len(dims)
        axis += k
    # Advanced entries separated by a slice or a new axis put their axes first.
    if adv_pos != list(range(adv_pos[0], adv_pos[-1] + 1)):
        adv_at = 0
    dims[adv_at:adv_at] = list(broadcast(adv_shapes))
    return dims + list(x_shape[axis:])


def _static_dims(op, x, entries):
    def adv_shape(e, lengths, axis):
        # A constant's type forgets its lengths (so constants merge); its data knows them.
        static = e.data.shape if isinstance(e, Constant) else getattr(e, "type", None) and e.type.shape
        if _is_mask(e):
            for k, (m, n) in enumerate(zip(static, lengths)):
                if m is not None and n is not None and m != n:
                    raise SymgraphIndexError(
                        f"{op}: boolean index {e} ({e.type}) does not match {x.type} on axis {axis + k} "
                        f"(mask length {m}, axis length {n})" + where(e))
            return (int(np.count_nonzero(e.data)) if isinstance(e, Constant) else None,)
        n = lengths[0]
        values = np.asarray(e) if isinstance(e, int) else getattr(e, "data", None)
        if values is not None and n is not None and values.size:
            bad = values[(values < -n) | (values >= n)]
            if bad.size:
                raise SymgraphIndexError(f"{op}: index {int(bad.flat[0])} is out of bounds for axis "
                                         f"{axis} with length {n} ({x.type})" + where(x))
        return () if isinstance(e, int) else static

    def broadcast(shapes):
        nd = max(len(s) for s in shapes)
        out = []
        for k in range(nd):
            lens = [s[k - nd + len(s)] for s in shapes if k - nd + len(s) >= 0]
            known = {n for n in lens if n is not None and n != 1}
            if len(known) > 1:
                raise SymgraphIndexError(f"{op}: index arrays of static shapes {shapes} cannot be "
                                         f"broadcast together" + where(x))
            out.append(known.pop() if known else (1 if all(n == 1 for n in lens) else None))
        return out

    return index_dims(entries, x.type.shape, adv_shape, broadcast, static_slice_length, 1)


def _symbolic_broadcast(shapes):
    from . import math as tm

    nd = max(len(s) for s in shapes)
    out = []
    for k in range(nd):
        lens = [s[k - nd + len(s)] for s in shapes if k - nd + len(s) >= 0]
        lens = [n for n in lens if static_int(n) != 1]
        if not lens:
            out.append(constant(1, dtype="int64"))
            continue
        known = [n for n in lens if static_int(n) is not None]
        r = known[0] if known else lens[0]
        if not known:
            # At run time a length 1 broadcasts against the others.
            for n in lens[1:]:
                r = tm.switch(tm.eq(r, 1), n, r)
        out.append(r)
    return out


def _runtime_dims(op, node, shape, index):
    def adv_shape(e, lengths, axis):
        return (int(np.count_nonzero(e)),) if _is_mask(e) else np.shape(e)

    def broadcast(shapes):
        try:
            return np.broadcast_shapes(*shapes)
        except ValueError:
            raise SymgraphIndexError(f"{op}: index arrays of shapes {shapes} cannot be broadcast "
                                     f"together" + where(node.outputs[0])) from None

    def slice_len(s, n):
        return len(range(*s.indices(n)))

    return tuple(index_dims(index, shape, adv_shape, broadcast, slice_len, 1))


# ---- the Ops --------------------------------------------------------------------------------------

class AdvancedSubtensor(Op):
    """``x[index]`` for an index with integer arrays or boolean masks; a copy."""

    __props__ = ("idx_list",)

    def __init__(self, idx_list):
        self.idx_list = normalize_idx_list(idx_list, type(self).__name__)
        self.n_index_inputs = count_symbolic(self.idx_list)
        # Which inputs are slice parts (integer scalars) and which are index arrays.
        self.roles = [role for e in self.idx_list
                      for role in (["part"] * count_symbolic([e]) if isinstance(e, tuple)
                                   else ["index"] * (e == SYMBOLIC))]

    def __str__(self):
        return f"{type(self).__name__}{{{idx_str(self.idx_list)}}}"

    def make_node(self, x, *index):
        x = as_tensor_variable(x)
        if len(index) != self.n_index_inputs:
            raise GraphTypeError(f"{self}: expected {self.n_index_inputs} index inputs, got {len(index)}")
        index = [as_index_scalar(i, self) if role == "part" else as_tensor_variable(i)
                 for role, i in zip(self.roles, index)]
        arrays = [i for role, i in zip(self.roles, index) if role == "index"]
        for i in arrays:
            if i.dtype not in INT_DTYPES and i.dtype != "bool" or (i.dtype == "bool" and i.ndim == 0):
                raise GraphTypeError(f"{self}: index inputs must be integer tensors or boolean masks "
                                     f"(ndim >= 1), got {i} of type {i.type}" + where(i))
        if not any(i.ndim > 0 for i in arrays):
            raise GraphTypeError(f"{self}: needs an integer array or a boolean mask among its indices; "
                                 f"use Subtensor for ints and slices" + where(x))
        entries = resolve(self.idx_list, index)
        consumed = sum(e.ndim if _is_mask(e) else 1 for e in entries if e is not None)
        if consumed > x.ndim:
            raise SymgraphIndexError(f"{self}: too many indices for {x} ({x.type}): the index uses "
                                     f"{consumed} axes" + where(x))
        shape = _static_dims(self, x, entries)
        return Apply(self, [x, *index], [TensorType(x.dtype, shape)()])

    def numpy_index(self, node, shape, index_values):
        """The NumPy index tuple, checking masks against the axes they cover."""
        out = []
        axis = 0
        for e in resolve(self.idx_list, index_values):
            if e is None:
                out.append(None)
                continue
            if isinstance(e, tuple):
                e = runtime_slice(self, node, e, axis)
                axis += 1
            elif _is_mask(e):
                covered = tuple(shape[axis:axis + e.ndim])
                if e.shape != covered:
                    raise SymgraphIndexError(
                        f"{self}: boolean index of shape {e.shape} does not match axes {axis} to "
                        f"{axis + e.ndim - 1} of the indexed array (lengths {covered})"
                        + where(node.outputs[0]))
                axis += e.ndim
            else:
                axis += 1
            out.append(e)
        return tuple(out)

    def perform(self, node, inputs, output_storage):
        x, *index = inputs
        idx = self.numpy_index(node, x.shape, index)
        try:
            output_storage[0][0] = x[idx]
        except IndexError as e:
            raise SymgraphIndexError(f"{self}: {e} (indexed array of shape {x.shape})"
                                     + where(node.outputs[0])) from None

    def infer_shape(self, fgraph, node, input_shapes):
        from .math import cast
        from .reduction import sum as tsum

        shapes = dict(zip(node.inputs, input_shapes))

        def adv_shape(e, lengths, axis):
            if isinstance(e, int):
                return ()
            if _is_mask(e):
                return (cast(tsum(e), "int64"),)
            return shapes[e]

        dims = index_dims(resolve(self.idx_list, node.inputs[1:]), input_shapes[0], adv_shape,
                          _symbolic_broadcast, slice_length, constant(1, dtype="int64"))
        static = node.outputs[0].type.shape
        return [tuple(d if s is None else constant(s, dtype="int64") for d, s in zip(dims, static))]

    def inc_op(self, set_instead_of_inc):
        return AdvancedIncSubtensor(self.idx_list, set_instead_of_inc)

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type
        from .math import zeros_like

        x, *index = inputs
        if x.dtype in DISCRETE_DTYPES:
            gx = zeros_like(x, dtype=grad_dtype(x))
        else:
            gx = self.inc_op(False)(zeros_like(x), output_grads[0], *index)
        return [gx] + [disconnected_type() for _ in index]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], *inputs[1:])]

    def connection_pattern(self, node):
        return [[True]] + [[False] for _ in node.inputs[1:]]

    def make_update(self, node, y, set_instead_of_inc):
        return self.inc_op(set_instead_of_inc)(node.inputs[0], y, *node.inputs[1:])


class AdvancedSubtensor1(AdvancedSubtensor):
    """``x[ilist]`` for an integer vector ``ilist``: rows of ``x`` gathered along axis 0."""

    __props__ = ()

    def __init__(self):
        super().__init__((SYMBOLIC,))

    def __str__(self):
        return "AdvancedSubtensor1"

    def make_node(self, x, ilist):
        ilist = as_tensor_variable(ilist)
        if ilist.ndim != 1 or ilist.dtype not in INT_DTYPES:
            raise GraphTypeError(f"{self}: the index must be an integer vector, got {ilist} of type "
                                 f"{ilist.type}" + where(ilist))
        return super().make_node(x, ilist)

    def perform(self, node, inputs, output_storage):
        x, ilist = inputs
        try:
            output_storage[0][0] = np.take(x, ilist, axis=0)
        except IndexError as e:
            raise SymgraphIndexError(f"{self}: {e} (indexed array of shape {x.shape})"
                                     + where(node.outputs[0])) from None

    def inc_op(self, set_instead_of_inc):
        return AdvancedIncSubtensor1(set_instead_of_inc)


class AdvancedIncSubtensor(IncSubtensor):
    """A copy of ``x`` with ``x[index]`` set to ``y`` or incremented by it (repeats accumulate)."""

    __props__ = ("idx_list", "set_instead_of_inc")

    def __init__(self, idx_list, set_instead_of_inc=False):
        self.view_op = AdvancedSubtensor(idx_list)
        self.idx_list = self.view_op.idx_list
        self.set_instead_of_inc = bool(set_instead_of_inc)

    def __str__(self):
        kind = "Set" if self.set_instead_of_inc else "Inc"
        return f"Advanced{kind}Subtensor{{{idx_str(self.idx_list)}}}"

    def variant(self, set_instead_of_inc):
        return AdvancedIncSubtensor(self.idx_list, set_instead_of_inc)

    def perform(self, node, inputs, output_storage):
        x, y, *index = inputs
        idx = self.view_op.numpy_index(node, x.shape, index)
        check_update_runtime(self, node, y, _runtime_dims(self, node, x.shape, idx))
        output_storage[0][0] = self._update(node, x, idx, y)

    def _update(self, node, x, idx, y):
        out = x.copy()
        try:
            if self.set_instead_of_inc:
                out[idx] = y
            else:
                np.add.at(out, idx, y)
        except IndexError as e:
            raise SymgraphIndexError(f"{self}: {e} (indexed array of shape {x.shape})"
                                     + where(node.outputs[0])) from None
        return out


class AdvancedIncSubtensor1(AdvancedIncSubtensor):
    """A copy of ``x`` with rows ``ilist`` set to ``y`` or incremented by it (repeats accumulate)."""

    __props__ = ("set_instead_of_inc",)

    def __init__(self, set_instead_of_inc=False):
        self.view_op = AdvancedSubtensor1()
        self.idx_list = self.view_op.idx_list
        self.set_instead_of_inc = bool(set_instead_of_inc)

    def __str__(self):
        return f"Advanced{'Set' if self.set_instead_of_inc else 'Inc'}Subtensor1"

    def variant(self, set_instead_of_inc):
        return AdvancedIncSubtensor1(set_instead_of_inc)

    def perform(self, node, inputs, output_storage):
        x, y, ilist = inputs
        check_update_runtime(self, node, y, (len(ilist),) + x.shape[1:])
        output_storage[0][0] = self._update(node, x, ilist, y)


class Nonzero(Op):
    """The indices of the nonzero entries: one int64 vector per axis of the input."""

    def make_node(self, x):
        x = as_tensor_variable(x)
        if x.ndim == 0:
            raise GraphTypeError(f"nonzero: {x} is 0-d, which NumPy refuses too; use "
                                 f"x.reshape((1,)) or T.switch" + where(x))
        return Apply(self, [x], [TensorType("int64", (None,))() for _ in range(x.ndim)])

    def perform(self, node, inputs, output_storage):
        for cell, idx in zip(output_storage, np.nonzero(inputs[0])):
            cell[0] = idx.astype("int64", copy=False)

    def infer_shape(self, fgraph, node, input_shapes):
        from .math import cast, neq
        from .reduction import sum as tsum

        count = cast(tsum(neq(node.inputs[0], 0)), "int64")
        return [(count,)] * len(node.outputs)

    def L_op(self, inputs, outputs, output_grads):
        from .math import zeros_like

        # Indices are piecewise constant in x: their derivative is zero.
        return [zeros_like(inputs[0], dtype=grad_dtype(inputs[0]))]

    def R_op(self, inputs, eval_points):
        return [None] * inputs[0].ndim

    def connection_pattern(self, node):
        return [[False] * len(node.outputs)]
