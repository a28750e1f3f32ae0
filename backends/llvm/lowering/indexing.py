"""Indexing: basic Subtensor views, IncSubtensor, and integer-array gathers and scatters.

A basic index (ints, slices, new axes) is pure stride arithmetic: the result
is a new ArrayValue over the input's data, clamped exactly as Python's
``slice.indices``.  An advanced index (integer arrays, possibly mixed with
ints, slices and new axes) first checks every index, then walks the
result's leading axes (those before and including the broadcast index
axes) in C order; each position picks one *slab* of the basically indexed
input and copies it into the result, or adds/stores the matching slab of
the update into a copy of the input.  Positions are visited in order, so
repeated indices accumulate as ``np.add.at`` and the last one wins for a
set.  Boolean masks stay on ``perform`` (their result length is
data-dependent).

Errors: an integer out of range is ``ERR_INDEX (axis, index, length)``;
index arrays that cannot broadcast are ``ERR_INDEX`` with axis -1 and
``(length, broadcast length)``; a zero slice step (symbolic) is
``ERR_SHAPE (axis, 0)``; an update value of the wrong shape is
``ERR_BROADCAST`` on input 1.
"""

from symgraph.tensor.advanced_subtensor import AdvancedIncSubtensor, AdvancedSubtensor
from symgraph.tensor.subtensor import IncSubtensor, Subtensor, resolve

from .. import scalar_ir
from ..codegen import ERR_BROADCAST, ERR_INDEX, ERR_SHAPE, ITEMSIZE
from . import register
from .loops import copy_loop, elementwise_loop, kernel_loop, load_value, store_value

_ADD = scalar_ir.scal_op("add")


def native_dtypes(node):
    return all(str(v.type.dtype) in ITEMSIZE for v in list(node.inputs) + list(node.outputs))


# ---- scalar index arithmetic --------------------------------------------------------------------

def _select_max(b, x, y):
    return b.select(b.icmp_signed(">", x, y), x, y)


def _select_min(b, x, y):
    return b.select(b.icmp_signed("<", x, y), x, y)


def index_value(ctx, arr, ptr=None):
    """An integer element as i64, and whether its dtype is unsigned (no wrapping from the end)."""
    v = load_value(ctx, arr, arr.data if ptr is None else ptr)
    return scalar_ir.cast(ctx.builder, v, arr.dtype, "int64"), arr.dtype.startswith("uint")


def checked_index(ctx, node, value, unsigned, length, axis):
    """``value`` counted from the end when negative, after checking ``-length <= value < length``."""
    b = ctx.builder
    if unsigned:
        ok, wrapped = b.icmp_unsigned("<", value, length), value
    else:
        wrapped = b.select(b.icmp_signed("<", value, ctx.i64(0)), b.add(value, length), value)
        ok = b.and_(b.icmp_signed(">=", wrapped, ctx.i64(0)), b.icmp_signed("<", wrapped, length))
    ctx.check(ok, ERR_INDEX, ctx.node_id(node), ctx.i64(axis), value, length)
    return wrapped


def slice_bounds(ctx, node, axis, n, start, stop, step):
    """``(first, length, step)`` of ``slice(start, stop, step)`` on an axis of length ``n``.

    Parts are None, Python ints or i64 values; the arithmetic is
    ``slice.indices``: bounds clamp to the axis, negatives count from its end.
    """
    b = ctx.builder
    i64 = ctx.i64

    def as_value(p):
        return i64(p) if isinstance(p, int) else p

    def bound(p, default, lo, hi):
        if p is None:
            return default
        p = as_value(p)
        return b.select(b.icmp_signed("<", p, i64(0)), _select_max(b, b.add(p, n), lo), _select_min(b, p, hi))

    def forward(s):
        first, last = bound(start, i64(0), i64(0), n), bound(stop, n, i64(0), n)
        length = b.sdiv(b.add(b.sub(last, first), b.sub(s, i64(1))), s)
        return first, _select_max(b, length, i64(0))

    def backward(s):
        last_default = b.sub(n, i64(1))
        first = bound(start, last_default, i64(-1), last_default)
        last = bound(stop, i64(-1), i64(-1), last_default)
        length = b.sdiv(b.sub(b.sub(b.sub(first, last), s), i64(1)), b.neg(s))
        return first, _select_max(b, length, i64(0))

    if step is None or isinstance(step, int):
        step = 1 if step is None else step
        first, length = forward(i64(step)) if step > 0 else backward(i64(step))
        return first, length, i64(step)
    ctx.check(b.icmp_signed("!=", step, i64(0)), ERR_SHAPE, ctx.node_id(node), i64(axis), step)
    positive = b.icmp_signed(">", step, i64(0))
    # The unused branch divides by a step of the wrong sign, never by zero: both are safe.
    f_first, f_length = forward(step)
    r_first, r_length = backward(step)
    return b.select(positive, f_first, r_first), b.select(positive, f_length, r_length), step


class _Symbolic:
    """A ``"?"`` of an idx_list: the k-th index input."""

    def __init__(self, k):
        self.k = k


def _entries(idx_list, n_inputs):
    return resolve(idx_list, [_Symbolic(k) for k in range(n_inputs)])


def _scalar_part(ctx, p, index_arrs):
    """A slice part: None, a Python int, or the i64 value of its index input."""
    if isinstance(p, _Symbolic):
        return index_value(ctx, index_arrs[p.k])[0]
    return p


# ---- what the error details mean (linker.raise_error asks the lowering) --------------------------

def _step_error(node, details):
    return f"{node.op}: slice step cannot be zero (axis {details[0]})"


def _index_error(node, details):
    if details[0] >= 0:
        return None  # the default: index out of bounds for axis with length
    return (f"{node.op}: index arrays cannot be broadcast together (lengths {details[1]} and {details[2]} "
            f"on one axis)")


def _update_error(node, details):
    _, axis, got, want = details[:4]
    verb = "set" if node.op.set_instead_of_inc else "add"
    return (f"{node.op}: cannot {verb} the value {node.inputs[1]}, of length {got} on its axis {axis}, into "
            f"an indexed region of length {want} there; the value broadcasts only along missing leading "
            f"axes and axes of static length 1")


def _describes_errors(lower):
    lower.shape_error, lower.index_error, lower.broadcast_error = _step_error, _index_error, _update_error
    return lower


# ---- basic indexing: views ------------------------------------------------------------------------

def basic_view(ctx, node, x, idx_list, index_arrs):
    """``x[idx_list]`` for ints, slices and new axes: a view (no copy), with NumPy's range checks."""
    b = ctx.builder
    offset = ctx.i64(0)
    shape, strides = [], []
    axis = 0
    for e in _entries(idx_list, len(index_arrs)):
        if e is None:
            shape.append(ctx.i64(1))
            strides.append(ctx.i64(0))
            continue
        n, stride = x.shape[axis], x.strides[axis]
        if isinstance(e, tuple):
            start, stop, step = (_scalar_part(ctx, p, index_arrs) for p in e)
            first, length, step = slice_bounds(ctx, node, axis, n, start, stop, step)
            # An empty slice may start just outside the axis; keep its pointer inside.
            nonempty = b.icmp_signed(">", length, ctx.i64(0))
            offset = b.add(offset, b.select(nonempty, b.mul(first, stride), ctx.i64(0)))
            shape.append(length)
            strides.append(b.mul(stride, step))
        else:
            value, unsigned = (index_value(ctx, index_arrs[e.k]) if isinstance(e, _Symbolic)
                               else (ctx.i64(e), False))
            i = checked_index(ctx, node, value, unsigned, n, axis)
            offset = b.add(offset, b.mul(i, stride))
        axis += 1
    shape.extend(x.shape[axis:])
    strides.extend(x.strides[axis:])
    return x.view(data=ctx.gep(x.data, offset), shape=shape, strides=strides)


@register(Subtensor, native_dtypes)
@_describes_errors
def lower_subtensor(ctx, node, ins):
    x, *index = ins
    return [basic_view(ctx, node, x, node.op.idx_list, index)]


def fresh_copy(ctx, var, x):
    """Storage for ``var`` holding a copy of ``x``."""
    out = ctx.alloc(var, x.shape)
    copy_loop(ctx, x, out, fresh=True)
    return out


def update_view(ctx, node, y, shape):
    """The update value ``y`` (input 1) seen with the region's ``shape``.

    It broadcasts along missing leading axes and its static length-1 axes only,
    as ``check_update_runtime``.
    """
    b = ctx.builder
    static = node.inputs[1].type.shape
    lead = len(shape) - y.ndim
    strides = [ctx.i64(0)] * lead
    for k in range(y.ndim):
        if static[k] == 1:
            strides.append(ctx.i64(0))
            continue
        want = shape[lead + k]
        ctx.check(b.icmp_signed("==", y.shape[k], want), ERR_BROADCAST, ctx.node_id(node), ctx.i64(1),
                  ctx.i64(k), y.shape[k], want)
        strides.append(y.strides[k])
    return y.view(shape=list(shape), strides=strides)


def store_update(ctx, region, y, set_instead_of_inc):
    """``region[...] = y`` or ``region += y`` (same dtype), elementwise."""
    dtype = region.dtype

    def body(ptrs, _):
        value = load_value(ctx, y, ptrs[0])
        if not set_instead_of_inc:
            current = load_value(ctx, region, ptrs[1])
            value = scalar_ir.emit(ctx, _ADD, [(current, dtype), (value, dtype)], dtype)
        store_value(ctx, region, ptrs[1], value)

    kernel_loop(ctx, ("store_update", bool(set_instead_of_inc)), region.shape, [y, region], body)


@register(IncSubtensor, native_dtypes)
@_describes_errors
def lower_inc_subtensor(ctx, node, ins):
    x, y, *index = ins
    out = fresh_copy(ctx, node.outputs[0], x)
    region = basic_view(ctx, node, out, node.op.idx_list, index)
    store_update(ctx, region, update_view(ctx, node, y, region.shape), node.op.set_instead_of_inc)
    return [out]


# ---- advanced indexing: gathers and scatters ------------------------------------------------------

def _can_lower_advanced(node, first_index):
    if not native_dtypes(node):
        return False
    # Boolean masks have a data-dependent length: they stay on perform.
    return all(v.type.dtype != "bool" for v in node.inputs[first_index:])


class AdvancedIndex:
    """An advanced index resolved against an array ``x``.

    ``base``: the data pointer after the int and slice offsets; ``rest``:
    ``(shape, strides)`` of the axes of x left after indexing (slice and new
    axes, then x's unindexed trailing axes); ``arrays``: ``(ArrayValue seen
    with the broadcast index shape, length and byte stride of the axis it
    indexes)`` per integer array; ``bshape``: the broadcast index shape, which
    sits before rest axis ``at`` in the result.
    """

    def __init__(self, ctx, node, x, idx_list, index_vars, index_arrs):
        b = ctx.builder
        self.ctx, self.node = ctx, node
        offset = ctx.i64(0)
        rest_shape, rest_strides, arrays, positions = [], [], [], []
        self.at = None
        axis = 0
        for pos, e in enumerate(_entries(idx_list, len(index_arrs))):
            if e is None:
                rest_shape.append(ctx.i64(1))
                rest_strides.append(ctx.i64(0))
                continue
            n, stride = x.shape[axis], x.strides[axis]
            if isinstance(e, tuple):
                start, stop, step = (_scalar_part(ctx, p, index_arrs) for p in e)
                first, length, step = slice_bounds(ctx, node, axis, n, start, stop, step)
                nonempty = b.icmp_signed(">", length, ctx.i64(0))
                offset = b.add(offset, b.select(nonempty, b.mul(first, stride), ctx.i64(0)))
                rest_shape.append(length)
                rest_strides.append(b.mul(stride, step))
                axis += 1
                continue
            # Ints join the advanced group: they decide, with the arrays, where its axes land.
            positions.append(pos)
            if self.at is None:
                self.at = len(rest_shape)
            if isinstance(e, _Symbolic) and index_vars[e.k].ndim > 0:
                arr = index_arrs[e.k]
                self._validate(arr, n, axis)
                arrays.append((arr, n, stride))
            else:
                value, unsigned = (index_value(ctx, index_arrs[e.k]) if isinstance(e, _Symbolic)
                                   else (ctx.i64(e), False))
                offset = b.add(offset, b.mul(checked_index(ctx, node, value, unsigned, n, axis), stride))
            axis += 1
        if positions != list(range(positions[0], positions[-1] + 1)):
            self.at = 0  # separated advanced entries put their axes first, as NumPy
        rest_shape.extend(x.shape[axis:])
        rest_strides.extend(x.strides[axis:])
        self.x, self.base = x, ctx.gep(x.data, offset)
        self.rest_shape, self.rest_strides = rest_shape, rest_strides
        self.bshape = self._broadcast([a for a, *_ in arrays])
        self.arrays = [(self._seen_with_bshape(a), n, stride) for a, n, stride in arrays]

    def _validate(self, arr, n, axis):
        """Check every index once, up front: NumPy refuses a bad index even where the result is empty."""
        ctx = self.ctx

        def emit(inner):
            a = arr.view(data=inner(arr.data), shape=[inner(v) for v in arr.shape],
                         strides=[inner(v) for v in arr.strides])

            def body(ptrs):
                value, unsigned = index_value(ctx, a, ptrs[0])
                checked_index(ctx, self.node, value, unsigned, inner(n), axis)

            elementwise_loop(ctx, a.shape, [a], body, contiguous_path=False)

        # A function of its own: a loop in the entry point would make LLVM optimise all of its glue.
        ctx.outline("validate", [arr.data, *arr.shape, *arr.strides, n], emit)

    def _broadcast(self, arrs):
        """The index arrays' common shape; a runtime length 1 broadcasts, as NumPy."""
        ctx, b = self.ctx, self.ctx.builder
        if len(arrs) == 1:
            return list(arrs[0].shape)
        nd = max(a.ndim for a in arrs)
        out = []
        for d in range(nd):
            lengths = [a.shape[d - nd + a.ndim] for a in arrs if d - nd + a.ndim >= 0]
            r = ctx.i64(1)
            for n in lengths:
                r = b.select(b.icmp_signed("==", n, ctx.i64(1)), r, n)
            for n in lengths:
                ok = b.or_(b.icmp_signed("==", n, ctx.i64(1)), b.icmp_signed("==", n, r))
                ctx.check(ok, ERR_INDEX, ctx.node_id(self.node), ctx.i64(-1), n, r)
            out.append(r)
        return out

    def _seen_with_bshape(self, a):
        ctx, b = self.ctx, self.ctx.builder
        lead = len(self.bshape) - a.ndim
        strides = [ctx.i64(0)] * lead + [
            b.select(b.icmp_signed("==", n, ctx.i64(1)), ctx.i64(0), s) for n, s in zip(a.shape, a.strides)]
        return a.view(shape=self.bshape, strides=strides)

    def result_shape(self):
        return self.rest_shape[:self.at] + self.bshape + self.rest_shape[self.at:]

    def for_each(self, body):
        """Call ``body(x_slab, position)`` for every index of the result's leading axes.

        The leading axes are the rest axes before ``at`` and the index axes,
        walked in the result's C order (so writes stream through memory);
        ``x_slab`` is the view of x selected there (the remaining rest axes)
        and ``position`` the list of i64 indices, for ``slab_of``.
        """
        ctx, b = self.ctx, self.ctx.builder
        outer = self.at
        lengths = self.rest_shape[:outer] + self.bshape

        def leaf(position):
            offset = ctx.i64(0)
            for i, s in zip(position[:outer], self.rest_strides[:outer]):
                offset = b.add(offset, b.mul(i, s))
            for arr, n, stride in self.arrays:
                at = ctx.i64(0)
                for i, s in zip(position[outer:], arr.strides):
                    at = b.add(at, b.mul(i, s))
                value, unsigned = index_value(ctx, arr, ctx.gep(arr.data, at))
                if not unsigned:  # already checked: only wrap negatives
                    value = b.select(b.icmp_signed("<", value, ctx.i64(0)), b.add(value, n), value)
                offset = b.add(offset, b.mul(value, stride))
            slab = self.x.view(data=ctx.gep(self.base, offset), shape=self.rest_shape[outer:],
                               strides=self.rest_strides[outer:])
            body(slab, position)

        def nest(d, position):
            if d == len(lengths):
                leaf(position)
                return
            # The slabs' copies are kernels: this loop only computes where they are.
            with ctx.loop(lengths[d], f"adv{d}", hot=False) as i:
                nest(d + 1, position + [i])

        nest(0, [])

    def slab_of(self, arr, position):
        """The slab of ``arr`` (shaped like the result) at a ``position`` of its leading axes."""
        ctx, b = self.ctx, self.ctx.builder
        k = len(position)
        offset = ctx.i64(0)
        for i, s in zip(position, arr.strides[:k]):
            offset = b.add(offset, b.mul(i, s))
        return arr.view(data=ctx.gep(arr.data, offset), shape=arr.shape[k:], strides=arr.strides[k:])


def _copy(ctx, src, dst):
    copy_loop(ctx, src, dst)


@register(AdvancedSubtensor, lambda node: _can_lower_advanced(node, 1))
@_describes_errors
def lower_advanced_subtensor(ctx, node, ins):
    x, *index = ins
    adv = AdvancedIndex(ctx, node, x, node.op.idx_list, node.inputs[1:], index)
    out = ctx.alloc(node.outputs[0], adv.result_shape())
    adv.for_each(lambda slab, position: _copy(ctx, slab, adv.slab_of(out, position)))
    return [out]


@register(AdvancedIncSubtensor, lambda node: _can_lower_advanced(node, 2))
@_describes_errors
def lower_advanced_inc_subtensor(ctx, node, ins):
    x, y, *index = ins
    out = fresh_copy(ctx, node.outputs[0], x)
    adv = AdvancedIndex(ctx, node, out, node.op.idx_list, node.inputs[2:], index)
    y_full = update_view(ctx, node, y, adv.result_shape())
    set_instead_of_inc = node.op.set_instead_of_inc
    adv.for_each(lambda slab, position: store_update(ctx, slab, adv.slab_of(y_full, position),
                                                     set_instead_of_inc))
    return [out]
