"""ifelse: a lazy conditional; only the chosen branch is computed.

Each branch is closed into its own inner graph: the nodes only that branch
needs move inside, and what the branches share with each other or with the
condition stays outside and becomes an input.  The Op then runs one branch.
"""

from .errors import GraphTypeError, where
from .graph.basic import Apply, Constant
from .graph.op import Op, ShapeNotImplemented
from .graph.traversal import ancestors, clone_graph, graph_inputs, rebuild
from .tensor.variable import as_tensor_variable

__all__ = ["IfElse", "ifelse"]


class IfElse(Op):
    """``[cond, *then_inputs, *else_inputs] -> outputs`` running one closed branch."""

    __props__ = ("then_body", "else_body", "n_then", "name")

    def __init__(self, then_inputs, then_outputs, else_inputs, else_outputs, name=None):
        self.then_body = (tuple(then_inputs), tuple(then_outputs))
        self.else_body = (tuple(else_inputs), tuple(else_outputs))
        self.n_then = len(then_inputs)
        self.name = name
        self._runs = {}

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_runs"] = {}
        return state

    def __str__(self):
        return f"IfElse{{{self.name}}}" if self.name else "IfElse"

    def make_node(self, cond, *inputs):
        from .tensor.type import TensorType

        cond = as_tensor_variable(cond)
        if cond.ndim != 0:
            raise GraphTypeError(f"ifelse: the condition must be a scalar, got {cond.type}" + where(cond))
        outs = []
        for a, b in zip(self.then_body[1], self.else_body[1]):
            shape = tuple(x if x == y else None for x, y in zip(a.type.shape, b.type.shape))
            outs.append(TensorType(a.dtype, shape)())
        return Apply(self, [cond] + list(inputs), outs)

    def _run(self, which):
        if which not in self._runs:
            from .compile.inner import compile_inner

            inputs, outputs = self.then_body if which else self.else_body
            self._runs[which] = compile_inner(inputs, outputs)
        return self._runs[which]

    def perform(self, node, inputs, output_storage):
        cond, rest = inputs[0], inputs[1:]
        if bool(cond):
            results = self._run(True)(list(rest[:self.n_then]))
        else:
            results = self._run(False)(list(rest[self.n_then:]))
        for cell, value in zip(output_storage, results):
            # A branch may return one of its inputs: the caller must own the result.
            cell[0] = value.copy() if any(value is r for r in rest) else value

    def outer_outputs(self, inputs):
        """Each branch's outputs rebuilt over the outer inputs (for grad, R_op, shapes)."""
        rest = inputs[1:]
        t_in, t_out = self.then_body
        e_in, e_out = self.else_body
        then_outs, _ = rebuild(list(t_out), dict(zip(t_in, rest[:self.n_then])))
        else_outs, _ = rebuild(list(e_out), dict(zip(e_in, rest[self.n_then:])))
        return then_outs, else_outs

    def infer_shape(self, fgraph, node, input_shapes):
        from .tensor.math import switch
        from .tensor.shape_inference import symbolic_shapes

        then_outs, else_outs = self.outer_outputs(node.inputs)
        shapes = symbolic_shapes(then_outs + else_outs)
        branch_vars = set(ancestors(then_outs + else_outs)) - set(node.inputs)
        out = []
        for a, b in zip(then_outs, else_outs):
            dims = (shapes[a], shapes[b])
            # A shape that needs a branch computed would defeat laziness.
            if any(v in branch_vars for d in dims[0] + dims[1] for v in ancestors([d])):
                raise ShapeNotImplemented(self)
            out.append(tuple(switch(node.inputs[0], da, db) for da, db in zip(*dims)))
        return out

    def L_op(self, inputs, outputs, output_grads):
        from .gradient import disconnected_type, grad
        from .tensor.math import zeros_like

        cond, rest = inputs[0], inputs[1:]
        then_outs, else_outs = self.outer_outputs(inputs)
        t_inputs, e_inputs = rest[:self.n_then], rest[self.n_then:]

        def branch_grads(outs, wrt):
            known = {o: g for o, g in zip(outs, output_grads) if _is_float(o)}
            floats = [w for w in wrt if _is_float(w)]
            gs = grad(None, floats, known_grads=known, disconnected_inputs="ignore") if known and floats else []
            it = iter(gs)
            return [next(it) if _is_float(w) else zeros_like(w) for w in wrt]

        then_g = branch_grads(then_outs, t_inputs)
        else_g = branch_grads(else_outs, e_inputs)
        zeros_t = [zeros_like(w) for w in t_inputs]
        zeros_e = [zeros_like(w) for w in e_inputs]
        if not rest:
            return [disconnected_type()]
        grads = ifelse(cond, then_g + zeros_e, zeros_t + else_g, name="grad")
        grads = grads if isinstance(grads, list) else [grads]
        return [disconnected_type()] + grads

    def R_op(self, inputs, eval_points):
        from .gradient import Rop
        from .tensor.math import zeros_like

        cond, rest = inputs[0], inputs[1:]
        evs = [zeros_like(r) if e is None else e for r, e in zip(rest, eval_points[1:])]
        then_outs, else_outs = self.outer_outputs(inputs)
        t_in, e_in = rest[:self.n_then], rest[self.n_then:]
        t_tan = Rop(then_outs, t_in, evs[:self.n_then], disconnected_outputs="zero") if t_in else \
            [zeros_like(o) for o in then_outs]
        e_tan = Rop(else_outs, e_in, evs[self.n_then:], disconnected_outputs="zero") if e_in else \
            [zeros_like(o) for o in else_outs]
        out = ifelse(cond, t_tan, e_tan, name="rop")
        return out if isinstance(out, list) else [out]

    def connection_pattern(self, node):
        return [[False] * len(node.outputs)] + [[True] * len(node.outputs) for _ in node.inputs[1:]]


def _is_float(v):
    from .tensor.type import DISCRETE_DTYPES

    return v.dtype not in DISCRETE_DTYPES


def ifelse(condition, then_branch, else_branch, name=None):
    """``then_branch`` if the scalar ``condition`` is true, else ``else_branch``; lazily.

    Either branch may be one variable or a list of them (the same length and
    types on both sides).  Only the chosen branch is computed at run time.
    """
    single = not isinstance(then_branch, (list, tuple))
    thens = [as_tensor_variable(v) for v in ([then_branch] if single else then_branch)]
    elses = [as_tensor_variable(v) for v in ([else_branch] if single else else_branch)]
    if len(thens) != len(elses):
        raise GraphTypeError(f"ifelse: {len(thens)} 'then' outputs but {len(elses)} 'else' outputs")
    from .tensor.math import cast

    for k, (a, b) in enumerate(zip(thens, elses)):
        if a.ndim != b.ndim:
            raise GraphTypeError(f"ifelse: output {k} has type {a.type} in the then branch but {b.type} in "
                                 f"the else branch" + where(a))
        if a.dtype != b.dtype:
            from .tensor.type import upcast

            dtype = upcast(a.dtype, b.dtype)
            thens[k], elses[k] = cast(a, dtype), cast(b, dtype)
    cond = as_tensor_variable(condition)
    shared = set(ancestors([cond])) | (set(ancestors(thens)) & set(ancestors(elses)))
    t_in, t_out = _close(thens, shared)
    e_in, e_out = _close(elses, shared)
    op = IfElse(t_in[1], t_out, e_in[1], e_out, name=name)
    out = op(cond, *t_in[0], *e_in[0])
    return out if not single else out


def _close(outputs, shared):
    """Inputs (outer variables, fresh slots) and outputs of a branch cut at ``shared``."""
    cut = [v for v in graph_inputs(outputs, blockers=shared) if not isinstance(v, Constant)]
    outer = [v for v in cut]
    new_in, new_out = clone_graph(outer, outputs)
    return (outer, new_in), new_out
