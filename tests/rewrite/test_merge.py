"""merge: equal constants made separately become one, and so do the nodes that then coincide."""

import numpy as np

import symgraph.tensor as T
from symgraph.graph.fg import FunctionGraph
from symgraph.rewrite.merge import merge_pass

from .helpers import applied, assert_same_values, compile_fn, op_names

# Tiny constants are shared when made; these are big enough to be made twice.
N = 20


def big(value, dtype="float64"):
    return T.constant(np.full(N, value, dtype=dtype))


def test_equal_constants_merge_and_so_do_their_nodes():
    x = T.dvector("x")
    a = x + big(2.0)
    b = x + big(2.0)
    assert a is not b  # two constants: interning alone cannot tell
    f = assert_same_values([x], [a, b], [np.arange(float(N))])
    assert "merge" in applied(f)
    assert op_names(f) == ["add"]
    assert f.fgraph.outputs[0] is f.fgraph.outputs[1]


def test_constants_of_other_dtype_or_value_stay_apart():
    x = T.dvector("x")
    outs = [x + big(2.0), x + big(3.0), x + big(2.0, "float32")]
    f = assert_same_values([x], outs, [np.ones(N)])
    assert len(f.fgraph.toposort()) == 3


def test_merge_pass_counts_what_it_merged_and_records_it():
    x = T.dvector("x")
    c1, c2 = big(1.5), big(1.5)
    y = T.exp(x * c1) + T.exp(x * c2)
    fgraph = FunctionGraph([x], [y])
    n = merge_pass(fgraph)
    assert n >= 2  # the mul and the exp above it
    assert [str(node.op) for node in fgraph.toposort()] == ["mul", "exp", "add"]
    assert all(reason == "merge" for _, reason in fgraph.history)


def test_merge_of_constant_outputs():
    f = compile_fn([], [big(4.0), big(4.0)])
    a, b = f()
    np.testing.assert_array_equal(a, b)
    a[0] = 0  # the outputs are separate arrays even though the graph shares one constant
    assert b[0] == 4.0
