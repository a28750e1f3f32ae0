"""Shared helpers of the rewrite tests: compile, look at the rewritten graph, compare values."""

import numpy as np
import sympy

import symgraph as sg
from symgraph.graph.basic import Constant
from symgraph.graph.fg import FunctionGraph
from symgraph.rewrite import rewrite_graph

# Fusion would hide the structure these tests look at.
UNFUSED = ("fusion",)
# No pass at all: the graph as built, the reference for values.
AS_BUILT = sg.Mode("FAST_COMPILE", excluding=("merge", "canonicalize"))


def compile_fn(inputs, outputs, excluding=(), optimizer="FAST_RUN"):
    """``sg.function`` with fusion (and ``excluding``) switched off."""
    return sg.function(inputs, outputs, mode=sg.Mode(optimizer, excluding=UNFUSED + tuple(excluding)),
                       on_unused_input="ignore")


def rewritten(inputs, outputs, excluding=(), optimizer="FAST_RUN"):
    """The FunctionGraph of ``outputs`` after the pipeline (no backend involved)."""
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    fgraph = FunctionGraph(list(inputs), list(outputs))
    rewrite_graph(fgraph, sg.Mode(optimizer, excluding=UNFUSED + tuple(excluding)))
    return fgraph


def op_names(f):
    """The str of every Op of a compiled function's (or FunctionGraph's) graph, in order."""
    fgraph = getattr(f, "fgraph", f)
    return [str(n.op) for n in fgraph.toposort()]


def op_types(f):
    fgraph = getattr(f, "fgraph", f)
    return [type(n.op).__name__ for n in fgraph.toposort()]


def applied(f):
    """The names of the rules (and passes) that replaced something."""
    fgraph = getattr(f, "fgraph", f)
    return {reason for _, reason in fgraph.history}


def assert_same_values(inputs, outputs, values, excluding=(), rtol=1e-7, atol=1e-12):
    """FAST_RUN (unfused) and the un-rewritten graph agree on ``values``."""
    fast = compile_fn(inputs, outputs, excluding)
    ref = sg.function(inputs, outputs, mode=AS_BUILT, on_unused_input="ignore")
    got, want = fast(*values), ref(*values)
    if not isinstance(outputs, (list, tuple)):
        got, want = [got], [want]
    for g, w in zip(got, want):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
    return fast


# ---- graphs of scalar elemwise ops as sympy expressions -------------------------------------

def _sigmoid(x):
    return 1 / (1 + sympy.exp(-x))


_SYMPY = {
    "add": lambda *a: sympy.Add(*a), "mul": lambda *a: sympy.Mul(*a),
    "sub": lambda a, b: a - b, "true_div": lambda a, b: a / b, "neg": lambda a: -a,
    "pow": lambda a, b: a ** b, "sqr": lambda a: a ** 2, "sqrt": sympy.sqrt,
    "reciprocal": lambda a: 1 / a, "abs": sympy.Abs, "exp": sympy.exp, "log": sympy.log,
    "log1p": lambda a: sympy.log(1 + a), "expm1": lambda a: sympy.exp(a) - 1,
    "sigmoid": _sigmoid, "softplus": lambda a: sympy.log(1 + sympy.exp(a)),
    "tanh": sympy.tanh, "sin": sympy.sin, "cos": sympy.cos, "cosh": sympy.cosh,
    "identity": lambda a: a, "maximum": sympy.Max, "minimum": sympy.Min,
}
# Ops that do not change a scalar's value.
_TRANSPARENT = ("DimShuffle", "Alloc", "SpecifyShape", "ZeroGrad", "DisconnectedGrad")


def to_sympy(var, symbols, memo=None):
    """The sympy expression a graph of scalar elementwise ops computes.

    ``symbols`` maps each input variable to a sympy symbol; constants become
    exact rationals, so ``2 * x / 2`` simplifies to ``x``.
    """
    memo = {} if memo is None else memo
    if var in memo:
        return memo[var]
    if var in symbols:
        out = symbols[var]
    elif isinstance(var, Constant):
        out = sympy.nsimplify(float(np.asarray(var.data).reshape(-1)[0]), rational=True)
    else:
        node = var.owner
        name = type(node.op).__name__
        args = [to_sympy(i, symbols, memo) for i in node.inputs]
        if name in _TRANSPARENT:
            out = args[0]
        elif name == "Elemwise":
            label = str(node.op.scalar_op)
            if label.startswith("cast"):
                out = args[0]
            else:
                out = _SYMPY[label](*args)
        else:
            raise NotImplementedError(f"no sympy form for {node.op}")
    memo[var] = out
    return out


def symbolically_equal(a, b):
    """Whether two sympy expressions are the same function (for real inputs)."""
    diff = sympy.simplify(a - b)
    if diff == 0:
        return True
    diff = sympy.simplify(sympy.expand_log(sympy.logcombine(diff, force=True), force=True))
    return diff == 0
