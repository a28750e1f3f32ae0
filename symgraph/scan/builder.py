"""scan(): Theano's loop interface, normalised into a Scan over a closed body.

Taps are normalised away: a sequence read at taps ``[-1, 0]`` becomes two
sequences (shifted views of the same array), and a state with taps
``[-1, -2]`` becomes two carried values, the step passing the newer one down.
Variables the step function reads without declaring them (shared variables,
outer symbolic values) become parameters; shared variables with a
``default_update`` made inside the step (random states) become carried values
whose final value is returned as an update.
"""

from collections import OrderedDict

from ..errors import SymgraphError, where
from ..graph.basic import Constant, Variable
from ..graph.traversal import graph_inputs, rebuild
from ..tensor import math as tm
from ..tensor.shape import shape_i
from ..tensor.variable import as_tensor_variable
from .body import ScanBody
from .op import Scan


class until:
    """Returned by a step function (with its outputs) to stop the loop once ``condition`` holds."""

    def __init__(self, condition):
        self.condition = as_tensor_variable(condition)
        if self.condition.ndim != 0:
            raise SymgraphError(f"scan until: the condition must be a scalar, got {self.condition.type}")


class ScanError(SymgraphError, ValueError):
    pass


def _as_list(x):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _seq_spec(s):
    if isinstance(s, dict):
        taps = list(s.get("taps", [0]))
        return as_tensor_variable(s["input"]), taps
    return as_tensor_variable(s), [0]


def _state_spec(o):
    if o is None:
        return None
    if isinstance(o, dict):
        init = o.get("initial")
        if init is None:
            return None
        taps = list(o.get("taps", [-1]))
        if any(t >= 0 for t in taps):
            raise ScanError(f"scan: state taps must be negative, got {taps}")
        return as_tensor_variable(init), taps
    return as_tensor_variable(o), [-1]


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, strict=False,
         return_list=False):
    """Loop ``fn`` over sequences and carried state, Theano's way.

    ``fn`` receives, in order, the sequence slices (each tap), the previous
    values of each state (each tap), then ``non_sequences``; it returns the
    new states and per-step outputs in the order of ``outputs_info``
    (optionally followed by an updates dict and/or ``until(condition)``).
    Returns ``(outputs, updates)``.
    """
    seq_specs = [_seq_spec(s) for s in _as_list(sequences)]
    info = _as_list(outputs_info)
    non_seqs = [as_tensor_variable(v) if not isinstance(v, Variable) else v for v in _as_list(non_sequences)]

    # ---- sequences: one shifted view per tap --------------------------------------------
    outer_seqs, seq_slots, lengths = [], [], []
    for seq, taps in seq_specs:
        if seq.ndim < 1:
            raise ScanError(f"scan: sequence {seq} is a scalar; sequences are iterated over axis 0" + where(seq))
        if go_backwards:
            seq = seq[::-1]
        lo, hi = min(taps), max(taps)
        length = shape_i(seq, 0) - (hi - lo)
        lengths.append(length)
        for tap in taps:
            view = seq[tap - lo:] if tap == hi else seq[tap - lo: tap - hi]
            outer_seqs.append(view)
            slot = view.type.clone(shape=view.type.shape[1:])(f"{seq.name or 'seq'}[t{tap:+d}]")
            seq_slots.append(slot)

    if n_steps is None:
        if not lengths:
            raise ScanError("scan: give sequences or n_steps")
        steps = lengths[0]
        for length in lengths[1:]:
            steps = tm.minimum(steps, length)
    else:
        steps = tm.cast(as_tensor_variable(n_steps), "int64")
        if lengths:
            for length in lengths:
                steps = tm.minimum(steps, length)
    outer_seqs = [s[:steps] for s in outer_seqs]

    # ---- states: one carried value per tap ----------------------------------------------
    states = []  # (position in outputs_info, init, taps, first carry index)
    carry_inits, carry_slots = [], []
    for pos, o in enumerate(info):
        spec = _state_spec(o)
        if spec is None:
            continue
        init, taps = spec
        depth = -min(taps)
        first = len(carry_slots)
        if taps == [-1] and not isinstance(o, dict):
            values = [init]
        else:
            if init.ndim < 1:
                raise ScanError(f"scan: a state with taps {taps} needs an initial value with {depth} rows"
                                + where(init))
            # carried value j holds the state j+1 steps back
            values = [init[depth - 1 - j] if j < depth else None for j in range(depth)]
        for j, v in enumerate(values):
            carry_inits.append(v)
            carry_slots.append(v.type.clone()(f"state{pos}[t-{j + 1}]"))
        states.append((pos, init, taps, first, depth))

    # ---- call the step function -----------------------------------------------------------
    param_slots = [v.type.clone()(v.name) for v in non_seqs]
    args = list(seq_slots)
    for pos, init, taps, first, depth in states:
        for tap in taps:
            args.append(carry_slots[first + (-tap) - 1])
    args += param_slots
    result = fn(*args)
    outputs, updates, cond = _parse_result(result)
    outputs = [as_tensor_variable(o) for o in outputs]
    if len(outputs) != len(info) and info:
        raise ScanError(f"scan: the step function returned {len(outputs)} outputs but outputs_info has "
                        f"{len(info)} entries")
    if not info:
        info = [None] * len(outputs)

    # ---- new carried values -------------------------------------------------------------------
    carry_outs = [None] * len(carry_slots)
    state_positions = {pos for pos, *_ in states}
    for pos, init, taps, first, depth in states:
        new = outputs[pos]
        slot = carry_slots[first]
        if new.dtype != slot.dtype or new.ndim != slot.ndim:
            raise ScanError(
                f"scan: the step function returns {new} of type {new.type} for the state initialised "
                f"with {init} of type {init.type}; they must have the same dtype and rank "
                f"(cast the initial value or the output)" + where(new))
        carry_outs[first] = _fit(new, slot)
        for j in range(1, depth):
            carry_outs[first + j] = carry_slots[first + j - 1]
    y_outs = [outputs[pos] for pos in range(len(outputs)) if pos not in state_positions]

    # ---- shared-variable updates made inside the step become carried values --------------------
    from ..compile.shared import SharedVariable

    # Random draws made inside the step advance their state each step.
    for v in graph_inputs(outputs + ([cond] if cond is not None else [])):
        upd = getattr(v, "default_update", None)
        if isinstance(v, SharedVariable) and upd is not None and v not in updates:
            updates[v] = upd
            v.default_update = None
    update_targets = []
    for shared_var, new in updates.items():
        slot = shared_var.type.clone()(f"{shared_var.name or 'shared'}[t-1]")
        carry_slots.append(slot)
        carry_inits.append(shared_var)
        carry_outs.append(_fit(as_tensor_variable(new), slot))
        update_targets.append(shared_var)

    inner_outputs = carry_outs + y_outs + ([cond] if cond is not None else [])
    replace_updates = {s: carry_slots[len(carry_slots) - len(update_targets) + k]
                       for k, s in enumerate(update_targets)}
    inner_outputs, _ = rebuild(inner_outputs, replace_updates) if replace_updates else (inner_outputs, None)

    # ---- close the body over free variables -------------------------------------------------
    declared = set(seq_slots) | set(carry_slots) | set(param_slots)
    free = [v for v in graph_inputs(inner_outputs)
            if v not in declared and not isinstance(v, Constant)]
    if strict and any(not isinstance(v, SharedVariable) for v in free):
        bad = next(v for v in free if not isinstance(v, SharedVariable))
        raise ScanError(f"scan(strict=True): the step function reads {bad}, which is not a sequence, "
                        f"state or non_sequence" + where(bad))
    outer_params = list(non_seqs) + free
    free_slots = [v.type.clone()(v.name) for v in free]
    if free:
        inner_outputs, _ = rebuild(inner_outputs, dict(zip(free, free_slots)))
    param_slots = param_slots + free_slots

    nc, ny = len(carry_outs), len(y_outs)
    body = ScanBody(seq_slots, carry_slots, param_slots, inner_outputs[:nc], inner_outputs[nc:nc + ny],
                    inner_outputs[nc + ny] if cond is not None else None)
    body, outer_params = hoist_invariants(body, outer_params)
    keep = [True] * nc
    op = Scan(body, keep_history=keep, truncate_gradient=truncate_gradient, name=name)
    outs = op(steps, *outer_seqs, *carry_inits, *outer_params)
    outs = outs if isinstance(outs, list) else [outs]

    # ---- user-facing outputs, in outputs_info order ---------------------------------------------
    results = []
    y_iter = iter(outs[nc:])
    state_at = {pos: first for pos, _, _, first, _ in states}
    for pos in range(len(info)):
        if pos in state_at:
            results.append(outs[state_at[pos]])
        else:
            results.append(next(y_iter))
    new_updates = OrderedDict()
    for k, target in enumerate(update_targets):
        hist = outs[nc - len(update_targets) + k]
        new_updates[target] = hist[-1]
    if len(results) == 1 and not return_list:
        return results[0], new_updates
    return results, new_updates


def _fit(new, slot):
    """``new`` with the carried slot's static shape where it is less specific."""
    from ..tensor.shape import specify_shape

    if new.type == slot.type:
        return new
    if slot.type.is_compatible(new.type) and new.type.shape != slot.type.shape:
        merged = [s if s is not None else n for s, n in zip(slot.type.shape, new.type.shape)]
        if tuple(merged) == new.type.shape:
            return new
        return specify_shape(new, slot.type.shape)
    raise ScanError(f"scan: {new} of type {new.type} cannot be carried as {slot.type}" + where(new))


def _parse_result(result):
    outputs, updates, cond = [], OrderedDict(), None
    items = list(result) if isinstance(result, (list, tuple)) else [result]
    for item in items:
        if isinstance(item, until):
            cond = item.condition
        elif isinstance(item, dict):
            updates.update(item)
        elif isinstance(item, (list, tuple)) and item and all(isinstance(p, tuple) and len(p) == 2 for p in item) \
                and all(_is_shared(p[0]) for p in item):
            updates.update(item)
        elif isinstance(item, (list, tuple)):
            for sub in item:
                if isinstance(sub, until):
                    cond = sub.condition
                else:
                    outputs.append(sub)
        else:
            outputs.append(item)
    return outputs, updates, cond


def _is_shared(v):
    from ..compile.shared import SharedVariable

    return isinstance(v, SharedVariable)


def hoist_invariants(body, outer_params):
    """Compute outside the loop what depends only on parameters and constants."""
    from ..graph.traversal import toposort

    params = set(body.param_slots)
    invariant = set(params)
    hoisted = {}
    for node in toposort(body.outputs):
        if node.inputs and all(i in invariant or isinstance(i, Constant) for i in node.inputs) \
                and any(i in params or i in hoisted for i in node.inputs):
            invariant.update(node.outputs)
            for o in node.outputs:
                hoisted[o] = True
    if not hoisted:
        return body, outer_params
    # The frontier: hoisted values used by loop-variant nodes or returned directly.
    frontier = []
    for node in toposort(body.outputs):
        if all(o in hoisted for o in node.outputs):
            continue
        for i in node.inputs:
            if i in hoisted and i not in frontier:
                frontier.append(i)
    for o in body.outputs:
        if o in hoisted and o not in frontier:
            frontier.append(o)
    if not frontier:
        return body, outer_params
    outer_values, _ = rebuild(frontier, dict(zip(body.param_slots, outer_params)))
    new_slots = [v.type.clone()(v.name) for v in frontier]
    new_outputs, _ = rebuild(body.outputs, dict(zip(frontier, new_slots)))
    nc, ny = len(body.carry_outs), len(body.y_outs)
    new_body = ScanBody(body.seq_slots, body.carry_slots, body.param_slots + new_slots,
                        new_outputs[:nc], new_outputs[nc:nc + ny],
                        new_outputs[nc + ny] if body.until is not None else None)
    return new_body, list(outer_params) + outer_values
