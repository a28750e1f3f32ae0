"""join_slices: zeros whose disjoint slices are filled in is the join of the pieces.

The gradient of ``z[:, :H], z[:, H:2*H], ...`` (an LSTM's four gates) arrives
as ``inc_subtensor(zeros[:, :H], g0) + inc_subtensor(zeros[:, H:2*H], g1) + ...``
(or as a chain of inc/set_subtensor into one array of zeros): a fill, a copy
per piece and a sum, five passes over the matrix where ``join(1, g0, g1, ...)``
is one.  The rules here make that join when the slices are static, of step 1,
along one axis, disjoint and cover the axis (gaps of static length become
zero blocks), every other axis being full.

The result must equal what the original computes whenever that runs, and
must fail whenever it fails, so lengths are proved, not assumed: a piece's
length on the join axis is static; on the other axes it equals the zeros'
(same symbolic length, or checked by the join against a piece that does).
What cannot be proved statically but is a comparison of two lengths the
graph already has (an axis of the zeros is ``x.shape[i]`` of an input ``x``)
is checked at run time by ``AssertAligned``, one comparison instead of a pass.
"""

from dataclasses import dataclass

from ..graph.basic import Variable
from ..scalar import ops as scal
from ..tensor.subtensor import FULL_SLICE, IncSubtensor
from ..tensor.variable import constant
from .pattern import Pat
from .rules import RuleTable
from .utils import clients, constant_value, fill_value, same_length, shape_of

join_slices = RuleTable("join_slices")
register = join_slices.register


@register(Pat(IncSubtensor), name="join_slices_of_zeros")
def join_slices_of_zeros(node, fgraph):
    """``set/inc_subtensor`` chains into zeros over disjoint slices become one join."""
    out = node.outputs[0]
    if _extended_by_client(fgraph, out):
        return None  # the outermost update (or the sum of updates) sees every piece
    term = _filled_slices(fgraph, out)
    if term is None:
        return None
    return _join_terms(fgraph, [term], out)


@register(Pat(scal.add), name="join_slices_of_summed_zeros")
def join_slices_of_summed_zeros(node, fgraph):
    """A sum of updates of zeros over disjoint slices becomes one join (plus the other terms)."""
    from ..tensor import math as tm

    out = node.outputs[0]
    if _extended_by_client(fgraph, out):
        return None  # ``a + b + c`` is add(add(a, b), c): the outer sum sees every term
    terms, others = [], []
    for x in _summands(fgraph, out):
        term = _filled_slices(fgraph, x)
        if term is None:
            others.append(x)
        else:
            terms.append(term)
    if not terms:
        return None
    joined = _join_terms(fgraph, terms, out)
    if joined is None:
        return None
    return tm.add(joined, *others) if others else joined


# ---- recognising the pattern ---------------------------------------------------------------------


@dataclass
class _Piece:
    start: int | None  # as written: None or an int (negative counts from the end)
    stop: int | None
    value: Variable


@dataclass
class _Term:
    """``zeros`` with ``pieces`` set or added along ``axis``."""

    zeros: Variable
    axis: int
    pieces: list


def _filled_slices(fgraph, var):
    """``var`` as a ``_Term``: updates of one-axis static slices into zeros; else None."""
    pieces, axis, top = [], None, var
    while var.owner is not None and isinstance(var.owner.op, IncSubtensor):
        if var is not top and len(clients(fgraph, var)) > 1:
            return None  # the partial result is needed anyway: a join would add a pass
        found = _slice_of(var.owner)
        if found is None or (axis is not None and found[0] != axis):
            return None
        axis, start, stop = found
        pieces.append(_Piece(start, stop, var.owner.inputs[1]))
        var = var.owner.inputs[0]
    if not pieces:
        return None
    value = fill_value(var)
    if value is None or value != 0:
        return None
    return _Term(var, axis, pieces[::-1])


def _summands(fgraph, var):
    """The terms of the sum ``var``, through inner sums of its dtype used only by it."""
    terms = []
    for x in var.owner.inputs:
        if x is not var and _is_add(x.owner) and x.dtype == var.dtype and len(clients(fgraph, x)) <= 1:
            terms.extend(_summands(fgraph, x))
        else:
            terms.append(x)
    return terms


def _is_add(node):
    return node is not None and type(node.op).__name__ == "Elemwise" and node.op.scalar_op == scal.add


def _slice_of(node):
    """``(axis, start, stop)`` of an update of one static step-1 slice of one axis; else None."""
    if len(node.inputs) != 2:
        return None  # symbolic index parts
    entries = node.op.idx_list
    if any(not isinstance(e, tuple) for e in entries):
        return None  # an integer index or a new axis
    sliced = [k for k, e in enumerate(entries) if e != FULL_SLICE]
    if len(sliced) != 1:
        return None
    axis = sliced[0]
    start, stop, step = entries[axis]
    if step not in (None, 1):
        return None
    return axis, start, stop


def _extended_by_client(fgraph, var):
    """Whether the only use of ``var`` is an update or a sum that the rules would rewrite whole."""
    users = clients(fgraph, var)
    if len(users) != 1 or users[0][0] == "output":
        return False
    user, position = users[0]
    if isinstance(user.op, IncSubtensor):
        return position == 0
    return _is_add(user) and user.outputs[0].dtype == var.dtype


# ---- building the join ---------------------------------------------------------------------------


def _join_terms(fgraph, terms, out):
    """The join standing for the sum of ``terms`` (all over zeros of one shape), or None."""
    from ..tensor.basic import alloc
    from ..tensor.join import concatenate
    from ..tensor.math import cast

    first = terms[0].zeros
    axis, ndim = terms[0].axis, first.ndim
    if any(t.axis != axis or t.zeros.ndim != ndim for t in terms):
        return None
    dims = shape_of(fgraph, first)
    if any(not _same_lengths(fgraph, t.zeros, first) for t in terms[1:]):
        return None
    # An update's value already has its array's dtype; the join upcasts as the sum would.
    pieces = [p for t in terms for p in t.pieces]
    if len(pieces) < 2 or any(p.value.ndim != ndim for p in pieces):
        return None
    total = _static_length(fgraph, first, axis)
    blocks = _tiling(fgraph, pieces, axis, total)
    if blocks is None:
        return None
    checks = _other_axes_checks(fgraph, [p.value for p in pieces], first, axis, dims)
    if checks is None:
        return None
    parts = []
    for block in blocks:
        if isinstance(block, int):
            lengths = [constant(block, dtype="int64") if j == axis else dims[j] for j in range(ndim)]
            parts.append(alloc(constant(0, dtype=first.dtype), *lengths))
        else:
            parts.append(block.value)
    joined = cast(concatenate(parts, axis=axis), out.dtype)
    if total is None:
        checks.append((axis, dims[axis]))
    elif _last_length_unknown(fgraph, blocks, axis):
        checks.append((axis, constant(total, dtype="int64")))
    return _checked(joined, checks, out)


def _tiling(fgraph, pieces, axis, total):
    """The pieces and zero gaps (ints) in order along ``axis`` when they tile it exactly; else None.

    ``total`` is the static length of the axis, or None; then the slices must
    be non-negative, the last one open (``a:``), and lengths are checked at
    run time against the axis (``_join_terms``).
    """
    spans = []
    for p in pieces:
        span = _span(p, total)
        if span is None:
            return None
        spans.append((span, p))
    spans.sort(key=lambda s: (s[0][0], s[0][1] if s[0][1] is not None else float("inf")))
    blocks, end = [], 0
    for k, ((lo, hi), p) in enumerate(spans):
        if lo < end:
            return None  # overlapping slices
        if lo > end:
            blocks.append(lo - end)
        length = _static_length(fgraph, p.value, axis)
        if hi is None:
            # The open piece of an axis of unknown length: its length is whatever is left,
            # which the run-time check compares; it broadcasts only if of static length 1.
            if k != len(spans) - 1 or p.value.type.shape[axis] == 1:
                return None
            if blocks and (isinstance(blocks[-1], int) or _static_length(fgraph, blocks[-1].value, axis) < 2):
                # Before it, a zero gap or a piece of length 1 would let the original run on an
                # axis shorter than the pieces (their regions clipped to nothing).
                return None
            blocks.append(p)
            return blocks
        # A length known only at run time is allowed for a last piece that ends the axis: the
        # check of the join's total length then checks it.
        last_open = total is not None and k == len(spans) - 1 and hi == total
        if length != hi - lo and not (length is None and last_open and p.value.type.shape[axis] != 1):
            return None  # broadcast along the axis, or a length not known statically
        blocks.append(p)
        end = hi
    if total is None:
        return None  # a trailing region of unknown length
    if end < total:
        blocks.append(total - end)
    return blocks


def _span(piece, total):
    """``(lo, hi)`` of a slice on an axis of static length ``total`` (hi None: to the end)."""
    if total is not None:
        lo, hi, _ = slice(piece.start, piece.stop).indices(total)
        return lo, max(lo, hi)
    lo = 0 if piece.start is None else piece.start
    if lo < 0 or (piece.stop is not None and piece.stop <= lo):
        return None  # counts from an end of unknown position, or empty
    return lo, piece.stop


def _last_length_unknown(fgraph, blocks, axis):
    """Whether the last piece's length is only known at run time (checked against the axis)."""
    last = blocks[-1]
    return not isinstance(last, int) and _static_length(fgraph, last.value, axis) is None


def _other_axes_checks(fgraph, values, zeros, axis, dims):
    """``[(axis, length)]`` still to check at run time on the join; None if one cannot be.

    A value of static length 1 where the zeros' axis is longer would broadcast:
    not a join.  The join itself checks that the pieces agree on every other
    axis, so one piece of a provably right length proves the rest.
    """
    checks = []
    for j in range(zeros.ndim):
        if j == axis:
            continue
        want = zeros.type.shape[j]
        if any(v.type.shape[j] == 1 and want != 1 for v in values):
            return None
        if not any(_same(fgraph, v, j, dims[j]) for v in values):
            checks.append((j, dims[j]))
    return checks


def _checked(joined, checks, out):
    """``joined`` behind run-time checks of ``[(axis, length)]``; None if a length has no source."""
    from ..tensor.blas import AssertAligned
    from ..tensor.shape import specify_shape

    by_source = {}
    static = [None] * joined.ndim
    for j, length in checks:
        value = constant_value(length)
        if value is not None:
            static[j] = int(value)
            continue
        source = _shape_source(length)
        if source is None:
            return None
        var, i = source
        by_source.setdefault(var, []).append((j, i))
    if any(s is not None for s in static):
        joined = specify_shape(joined, static)
    name = f"{out.owner.op if out.owner is not None else 'update'} (as a join of slices)"
    for var, pairs in by_source.items():
        joined = AssertAligned(name, pairs)(joined, var)
    return joined


def _shape_source(length):
    """``(x, i)`` when ``length`` is ``x.shape[i]`` of an input ``x`` (free to compare), else None."""
    from ..tensor.shape import Shape_i

    node = length.owner
    if node is None or not isinstance(node.op, Shape_i) or node.inputs[0].owner is not None:
        return None
    return node.inputs[0], node.op.i


def _same_lengths(fgraph, a, b):
    sb = shape_of(fgraph, b)
    return all(_same(fgraph, a, j, sb[j]) for j in range(a.ndim))


def _same(fgraph, var, j, length):
    """Whether axis ``j`` of ``var`` provably has ``length``."""
    return any(same_length(n, length) for n in _equal_lengths(fgraph, var, j))


def _equal_lengths(fgraph, var, j, limit=64):
    """Symbolic lengths equal to axis ``j`` of ``var`` wherever ``var`` is computed.

    Axis ``j`` of an elementwise result is that of each input not broadcast
    along it (the Elemwise checks it), of ``x[..., :, ...]`` that of ``x``,
    of a matrix product's rows those of its first factor, and so on: a walk
    up the ops that compute ``var``, which still run after the rewrite.
    """
    from ..tensor.basic import Alloc
    from ..tensor.blas import AssertAligned, Dot
    from ..tensor.elemwise import DimShuffle, Elemwise
    from ..tensor.shape import SpecifyShape
    from ..tensor.subtensor import Subtensor

    lengths, seen, stack = [], set(), [(var, j)]
    while stack and len(seen) < limit:
        v, axis = stack.pop()
        if (v, axis) in seen:
            continue
        seen.add((v, axis))
        lengths.append(shape_of(fgraph, v)[axis])
        node, static = v.owner, v.type.shape[axis]
        if static is not None:
            lengths.append(constant(static, dtype="int64"))
        if node is None:
            continue
        op = node.op
        if isinstance(op, Elemwise):
            stack.extend((i, axis) for i in node.inputs if i.ndim == v.ndim and i.type.shape[axis] != 1)
        elif isinstance(op, DimShuffle) and op.new_order[axis] != "x":
            stack.append((node.inputs[0], op.new_order[axis]))
        elif isinstance(op, Subtensor) and all(isinstance(e, tuple) for e in op.idx_list):
            if axis >= len(op.idx_list) or op.idx_list[axis] == FULL_SLICE:
                stack.append((node.inputs[0], axis))
        elif isinstance(op, (SpecifyShape, AssertAligned)):
            stack.append((node.inputs[0], axis))
        elif isinstance(op, Dot) and all(i.ndim == 2 for i in node.inputs):
            stack.append((node.inputs[axis], axis))
        elif isinstance(op, Alloc):
            lengths.append(node.inputs[1 + axis])
    return lengths


def _static_length(fgraph, var, axis):
    if var.type.shape[axis] is not None:
        return var.type.shape[axis]
    value = constant_value(shape_of(fgraph, var)[axis])
    return None if value is None else int(value)
