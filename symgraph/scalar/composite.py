"""Composite: a closed graph of scalar ops used as one ScalarOp (a fused elementwise kernel).

The fusion pass builds one Composite per group of Elemwise nodes, so a chain
such as ``exp(-x*x) * sin(x) + tanh(x) * 0.5`` becomes one
``Elemwise(Composite)`` node.  Backends read the inner graph (``inputs``,
``nodes``, ``outputs``) to emit one loop; the numpy backend runs ``impl``,
which evaluates the inner graph with each ScalarOp's NumPy ``impl`` on whole
arrays.

Equality and hash come from ``description``, a canonical, hashable rendering
of the inner graph (ops, wiring by position, constants by value), so two
identical fusions merge and ``cache_key`` can name generated code on disk.
"""

import hashlib

import numpy as np

from ..errors import GraphTypeError
from ..graph.basic import Apply, Constant, Variable
from ..graph.traversal import ancestors, rebuild, toposort
from .ops import ScalarOp
from .type import ScalarType


class Composite(ScalarOp):
    """``Composite(inputs, outputs)``: the scalar graph from ``inputs`` to ``outputs`` as one op.

    ``inputs`` are owner-less ScalarType variables; every other leaf must be
    a Constant; ``outputs`` may be several (``nout``).  The graph is copied,
    so the caller's variables stay free.
    """

    __props__ = ("description",)

    def __init__(self, inputs, outputs):
        self.description = _describe(list(inputs), list(outputs))
        self._build(self.description)

    @classmethod
    def from_description(cls, description):
        """The Composite whose ``description`` is given (how composites unpickle)."""
        op = cls.__new__(cls)
        op.description = description
        op._build(description)
        return op

    def __reduce__(self):
        return (Composite.from_description, (self.description,))

    def _build(self, description):
        in_dtypes, steps, out_refs = description
        self.inputs = [ScalarType(d)(f"i{k}") for k, d in enumerate(in_dtypes)]
        self.nodes = []
        for op, refs, dtypes in steps:
            args = [self._resolve(r) for r in refs]
            self.nodes.append(Apply(op, args, [ScalarType(d)() for d in dtypes]))
        self.outputs = [self._resolve(r) for r in out_refs]
        self.nin = len(self.inputs)
        self.nout = len(self.outputs)
        self.output_dtypes = tuple(o.type.dtype for o in self.outputs)
        self._hash = hash((Composite, description))

    def _resolve(self, ref):
        if ref[0] == "i":
            return self.inputs[ref[1]]
        if ref[0] == "n":
            return self.nodes[ref[1]].outputs[ref[2]]
        _, dtype, data = ref
        return Constant(ScalarType(dtype), np.frombuffer(data, dtype=dtype).reshape(()))

    def __eq__(self, other):
        return self is other or (type(other) is type(self) and self._hash == other._hash
                                 and self.description == other.description)

    def __hash__(self):
        return self._hash

    @property
    def cache_key(self):
        """A stable hex digest of the inner graph, for on-disk caches of generated code."""
        key = self.__dict__.get("_cache_key")  # computed once: backends key every compile with it
        if key is None:
            key = self._cache_key = self._compute_cache_key()
        return key

    def _compute_cache_key(self):
        in_dtypes, steps, out_refs = self.description
        # Ops by class and parameters (str may be abbreviated); a nested Composite by its own key.
        ops = [op.cache_key if isinstance(op, Composite) else f"{type(op).__qualname__}{op._props()!r}"
               for op, _, _ in steps]
        text = repr((in_dtypes, [(o, s[1], s[2]) for o, s in zip(ops, steps)], out_refs))
        return hashlib.sha256(text.encode()).hexdigest()

    # ---- typing ---------------------------------------------------------------------------

    def output_dtype(self, *dtypes):
        """The output dtype (a tuple of them when ``nout > 1``); inputs must match the inner types."""
        want = tuple(i.type.dtype for i in self.inputs)
        if tuple(dtypes) != want:
            raise GraphTypeError(f"{self}: expects inputs of dtypes {want}, got {tuple(dtypes)}")
        return self.output_dtypes[0] if self.nout == 1 else self.output_dtypes

    def make_node(self, *inputs):
        self.output_dtype(*[i.type.dtype for i in inputs])
        return Apply(self, inputs, [ScalarType(d)() for d in self.output_dtypes])

    # ---- evaluation -----------------------------------------------------------------------

    def impl(self, *arrays):
        """Evaluate the inner graph on whole arrays; one value, or a tuple when ``nout > 1``."""
        values = dict(zip(self.inputs, arrays))
        for node in self.nodes:
            args = [values[i] if not isinstance(i, Constant) else i.data for i in node.inputs]
            result = node.op.impl(*args)
            if len(node.outputs) == 1:
                result = (result,)
            for var, value in zip(node.outputs, result):
                # Each step keeps the dtype the unfused Elemwise would have given it.
                value = np.asarray(value)
                if value.dtype != var.type.dtype:
                    value = value.astype(var.type.dtype)
                values[var] = value
        outs = []
        for var in self.outputs:
            value = values[var]
            # An output that is an input must not alias the caller's array.
            outs.append(np.array(value, copy=True) if var in self.inputs else value)
        return outs[0] if self.nout == 1 else tuple(outs)

    def perform(self, node, inputs, output_storage):
        outs = self.impl(*inputs)
        outs = (outs,) if self.nout == 1 else outs
        for cell, value, var in zip(output_storage, outs, node.outputs):
            cell[0] = np.asarray(value, dtype=var.type.dtype)

    # ---- differentiation ------------------------------------------------------------------

    def expand(self, *tensor_inputs):
        """The unfused tensor graph: one Elemwise per inner node, applied to ``tensor_inputs``."""
        from ..tensor.elemwise import Elemwise, elemwise_op
        from ..tensor.variable import constant

        env = dict(zip(self.inputs, tensor_inputs))
        for node in self.nodes:
            args = [constant(i.data, dtype=i.type.dtype) if isinstance(i, Constant) else env[i]
                    for i in node.inputs]
            # elemwise_op caches one Elemwise per scalar op forever: right for the
            # primitives, a leak for composites.
            op = Elemwise(node.op) if isinstance(node.op, Composite) else elemwise_op(node.op)
            outs = op(*args)
            env.update(zip(node.outputs, outs if isinstance(outs, list) else [outs]))
        return [env[o] for o in self.outputs]

    def expanded_L_op(self, inputs, outputs, output_grads):
        """``Elemwise(self).L_op``: differentiate the unfused graph (see :func:`grad_by_expansion`)."""
        return grad_by_expansion(self.expand, inputs, outputs, output_grads)

    def expanded_R_op(self, inputs, eval_points):
        """``Elemwise(self).R_op``, through the unfused graph."""
        return rop_by_expansion(self.expand, inputs, eval_points)

    def grad(self, inputs, outputs, gz):
        """ScalarOp's interface: ``gz`` is one gradient, or a list when ``nout > 1``."""
        return self.expanded_L_op(inputs, outputs, gz if isinstance(gz, (list, tuple)) else [gz])

    # ---- display --------------------------------------------------------------------------

    def __str__(self):
        text = _render(self)
        return f"Composite{{{text if len(text) <= _MAX_STR else text[:_MAX_STR - 3] + '...'}}}"

    __repr__ = __str__


def grad_by_expansion(expand, inputs, outputs, output_grads):
    """Gradients w.r.t. ``inputs`` of a fused op, from its unfused form ``expand(*inputs)``.

    The unfused graph is built on placeholders, so an input given twice gets
    one gradient per position; the backward graph then refers to the fused
    node's ``outputs`` rather than recomputing them.
    """
    from ..gradient import DisconnectedType, disconnected_type, grad

    holders = [i.type() for i in inputs]
    expanded = expand(*holders)
    known = {}
    for e, g in zip(expanded, output_grads):
        if g is None or isinstance(g.type, DisconnectedType):
            continue
        known[e] = known[e] + g if e in known else g
    if not known:
        return [disconnected_type() for _ in inputs]
    grads = grad(None, holders, known_grads=known, disconnected_inputs="ignore",
                 return_disconnected="disconnected", null_gradients="return")
    return _substitute(grads, holders, inputs, expanded, outputs)


def rop_by_expansion(expand, inputs, eval_points):
    """Tangents of a fused op's outputs (forward mode) from its unfused form; None where unconnected."""
    from ..gradient import Rop

    holders = [i.type() for i in inputs]
    expanded = expand(*holders)
    moving = [(h, ev) for h, ev in zip(holders, eval_points) if ev is not None]
    if not moving:
        return [None] * len(expanded)
    wrt = {h for h, _ in moving}
    connected = [e for e in expanded if wrt & set(ancestors([e]))]
    if not connected:
        return [None] * len(expanded)
    tangents = Rop(connected, [h for h, _ in moving], [ev for _, ev in moving])
    tangents = _substitute(tangents, holders, inputs, [], [])
    by_output = dict(zip(connected, tangents))
    return [by_output.get(e) for e in expanded]


def _substitute(results, holders, inputs, expanded, outputs):
    swap = dict(zip(holders, inputs))
    swap.update((e, o) for e, o in zip(expanded, outputs) if e.type == o.type and e not in swap)
    real = [r for r in results if r is not None]
    rebuilt, _ = rebuild(real, swap)
    it = iter(rebuilt)
    return [None if r is None else next(it) for r in results]


# ---- the canonical description ------------------------------------------------------------

def _describe(inputs, outputs):
    """``(input dtypes, steps, output refs)``; a step is ``(op, arg refs, output dtypes)``.

    A ref is ``('i', k)`` for input k, ``('n', j, m)`` for output m of step j,
    or ``('c', dtype, bytes)`` for a constant, so equal graphs give equal
    tuples whatever their variables are.
    """
    for k, v in enumerate(inputs):
        if not isinstance(v, Variable) or not isinstance(v.type, ScalarType) or v.owner is not None:
            raise GraphTypeError(f"Composite: input {k} must be an owner-less ScalarType variable, got {v!r}")
    if len(set(inputs)) != len(inputs):
        raise GraphTypeError("Composite: an input variable is given twice")
    if not outputs:
        raise GraphTypeError("Composite: needs at least one output")
    ref = {v: ("i", k) for k, v in enumerate(inputs)}
    steps = []
    for j, node in enumerate(toposort(outputs, blockers=inputs)):
        if not isinstance(node.op, ScalarOp):
            raise GraphTypeError(f"Composite: the inner graph may hold only ScalarOps, got {node.op}")
        args = []
        for v in node.inputs:
            if v not in ref:
                if not isinstance(v, Constant):
                    raise GraphTypeError(f"Composite: the inner graph uses {v}, which is neither an "
                                         f"input nor a constant (the graph must be closed)")
                ref[v] = _constant_ref(v)
            args.append(ref[v])
        for m, out in enumerate(node.outputs):
            ref[out] = ("n", j, m)
        steps.append((node.op, tuple(args), tuple(o.type.dtype for o in node.outputs)))
    out_refs = []
    for v in outputs:
        if isinstance(v, Constant) or v not in ref:
            raise GraphTypeError(f"Composite: output {v} must be computed from the inputs")
        out_refs.append(ref[v])
    return tuple(v.type.dtype for v in inputs), tuple(steps), tuple(out_refs)


def _constant_ref(c):
    data = np.asarray(c.data, dtype=c.type.dtype)
    if data.size != 1:
        raise GraphTypeError(f"Composite: constant {c} must hold one value, got shape {data.shape}")
    return ("c", data.dtype.name, data.reshape(()).tobytes())


# ---- rendering ----------------------------------------------------------------------------

_MAX_STR = 400
# Python's operator precedence, so the rendering reads as an expression.
_INFIX = {
    "pow": ("**", 8), "mul": ("*", 6), "true_div": ("/", 6), "int_div": ("//", 6), "mod": ("%", 6),
    "add": ("+", 5), "sub": ("-", 5), "and": ("&", 4), "xor": ("^", 3), "or": ("|", 2),
    "lt": ("<", 1), "gt": (">", 1), "le": ("<=", 1), "ge": (">=", 1), "eq": ("==", 1), "neq": ("!=", 1),
}
_ATOM, _UNARY = 9, 7


def _render(comp):
    """``expr`` per output, with ``tN = ...;`` for values used more than once."""
    uses = {}
    for node in comp.nodes:
        for v in node.inputs:
            uses[v] = uses.get(v, 0) + 1
    for v in comp.outputs:
        uses[v] = uses.get(v, 0) + 1
    text = {v: (v.name, _ATOM) for v in comp.inputs}
    lets = []
    for node in comp.nodes:
        args = [text[v] if v in text else _constant_text(v.data) for v in node.inputs]
        expr = _format(node.op, args)
        single = len(node.outputs) == 1
        # A value used twice is named once, so the text grows with the graph, not with its paths.
        if not single or uses.get(node.outputs[0], 0) > 1:
            name = f"t{len(lets)}"
            lets.append(f"{name} = {expr[0]}")
            expr = (name, _ATOM)
        for m, out in enumerate(node.outputs):
            text[out] = expr if single else (f"{expr[0]}[{m}]", _ATOM)
    body = ", ".join(text[v][0] for v in comp.outputs)
    return "; ".join(lets + [body])


def _constant_text(data):
    text = str(np.asarray(data))
    return text, (_UNARY if text.startswith("-") else _ATOM)


def _format(op, args):
    name = getattr(op, "name", None)
    if name == "neg":
        (a,) = args
        return f"-{_wrap(a, _UNARY)}", _UNARY
    if name in _INFIX and len(args) >= 2:
        sym, prec = _INFIX[name]
        # Left-associative: a right operand of equal precedence needs parentheses
        # (a - (b - c)); ** is right-associative, the other way round.
        parts = [_wrap(a, prec + (k > 0 if name != "pow" else k == 0)) for k, a in enumerate(args)]
        return f" {sym} ".join(parts), prec
    return f"{op}({', '.join(a[0] for a in args)})", _ATOM


def _wrap(arg, need):
    text, prec = arg
    return text if prec >= need else f"({text})"
