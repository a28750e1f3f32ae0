"""OpFromGraph: a user-defined Op whose computation is a symbolic graph.

The graph is closed over its declared inputs (shared variables and other free
variables it reads become hidden inputs).  Its gradient is that of the inner
graph unless ``grad_overrides`` says otherwise, which makes a
straight-through estimator one line::

    round_ste = OpFromGraph([x], [T.round(x)], grad_overrides=lambda inputs, grads: grads)
"""

from .errors import GraphTypeError, SymgraphError, where
from .graph.basic import Apply, Constant, Variable
from .graph.op import Op
from .graph.traversal import clone_graph, graph_inputs, rebuild
from .tensor.variable import as_tensor_variable

__all__ = ["OpFromGraph"]


class OpFromGraph(Op):
    """An Op defined by ``outputs`` as functions of ``inputs``.

    grad_overrides: a callable ``(inputs, output_grads) -> input grads`` (one
        per declared input) or a list with one callable or None (default) per input.
    rop_overrides: a callable ``(inputs, eval_points) -> output tangents``.
    inline: if True, compiled functions replace the node by its graph (the
        overrides still apply to grad/Rop taken before compiling).
    """

    def __init__(self, inputs, outputs, grad_overrides=None, rop_overrides=None, inline=False, name=None):
        if not isinstance(inputs, (list, tuple)) or not isinstance(outputs, (list, tuple)):
            raise SymgraphError("OpFromGraph(inputs, outputs): both must be lists of variables")
        for i in inputs:
            if not isinstance(i, Variable) or i.owner is not None or isinstance(i, Constant):
                raise SymgraphError(f"OpFromGraph: inputs must be symbolic input variables, got {i}")
        outputs = [as_tensor_variable(o) for o in outputs]
        free = [v for v in graph_inputs(outputs) if v not in set(inputs) and not isinstance(v, Constant)]
        self.n_declared = len(inputs)
        self.free_inputs = free
        inner_in, inner_out = clone_graph(list(inputs) + free, outputs)
        self.inner_inputs = inner_in
        self.inner_outputs = inner_out
        self.grad_overrides = grad_overrides
        self.rop_overrides = rop_overrides
        self.inline = inline
        self.name = name
        self._run = None

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_run"] = None
        return state

    def __str__(self):
        return f"OpFromGraph{{{self.name}}}" if self.name else "OpFromGraph"

    def __call__(self, *inputs):
        if len(inputs) != self.n_declared:
            raise GraphTypeError(f"{self} takes {self.n_declared} inputs, got {len(inputs)}")
        return super().__call__(*inputs, *self.free_inputs)

    def make_node(self, *inputs):
        inputs = [as_tensor_variable(i) for i in inputs]
        for i, slot in zip(inputs, self.inner_inputs):
            if not slot.type.is_compatible(i.type) and not (slot.dtype == i.dtype and slot.ndim == i.ndim):
                raise GraphTypeError(f"{self}: input {i} has type {i.type}, expected {slot.type}" + where(i))
        return Apply(self, inputs, [o.type() for o in self.inner_outputs])

    def perform(self, node, inputs, output_storage):
        if self._run is None:
            from .compile.inner import compile_inner

            self._run = compile_inner(self.inner_inputs, self.inner_outputs)
        results = self._run(list(inputs))
        for cell, value in zip(output_storage, results):
            cell[0] = value.copy() if any(value is i for i in inputs) else value

    def expand(self, inputs):
        """The inner graph's outputs rebuilt over ``inputs`` (inlining)."""
        outs, _ = rebuild(self.inner_outputs, dict(zip(self.inner_inputs, inputs)))
        return outs

    def infer_shape(self, fgraph, node, input_shapes):
        from .tensor.shape_inference import symbolic_shapes

        # Shapes of the expanded graph: usually a function of the input shapes
        # only; where an inner Op cannot tell, computing the expansion is correct.
        outs = self.expand(node.inputs)
        shapes = symbolic_shapes(outs)
        return [shapes[o] for o in outs]

    def L_op(self, inputs, outputs, output_grads):
        from .gradient import disconnected_type, grad
        from .tensor.math import zeros_like

        declared = inputs[:self.n_declared]
        overrides = self.grad_overrides
        if callable(overrides) and not isinstance(overrides, list):
            grads = list(overrides(list(declared), list(output_grads)))
            if len(grads) != self.n_declared:
                raise SymgraphError(f"{self}: grad_overrides returned {len(grads)} gradients for "
                                    f"{self.n_declared} inputs")
            return [_as_grad(g, x) for g, x in zip(grads, declared)] + \
                [disconnected_type() for _ in inputs[self.n_declared:]]
        outs = self.expand(inputs)
        known = {o: g for o, g in zip(outs, output_grads) if o.dtype[0] in "fc"}
        wrt = [i for i in inputs if i.dtype[0] == "f"]
        default = grad(None, wrt, known_grads=known, disconnected_inputs="ignore") if known and wrt else []
        it = iter(default)
        result = [next(it) if i.dtype[0] == "f" else zeros_like(i) for i in inputs]
        if isinstance(overrides, list):
            for k, fn in enumerate(overrides):
                if fn is not None:
                    result[k] = _as_grad(fn(list(declared), list(output_grads)), declared[k])
        return result

    def R_op(self, inputs, eval_points):
        from .gradient import Rop
        from .tensor.math import zeros_like

        if self.rop_overrides is not None:
            return list(self.rop_overrides(list(inputs[:self.n_declared]), list(eval_points[:self.n_declared])))
        evs = [zeros_like(i) if e is None else e for i, e in zip(inputs, eval_points)]
        return Rop(self.expand(inputs), list(inputs), evs, disconnected_outputs="zero")


def _as_grad(g, x):
    from .gradient import disconnected_type
    from .tensor.math import cast

    if g is None:
        return disconnected_type()
    g = as_tensor_variable(g)
    return cast(g, x.dtype) if g.dtype != x.dtype and x.dtype[0] == "f" else g
