"""subtensor: indexing an array that is built from parts takes the part, not the whole.

``x.shape[0]`` of an intermediate becomes the length ``infer_shape`` knows
(Subtensor of the MakeVector that ``shape_of_computed`` leaves), an index into
an ``alloc`` allocates only the selected region, and an index into a ``join``
that falls in one piece indexes that piece.  These run with ``canonicalize``.
"""

from ..errors import SymgraphError
from ..tensor.basic import Alloc, MakeVector, alloc, make_vector
from ..tensor.join import Join
from ..tensor.subtensor import FULL_SLICE, Subtensor, resolve, static_int
from ..tensor.variable import constant
from .pattern import Pat
from .rules import RuleTable
from .utils import n_clients, shape_of

subtensor = RuleTable("subtensor")
register = subtensor.register


@register(Pat(Subtensor), name="useless_subtensor")
def useless_subtensor(node):
    x = node.inputs[0]
    entries = resolve(node.op.idx_list, node.inputs[1:])
    if all(isinstance(e, tuple) and _covers(e, n) for e, n in zip(entries, x.type.shape)):
        return x
    return None


def _covers(part_values, n):
    """Whether the slice ``part_values`` selects all of an axis of static length ``n``."""
    start, stop, step = (static_int(p) if p is not None else None for p in part_values)
    if any(p is not None and v is None for p, v in zip(part_values, (start, stop, step))):
        return False  # a symbolic bound
    if step not in (None, 1) or start not in (None, 0):
        return False
    return stop is None or (n is not None and stop >= n)


@register(Pat(Subtensor), name="subtensor_of_make_vector")
def subtensor_of_make_vector(node):
    vec = node.inputs[0]
    if vec.owner is None or not isinstance(vec.owner.op, MakeVector) or len(node.op.idx_list) != 1:
        return None
    elements = vec.owner.inputs
    (entry,) = resolve(node.op.idx_list, node.inputs[1:])
    if isinstance(entry, tuple):
        parts = [static_int(p) if p is not None else None for p in entry]
        if any(p is not None and v is None for p, v in zip(entry, parts)):
            return None
        picked = elements[slice(*parts)]
        if not picked:
            return constant([], dtype=vec.dtype)
        return make_vector(*picked, dtype=vec.dtype)
    i = static_int(entry)
    if i is None or not -len(elements) <= i < len(elements):
        return None  # out of range: the IndexError is raised when it runs
    return elements[i]


@register(Pat(Subtensor), name="subtensor_of_alloc")
def subtensor_of_alloc(node, fgraph):
    # alloc(v, n, m)[i] is alloc(v[...], m): allocate only what is selected.
    filled = node.inputs[0]
    if filled.owner is None or not isinstance(filled.owner.op, Alloc) or n_clients(fgraph, filled) > 1:
        return None
    value = filled.owner.inputs[0]
    padded = value.dimshuffle(*(["x"] * (filled.ndim - value.ndim) + list(range(value.ndim))))
    index, axis = [], 0
    for e in resolve(node.op.idx_list, node.inputs[1:]):
        if e is None:
            index.append(None)
            continue
        if padded.type.shape[axis] == 1 and filled.type.shape[axis] != 1:
            # A broadcast axis of the value: every index selects its one entry.
            index.append(slice(None) if isinstance(e, tuple) else 0)
        elif isinstance(e, tuple):
            index.append(slice(*e))
        else:
            index.append(e)
        axis += 1
    if all(isinstance(i, slice) and i == slice(None) for i in index):
        return alloc(padded, *shape_of(fgraph, node.outputs[0]))
    try:
        selected = padded[tuple(index)]
    except SymgraphError:
        return None  # an index the value's static shape refuses: let it fail when it runs
    return alloc(selected, *shape_of(fgraph, node.outputs[0]))


@register(Pat(Subtensor), name="subtensor_of_join")
def subtensor_of_join(node, fgraph):
    # join(0, a, b)[2:4] with the range inside b is b[2 - len(a):4 - len(a)].
    joined = node.inputs[0]
    if joined.owner is None or not isinstance(joined.owner.op, Join):
        return None
    k = joined.owner.op.axis
    pieces = joined.owner.inputs
    position = _entry_of_axis(node.op.idx_list, k)
    if position is None:
        return None
    entry = node.op.idx_list[position]
    if entry == "?" or (isinstance(entry, tuple) and "?" in entry):
        return None
    lengths = [_static_length(fgraph, p, k) for p in pieces]
    if None in lengths:
        return None
    found = _piece_of(entry, lengths)
    if found is None:
        return None
    p, local = found
    idx_list = list(node.op.idx_list)
    idx_list[position] = local
    while idx_list and idx_list[-1] == FULL_SLICE:
        idx_list.pop()
    if not idx_list:
        return pieces[p]
    return Subtensor(tuple(idx_list))(pieces[p], *node.inputs[1:])


def _entry_of_axis(idx_list, axis):
    """The position in ``idx_list`` of the entry indexing input ``axis`` (None if none does)."""
    seen = 0
    for pos, e in enumerate(idx_list):
        if e is None:
            continue
        if seen == axis:
            return pos
        seen += 1
    return None


def _static_length(fgraph, x, axis):
    if x.type.shape[axis] is not None:
        return x.type.shape[axis]
    n = static_int(shape_of(fgraph, x)[axis]) if hasattr(x.type, "ndim") else None
    return n


def _piece_of(entry, lengths):
    """``(piece, local entry)`` when ``entry`` selects within one piece, else None."""
    total = sum(lengths)
    offsets = [sum(lengths[:p]) for p in range(len(lengths))]
    if isinstance(entry, int):
        i = entry + total if entry < 0 else entry
        for p, (off, n) in enumerate(zip(offsets, lengths)):
            if off <= i < off + n:
                return p, i - off
        return None
    start, stop, step = entry
    if step not in (None, 1):
        return None
    lo, hi, _ = slice(start, stop).indices(total)
    if hi <= lo:
        return None
    for p, (off, n) in enumerate(zip(offsets, lengths)):
        if off <= lo and hi <= off + n:
            local = (lo - off if lo > off else None, hi - off if hi < off + n else None, None)
            return p, local
    return None
