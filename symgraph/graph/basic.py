"""The nodes of a graph: Variable, Constant and Apply.

Nodes are immutable once made.  A rewrite builds new nodes and asks the
FunctionGraph to replace old variables with new ones; it never edits a node.
``Op.__call__`` interns applications by ``(op, inputs)``, so building the same
expression twice gives the same variable and common subexpressions merge as
they are made.
"""

import itertools

from .sourceinfo import user_source_info

_ids = itertools.count()


class Variable:
    """A value in the graph: an input (no owner) or the output of an Apply."""

    def __init__(self, type, owner=None, index=None, name=None):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.source = user_source_info()
        self.auto_name = f"{type.__class__.__name__.lower()}_{next(_ids)}"

    def clone(self):
        """A fresh input variable of the same type and name (no owner)."""
        cp = self.__class__(self.type, None, None, self.name)
        cp.source = self.source
        return cp

    def __repr__(self):
        return str(self)

    def __str__(self):
        if self.name is not None:
            return self.name
        if self.owner is not None:
            op = str(self.owner.op)
            if len(self.owner.outputs) == 1:
                return f"{op}.out"
            return f"{op}.{self.index}"
        return f"<{self.type}>"

    def get_parents(self):
        return [self.owner] if self.owner is not None else []

    def eval(self, inputs_to_values=None, mode=None):
        """Compile and run a function for this variable (cached per input set)."""
        from ..compile.function import function

        inputs_to_values = inputs_to_values or {}
        key = tuple(inputs_to_values)
        cache = self.__dict__.setdefault("_eval_cache", {})
        if key not in cache:
            cache[key] = function(list(key), self, mode=mode, on_unused_input="ignore")
        return cache[key](*inputs_to_values.values())

    # Variables are hashed and compared by identity, so they can be dict keys
    # even though their classes overload ==.
    __hash__ = object.__hash__


class Constant(Variable):
    """A variable with a fixed value known when the graph is built."""

    def __init__(self, type, data, name=None):
        super().__init__(type, None, None, name)
        self.data = type.filter(data, name=name)

    def signature(self):
        """A hashable key: two constants with equal signatures are interchangeable."""
        return (self.type, self.type.value_signature(self.data))

    def clone(self):
        cp = self.__class__(self.type, self.data, self.name)
        cp.source = self.source
        return cp

    def __str__(self):
        if self.name is not None:
            return self.name
        return self.type.value_str(self.data)


class Apply:
    """One application of an Op to input variables, producing output variables."""

    def __init__(self, op, inputs, outputs):
        self.op = op
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        for i, out in enumerate(self.outputs):
            if out.owner is not None and (out.owner is not self or out.index != i):
                raise ValueError(f"output {out} of {op} already has an owner")
            out.owner = self
            out.index = i
        self.tag = {}

    @property
    def out(self):
        (out,) = self.outputs
        return out

    @property
    def nin(self):
        return len(self.inputs)

    @property
    def nout(self):
        return len(self.outputs)

    @property
    def source(self):
        return self.outputs[0].source if self.outputs else None

    def clone_with_new_inputs(self, inputs, strict=True):
        """A new node applying the same Op to ``inputs``.

        With ``strict`` the output types must stay equal to the old ones; a
        rewrite that changes an input's type goes through ``make_node``.
        """
        from .op import intern_node

        assert len(inputs) == len(self.inputs)
        if strict and all(i.type == o.type for i, o in zip(inputs, self.inputs)):
            node = Apply(self.op, inputs, [o.type.make_variable() for o in self.outputs])
        else:
            node = self.op.make_node(*inputs)
        for new, old in zip(node.outputs, self.outputs):
            new.name = old.name
            new.source = old.source
        return intern_node(node)

    def __str__(self):
        return f"{self.op}({', '.join(map(str, self.inputs))})"

    __repr__ = __str__


class Type:
    """What a variable's runtime value may be."""

    variable_class = Variable
    constant_class = Constant

    def filter(self, value, name=None, strict=False, allow_downcast=None):
        """Return ``value`` as a valid value of this type, or raise."""
        raise NotImplementedError

    def is_valid_value(self, value):
        try:
            self.filter(value, strict=True)
            return True
        except (TypeError, ValueError):
            return False

    def value_signature(self, value):
        return value

    def value_str(self, value):
        return str(value)

    def __call__(self, name=None):
        return self.make_variable(name)

    def make_variable(self, name=None):
        return self.variable_class(self, None, None, name)

    def make_constant(self, value, name=None):
        return self.constant_class(self, value, name)

    def values_eq(self, a, b):
        return a == b
