"""Basic indexing: ``x[...]`` with ints, slices, None and Ellipsis (Subtensor), and its
functional update ``set_subtensor`` / ``inc_subtensor`` (IncSubtensor).

``getitem`` is the entry point of every ``x[index]``: it normalises the index
and builds a Subtensor, or hands over to ``advanced_subtensor`` when the index
holds integer arrays or boolean masks.

An Op's ``idx_list`` holds the static structure of an index, one entry per
index item:

* an ``int``: a constant integer index;
* ``"?"`` (:data:`SYMBOLIC`): the value is the next node input (an integer
  scalar here; an integer array or boolean mask in the advanced Ops);
* a ``(start, stop, step)`` tuple: a slice, each part ``None``, an int or ``"?"``;
* ``None``: a new axis of length 1 (``np.newaxis``).

Constants live in the props, so static shapes are known when the graph is
built and the Op prints as the index was written (``Subtensor{1:?, ::-1}``);
only symbolic parts are inputs.  Slice objects are accepted wherever an
``idx_list`` is (``Subtensor((0, slice(None, None, -1)))``).
"""

import numbers

import numpy as np

from ..config import config
from ..errors import (
    GraphShapeError,
    GraphTypeError,
    InputShapeError,
    runtime_error_class,
    where,
)
from ..graph.basic import Apply, Constant, Variable
from ..graph.op import Op
from .type import DISCRETE_DTYPES, INT_DTYPES, TensorType
from .variable import as_tensor_variable, constant

__all__ = ["IncSubtensor", "Subtensor", "getitem", "inc_subtensor", "nonzero", "set_subtensor"]

SYMBOLIC = "?"
FULL_SLICE = (None, None, None)

SymgraphIndexError = runtime_error_class(IndexError)
SymgraphValueError = runtime_error_class(ValueError)


# ---- the user-facing entry points ----------------------------------------------------------

def getitem(x, index):
    """``x[index]`` with NumPy's semantics (basic and advanced indexing)."""
    x = as_tensor_variable(x)
    entries = index_entries(x, index)
    if any(kind in ("array", "mask") for kind, _ in entries):
        from .advanced_subtensor import advanced_getitem

        return advanced_getitem(x, entries)
    idx_list, inputs = split_entries(entries)
    return Subtensor(idx_list)(x, *inputs)


def set_subtensor(x, y):
    """A copy of the array that ``x`` was indexed from, with the region ``x`` set to ``y``.

    ``x`` must be the result of indexing, as in Theano:
    ``set_subtensor(a[2:, idx], y)``; ``y`` broadcasts to the region's shape.
    """
    return _update(x, y, True, "set_subtensor")


def inc_subtensor(x, y, set_instead_of_inc=False):
    """A copy of the array that ``x`` was indexed from, with ``y`` added to the region ``x``.

    Repeated advanced indices accumulate, like ``np.add.at``.
    """
    return _update(x, y, bool(set_instead_of_inc), "inc_subtensor")


def nonzero(x):
    """The indices of the nonzero entries of ``x``: a tuple of int64 vectors, as NumPy."""
    from .advanced_subtensor import nonzero as _nonzero

    return _nonzero(x)


def _update(view, y, set_instead_of_inc, name):
    if not isinstance(view, Variable):
        raise GraphTypeError(f"{name}: the first argument must be the result of indexing, "
                             f"e.g. {name}(x[idx], y); got {type(view).__name__} {view!r}"[:300])
    node = view.owner
    make_update = getattr(node.op, "make_update", None) if node is not None else None
    if make_update is None:
        made_by = f"made by {node.op}" if node is not None else "an input, not an indexing result"
        raise GraphTypeError(
            f"{name}: the first argument must be the result of indexing, e.g. {name}(x[2:, idx], y); "
            f"got {view} ({made_by})" + where(view)
        )
    return make_update(node, y, set_instead_of_inc)


# ---- normalising an index --------------------------------------------------------------------

def index_entries(x, index):
    """``index`` as a list of ``(kind, value)`` with the Ellipsis expanded.

    kinds: ``"int"`` (a Python int or an integer scalar variable), ``"slice"``
    (a (start, stop, step) tuple of None/int/scalar variable), ``"newaxis"``,
    ``"array"`` (an integer tensor of ndim >= 1) and ``"mask"`` (a boolean tensor).
    """
    items = index if isinstance(index, tuple) else (index,)
    entries = [_classify(x, item) for item in items]
    if sum(kind == "ellipsis" for kind, _ in entries) > 1:
        raise SymgraphIndexError(f"an index can only have a single ellipsis ('...'); got {index!r}"[:300])
    consumed = sum(_axes_consumed(e) for e in entries)
    if consumed > x.ndim:
        raise SymgraphIndexError(
            f"too many indices for {x} ({x.type}): the index uses {consumed} axes, "
            f"the tensor has {x.ndim}" + where(x)
        )
    out = []
    for kind, value in entries:
        if kind == "ellipsis":
            out.extend([("slice", FULL_SLICE)] * (x.ndim - consumed))
        else:
            out.append((kind, value))
    return out


def split_entries(entries):
    """``(idx_list, inputs)`` for an Op: constants go to the props, variables to the inputs."""
    idx_list, inputs = [], []

    def part(value):
        if value is None or isinstance(value, int):
            return value
        inputs.append(value)
        return SYMBOLIC

    for kind, value in entries:
        if kind == "newaxis":
            idx_list.append(None)
        elif kind == "slice":
            idx_list.append(tuple(part(p) for p in value))
        else:
            idx_list.append(part(value))
    # Trailing full slices change nothing, so x[0] and x[0, :] are one Op.
    while idx_list and idx_list[-1] == FULL_SLICE:
        idx_list.pop()
    return tuple(idx_list), inputs


def _axes_consumed(entry):
    kind, value = entry
    if kind in ("newaxis", "ellipsis"):
        return 0
    return value.ndim if kind == "mask" else 1


_VALID = "integers, slices, None, Ellipsis, integer arrays and boolean masks are valid indices"


def _classify(x, item):
    if item is None:
        return ("newaxis", None)
    if item is Ellipsis:
        return ("ellipsis", None)
    if isinstance(item, slice):
        return ("slice", tuple(_slice_part(p, item) for p in (item.start, item.stop, item.step)))
    if isinstance(item, (bool, np.bool_)):
        raise GraphTypeError(f"indexing {x} with the boolean {item!r} is not supported; "
                             f"use x[None] or a boolean array" + where(x))
    if isinstance(item, numbers.Integral):
        return ("int", int(item))
    if isinstance(item, Variable) or isinstance(item, (list, tuple)) and _holds_variables(item):
        var = as_tensor_variable(item)
    else:
        arr = np.asarray(item)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype("int64")  # NumPy reads x[[]] as an empty integer index
        if arr.dtype.kind not in "biu":
            raise GraphTypeError(f"invalid index {item!r} for {x}: only {_VALID}"[:400] + where(x))
        if arr.ndim == 0 and arr.dtype.kind != "b":
            return ("int", int(arr))
        var = constant(arr)
    if var.dtype == "bool":
        if var.ndim == 0:
            raise GraphTypeError(f"indexing {x} with a 0-d boolean is not supported; "
                                 f"use x[None] or a boolean array" + where(x))
        return ("mask", var)
    if var.dtype not in INT_DTYPES:
        raise GraphTypeError(f"invalid index {var} of type {var.type} for {x}: only {_VALID}" + where(x))
    if var.ndim == 0:
        return ("int", int(var.data) if isinstance(var, Constant) else var)
    return ("array", var)


def _holds_variables(seq):
    return any(isinstance(e, Variable) or (isinstance(e, (list, tuple)) and _holds_variables(e))
               for e in seq)


def _slice_part(p, item):
    if p is None:
        return None
    if isinstance(p, numbers.Integral) and not isinstance(p, (bool, np.bool_)):
        return int(p)
    if isinstance(p, Variable):
        v = as_tensor_variable(p)
        if v.ndim == 0 and v.dtype in INT_DTYPES:
            return int(v.data) if isinstance(v, Constant) else v
    elif isinstance(p, np.ndarray) and p.ndim == 0 and p.dtype.kind in "iu":
        return int(p)
    raise GraphTypeError(f"slice indices must be integers (or integer scalar variables) or None; "
                         f"got {p!r} in {item!r}"[:300])


# ---- idx_list helpers shared with advanced_subtensor -----------------------------------------

def normalize_idx_list(idx_list, op_name):
    """A hashable ``idx_list``: slices become tuples, NumPy ints become ints."""
    def part(p):
        if p is None or p == SYMBOLIC:
            return p
        if isinstance(p, numbers.Integral) and not isinstance(p, (bool, np.bool_)):
            return int(p)
        raise GraphTypeError(f"{op_name}: invalid idx_list part {p!r}; expected None, an int or {SYMBOLIC!r}")

    out = []
    for e in idx_list:
        if isinstance(e, slice):
            e = (e.start, e.stop, e.step)
        if isinstance(e, tuple):
            if len(e) != 3:
                raise GraphTypeError(f"{op_name}: a slice entry must be (start, stop, step), got {e!r}")
            out.append(tuple(part(p) for p in e))
        else:
            out.append(part(e))
    return tuple(out)


def count_symbolic(idx_list):
    return sum(1 for e in idx_list for p in (e if isinstance(e, tuple) else (e,))
               if isinstance(p, str))


def resolve(idx_list, inputs):
    """``idx_list`` with each ``"?"`` replaced by the next of ``inputs`` (variables or values)."""
    it = iter(inputs)

    def part(p):
        return next(it) if isinstance(p, str) else p

    return [tuple(part(p) for p in e) if isinstance(e, tuple) else part(e) for e in idx_list]


def idx_str(idx_list):
    def part(p):
        return "" if p is None else str(p)

    def entry(e):
        if e is None:
            return "newaxis"
        if isinstance(e, tuple):
            start, stop, step = map(part, e)
            return f"{start}:{stop}" + (f":{step}" if step else "")
        return str(e)

    return ", ".join(entry(e) for e in idx_list)


def as_index_scalar(value, op):
    """An integer scalar variable for a slice part or an integer index."""
    v = as_tensor_variable(value)
    if v.ndim != 0 or v.dtype not in INT_DTYPES:
        raise GraphTypeError(f"{op}: index inputs must be integer scalars, got {v} of type {v.type}")
    return v


def static_int(value):
    """The value of a constant int part, else None."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, Constant):
        return int(value.data)
    return None


def static_slice_length(part_values, n):
    """The static length of a slice of an axis of static length ``n`` (None if unknown)."""
    start, stop, step = (static_int(p) for p in part_values)
    known = all(p is None or static_int(p) is not None for p in part_values)
    if known and step == 0:
        raise SymgraphValueError(f"slice step cannot be zero (in {part_values!r})")
    if n == 0:
        return 0
    if not known or n is None:
        return None
    return len(range(*slice(start, stop, step).indices(n)))


def slice_length(part_values, n):
    """Symbolic int64 length of ``slice(start, stop, step)`` of an axis of length ``n``.

    The arithmetic is Python's ``slice.indices``: bounds are clipped to the
    axis, negative ones count from its end.
    """
    from . import math as tm

    start, stop, step = (_as_int64(p) for p in part_values)
    if start is None and stop is None and (step is None or (isinstance(step, int) and step in (1, -1))):
        return n  # the whole axis: its length as it is, which later shape comparisons can recognise
    n = _as_int64(n)
    sn = static_int(n)
    if all(isinstance(v, (int, type(None))) for v in (start, stop, step)) and sn is not None:
        return constant(len(range(*slice(start, stop, step).indices(sn))), dtype="int64")
    zero = constant(0, dtype="int64")

    def bound(v, default, floor, ceil):
        if v is None:
            return default
        if isinstance(v, int):
            return tm.maximum(v + n, floor) if v < 0 else tm.minimum(v, ceil)
        return tm.switch(tm.lt(v, 0), tm.maximum(v + n, floor), tm.minimum(v, ceil))

    def forward(s):
        lo, hi = bound(start, zero, 0, n), bound(stop, n, 0, n)
        return tm.maximum(tm.int_div(hi - lo + s - 1, s), 0)

    def backward(s):
        lo, hi = bound(start, n - 1, -1, n - 1), bound(stop, -1, -1, n - 1)
        return tm.maximum(tm.int_div(lo - hi - s - 1, -s), 0)

    if step is None or isinstance(step, int):
        step = 1 if step is None else step
        out = forward(step) if step > 0 else backward(step)
    else:
        out = tm.switch(tm.gt(step, 0), forward(step), backward(step))
    return tm.cast(out, "int64")


def _as_int64(v):
    from .math import cast

    if v is None or isinstance(v, int):
        return v
    s = static_int(v)
    if s is not None:
        return s
    return cast(v, "int64")


def as_update_value(y, x, op):
    """``y`` converted to ``x``'s dtype where NumPy would cast it without changing kind."""
    from .math import cast
    from .variable import as_tensor_variables_weak

    y = y if isinstance(y, Variable) else as_tensor_variables_weak([x, y])[1]
    y = as_tensor_variable(y)
    if y.dtype != x.dtype:
        if not np.can_cast(y.dtype, x.dtype, "same_kind"):
            raise GraphTypeError(
                f"{op}: cannot store values of {y.type} into {x.type} ({y.dtype} to {x.dtype} changes "
                f"the kind of number); cast it first, e.g. y.astype('{x.dtype}')" + where(y)
            )
        y = cast(y, x.dtype)
    return y


def check_update_static(op, y, region):
    """Refuse at build time a value that cannot broadcast to the indexed region's type."""
    if y.ndim > region.ndim:
        raise GraphShapeError(f"{op}: the value {y} ({y.type}) has more axes than the indexed "
                              f"region ({region})" + where(y))
    off = region.ndim - y.ndim
    for k, (ys, rs) in enumerate(zip(y.type.shape, region.shape[off:])):
        if ys is not None and rs is not None and ys != rs and ys != 1:
            raise GraphShapeError(f"{op}: the value {y} ({y.type}) has length {ys} on axis {k} where "
                                  f"the indexed region ({region}) has length {rs}" + where(y))


def check_update_runtime(op, node, y, region_shape):
    """NumPy broadcasting, restricted (as everywhere in symgraph) to static length-1 axes."""
    yshape = np.shape(y)
    off = len(region_shape) - len(yshape)
    static = node.inputs[1].type.shape
    bad = off < 0 or any(got != want and static[k] != 1
                         for k, (got, want) in enumerate(zip(yshape, region_shape[off:])))
    if bad:
        raise InputShapeError(
            f"{op}: cannot {'set' if op.set_instead_of_inc else 'add'} a value of shape {yshape} into "
            f"an indexed region of shape {tuple(region_shape)}; the value broadcasts only along missing "
            f"leading axes and axes of static length 1" + where(node.outputs[0])
        )


def grad_dtype(x):
    return x.dtype if x.dtype not in DISCRETE_DTYPES else config.floatX


# ---- Subtensor ---------------------------------------------------------------------------------

def runtime_slice(op, node, parts, axis):
    """The Python slice of resolved ``(start, stop, step)`` values, refusing a zero step."""
    s = slice(*(None if p is None else int(p) for p in parts))
    if s.step == 0:
        raise SymgraphValueError(f"{op}: slice step cannot be zero (axis {axis})" + where(node.outputs[0]))
    return s


class Subtensor(Op):
    """Basic indexing (ints, slices, new axes): a view of its input."""

    __props__ = ("idx_list",)
    view_map = {0: [0]}

    def __init__(self, idx_list):
        self.idx_list = normalize_idx_list(idx_list, type(self).__name__)
        for e in self.idx_list:
            if isinstance(e, tuple) and e[2] == 0:
                raise SymgraphValueError(f"Subtensor: slice step cannot be zero in {self.idx_list!r}")
        self.n_index_inputs = count_symbolic(self.idx_list)

    def __str__(self):
        return f"Subtensor{{{idx_str(self.idx_list)}}}"

    def make_node(self, x, *index):
        x = as_tensor_variable(x)
        index = [as_index_scalar(i, self) for i in index]
        if len(index) != self.n_index_inputs:
            raise GraphTypeError(f"{self}: expected {self.n_index_inputs} index inputs, got {len(index)}")
        consumed = sum(e is not None for e in self.idx_list)
        if consumed > x.ndim:
            raise SymgraphIndexError(f"{self}: too many indices for {x} ({x.type})" + where(x))
        shape = []
        entries = resolve(self.idx_list, index)
        axis = 0
        for e in entries:
            if e is None:
                shape.append(1)
                continue
            n = x.type.shape[axis]
            if isinstance(e, tuple):
                shape.append(static_slice_length(e, n))
            else:
                i = static_int(e)
                if i is not None and n is not None and not -n <= i < n:
                    raise SymgraphIndexError(f"{self}: index {i} is out of bounds for axis {axis} with "
                                             f"length {n} ({x.type})" + where(x))
            axis += 1
        shape.extend(x.type.shape[axis:])
        return Apply(self, [x, *index], [TensorType(x.dtype, shape)()])

    def numpy_index(self, node, shape, index_values):
        """The NumPy index tuple, with range checks that name the axis."""
        out = []
        axis = 0
        for e in resolve(self.idx_list, index_values):
            if e is None:
                out.append(None)
                continue
            if isinstance(e, tuple):
                out.append(runtime_slice(self, node, e, axis))
            else:
                i, n = int(e), shape[axis]
                if not -n <= i < n:
                    raise SymgraphIndexError(f"{self}: index {i} is out of bounds for axis {axis} "
                                             f"with length {n}" + where(node.outputs[0]))
                out.append(i)
            axis += 1
        # A trailing Ellipsis makes NumPy return a 0-d view, never a scalar copy.
        out.append(Ellipsis)
        return tuple(out)

    def perform(self, node, inputs, output_storage):
        x, *index = inputs
        output_storage[0][0] = x[self.numpy_index(node, x.shape, index)]

    def infer_shape(self, fgraph, node, input_shapes):
        xshape = input_shapes[0]
        static = node.outputs[0].type.shape
        out = []
        axis = 0
        for e in resolve(self.idx_list, node.inputs[1:]):
            if e is None:
                out.append(constant(1, dtype="int64"))
                continue
            if isinstance(e, tuple):
                k = len(out)
                out.append(constant(static[k], dtype="int64") if static[k] is not None
                           else slice_length(e, xshape[axis]))
            axis += 1
        out.extend(xshape[axis:])
        return [tuple(out)]

    def L_op(self, inputs, outputs, output_grads):
        from ..gradient import disconnected_type
        from .math import zeros_like

        x, *index = inputs
        if x.dtype in DISCRETE_DTYPES:
            gx = zeros_like(x, dtype=grad_dtype(x))
        else:
            gx = IncSubtensor(self.idx_list, False)(zeros_like(x), output_grads[0], *index)
        return [gx] + [disconnected_type() for _ in index]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        return [self(eval_points[0], *inputs[1:])]

    def connection_pattern(self, node):
        return [[True]] + [[False] for _ in node.inputs[1:]]

    def make_update(self, node, y, set_instead_of_inc):
        return IncSubtensor(self.idx_list, set_instead_of_inc)(node.inputs[0], y, *node.inputs[1:])


class IncSubtensor(Op):
    """A copy of ``x`` with ``x[idx]`` set to (or incremented by) ``y``, broadcast.

    It never modifies ``x``: updating in place is the backend's decision.
    """

    __props__ = ("idx_list", "set_instead_of_inc")

    def __init__(self, idx_list, set_instead_of_inc=False):
        self.view_op = Subtensor(idx_list)
        self.idx_list = self.view_op.idx_list
        self.set_instead_of_inc = bool(set_instead_of_inc)

    def __str__(self):
        kind = "Set" if self.set_instead_of_inc else "Inc"
        return f"{kind}Subtensor{{{idx_str(self.idx_list)}}}"

    def make_node(self, x, y, *index):
        view = self.view_op.make_node(x, *index)
        x = view.inputs[0]
        y = as_update_value(y, x, self)
        check_update_static(self, y, view.outputs[0].type)
        return Apply(self, [x, y, *view.inputs[1:]], [x.type()])

    def perform(self, node, inputs, output_storage):
        x, y, *index = inputs
        out = x.copy()
        region = out[self.view_op.numpy_index(node, x.shape, index)]
        check_update_runtime(self, node, y, region.shape)
        if self.set_instead_of_inc:
            region[...] = y
        else:
            np.add(region, y, out=region, casting="unsafe")
        output_storage[0][0] = out

    def variant(self, set_instead_of_inc):
        return IncSubtensor(self.idx_list, set_instead_of_inc)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        return update_grads(self, self.view_op, inputs, output_grads[0])

    def R_op(self, inputs, eval_points):
        return update_rop(self, inputs, eval_points)

    def connection_pattern(self, node):
        return [[True], [True]] + [[False] for _ in node.inputs[2:]]


def update_grads(op, view_op, inputs, gz):
    """Gradients of a set/inc op whose region is ``view_op``: ``[gx, gy, disconnected...]``."""
    from ..gradient import disconnected_type
    from .elemwise import reduce_to_shape
    from .math import zeros_like
    from .reduction import sum as tsum

    x, y, *index = inputs
    if x.dtype in DISCRETE_DTYPES:
        gx = zeros_like(x, dtype=grad_dtype(x))
    elif op.set_instead_of_inc:
        gx = op.variant(True)(gz, constant(0, dtype=gz.dtype), *index)
    else:
        gx = gz
    if y.dtype in DISCRETE_DTYPES:
        gy = zeros_like(y, dtype=grad_dtype(y))
    else:
        gy = reduce_to_shape(view_op(gz, *index), y, tsum)
    return [gx, gy] + [disconnected_type() for _ in index]


def update_rop(op, inputs, eval_points):
    from .math import zeros_like

    x, y, *index = inputs
    ex, ey = eval_points[:2]
    if ex is None and ey is None:
        return [None]
    ex = zeros_like(x) if ex is None else ex
    ey = zeros_like(y) if ey is None else ey
    return [op(ex, ey, *index)]
