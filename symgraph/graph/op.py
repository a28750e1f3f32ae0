"""Op: a pure description of a computation.

An Op carries no backend code.  Its ``__props__`` define equality and hash, so
two Ops with the same parameters are interchangeable and nodes applying them
can be merged.  ``perform`` is the NumPy reference implementation and *is* the
semantics every backend must reproduce.
"""

import weakref

from ..errors import OpArgumentError

# (op, inputs) -> Apply; nodes die with their last reference.
_interned = weakref.WeakValueDictionary()


class Op:
    """Base class of every operation.

    Subclasses set ``__props__`` (names of attributes that parameterise the
    Op) and implement ``make_node`` and ``perform``; ``infer_shape``,
    ``L_op`` and ``R_op`` make them first-class citizens of rewriting and
    differentiation.
    """

    __props__ = ()
    # {output index: [input indices]} for outputs that may be views of inputs.
    view_map = {}
    # {output index: [input indices]} for inputs overwritten by perform.
    destroy_map = {}

    def _props(self):
        return tuple(getattr(self, p) for p in self.__props__)

    def _props_dict(self):
        return {p: getattr(self, p) for p in self.__props__}

    def __eq__(self, other):
        return type(self) is type(other) and self._props() == other._props()

    def __hash__(self):
        return hash((type(self), self._props()))

    def __str__(self):
        name = type(self).__name__
        if not self.__props__:
            return name
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
        return f"{name}{{{args}}}"

    __repr__ = __str__

    def check_props(self):
        """Refuse unhashable parameters up front, naming the Op and the parameter."""
        for p in self.__props__:
            value = getattr(self, p)
            try:
                hash(value)
            except TypeError:
                raise OpArgumentError(
                    f"{type(self).__name__}: parameter {p!r} must be hashable "
                    f"(a tuple rather than a list, say); got {type(value).__name__} {value!r}"
                ) from None

    def __call__(self, *inputs, **kwargs):
        node = intern_node(self.make_node(*inputs, **kwargs))
        if len(node.outputs) == 1:
            return node.outputs[0]
        return list(node.outputs)

    def make_node(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__}.make_node")

    def perform(self, node, inputs, output_storage):
        """Compute outputs with NumPy: ``output_storage[i][0] = value``."""
        raise NotImplementedError(f"{type(self).__name__}.perform")

    def infer_shape(self, fgraph, node, input_shapes):
        """Symbolic output shapes (tuples of int64 scalars) from input shapes."""
        raise ShapeNotImplemented(self)

    def L_op(self, inputs, outputs, output_grads):
        """Reverse mode: gradients of a cost w.r.t. ``inputs``."""
        from ..gradient import grad_not_implemented

        return [grad_not_implemented(self, i, x) for i, x in enumerate(inputs)]

    def R_op(self, inputs, eval_points):
        """Forward mode: directional derivatives of the outputs."""
        from ..errors import GradientError

        raise GradientError(f"{self} has no R_op (forward-mode derivative)")

    def connection_pattern(self, node):
        """``[[input i affects output j]]``; all True unless an Op says otherwise."""
        return [[True] * len(node.outputs) for _ in node.inputs]

    def do_constant_folding(self, node):
        return True


def intern_node(node):
    """The graph's existing node applying the same Op to the same inputs, or ``node``."""
    key = (node.op, tuple(node.inputs))
    try:
        existing = _interned.get(key)
    except TypeError:
        node.op.check_props()
        return node
    if existing is not None and [o.type for o in existing.outputs] == [o.type for o in node.outputs]:
        return existing
    _interned[key] = node
    return node


class ShapeNotImplemented(Exception):
    """Raised by an Op whose output shape can only be known by running it."""
