"""The IR: interning, immutability, FunctionGraph bookkeeping and source locations."""

import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GraphTypeError, OpArgumentError
from symgraph.graph import FunctionGraph, Op, ancestors, clone_graph, graph_inputs, toposort
from symgraph.tensor.type import TensorType


def test_building_the_same_expression_twice_gives_the_same_variable():
    x = T.vector("x")
    assert T.exp(x) + 1 is T.exp(x) + 1
    assert (x * 2).owner is (x * 2).owner


def test_distinct_ops_or_inputs_give_distinct_nodes():
    x, y = T.vector("x"), T.vector("y")
    assert (x + y) is not (y + x)
    assert T.exp(x) is not T.exp(y)


def test_op_equality_and_hash_come_from_props():
    from symgraph.tensor.elemwise import DimShuffle

    a, b = DimShuffle(2, (1, 0)), DimShuffle(2, (1, 0))
    assert a == b and hash(a) == hash(b)
    assert a != DimShuffle(2, (0, 1))


def test_unhashable_op_parameter_is_refused_with_the_op_and_parameter_named():
    class Scale(Op):
        __props__ = ("factors",)

        def __init__(self, factors):
            self.factors = factors

        def make_node(self, x):
            from symgraph.graph import Apply

            return Apply(self, [x], [x.type()])

    with pytest.raises(OpArgumentError, match=r"Scale: parameter 'factors' must be hashable.*list"):
        Scale([1, 2])(T.vector())
    assert isinstance(OpArgumentError("x"), TypeError)


def test_variables_remember_the_user_line_that_created_them():
    x = T.vector("x")
    y = T.exp(x)  # the line recorded
    assert y.source.filename == __file__
    assert "y = T.exp(x)" in y.source.code


def test_toposort_puts_each_node_after_its_inputs_and_handles_deep_graphs():
    x = T.scalar("x")
    y = x
    for _ in range(3000):  # deeper than Python's recursion limit
        y = T.sin(y)
    order = toposort([y])
    assert len(order) == 3000
    position = {n: k for k, n in enumerate(order)}
    for node in order:
        for i in node.inputs:
            if i.owner is not None:
                assert position[i.owner] < position[node]


def test_ancestors_and_graph_inputs():
    x, y = T.vector("x"), T.vector("y")
    z = T.exp(x) * y
    assert set(graph_inputs([z])) == {x, y}
    assert z in ancestors([z]) and x in ancestors([z])


def test_function_graph_tracks_clients_and_replace_rebuilds_downstream_nodes():
    x, y = T.vector("x"), T.vector("y")
    a = T.exp(x)
    out = a * 2 + a
    fg = FunctionGraph([x, y], [out])
    assert len(fg.clients[a]) == 2
    old_node = out.owner
    fg.replace(a, T.log(y), reason="test")
    new_out = fg.outputs[0]
    assert new_out is not out
    assert out.owner is old_node and out.owner.inputs[1] is a  # the original is untouched
    assert a not in fg.variables and x not in fg.clients
    assert fg.history[-1][1] == "test"


def test_replace_refuses_a_variable_of_another_type():
    x = T.vector("x")
    fg = FunctionGraph([x], [T.exp(x)])
    with pytest.raises(GraphTypeError, match="cannot replace"):
        fg.replace(fg.outputs[0], T.matrix())


def test_features_are_told_about_replacements():
    from symgraph.graph import Feature

    seen = []

    class Recorder(Feature):
        def on_change(self, fgraph, replacements, reason):
            seen.append(reason)

    x = T.vector("x")
    fg = FunctionGraph([x], [T.exp(x) + 1], features=[Recorder()])
    fg.replace(fg.outputs[0], T.exp(x) + 2, reason="swap")
    assert seen == ["swap"]


def test_clone_gives_fresh_inputs_and_equal_structure():
    x = T.vector("x")
    y = T.exp(x) + 1
    (x2,), (y2,) = clone_graph([x], [y])
    assert x2 is not x and x2.type == x.type and x2.name == "x"
    assert y2.owner.op == y.owner.op
    fg = FunctionGraph([x], [y]).clone()
    assert fg.inputs[0] is not x
    f = sg.function(fg.inputs, fg.outputs[0])
    assert f([0.0]) == pytest.approx([2.0])


def test_tensor_type_describes_itself_and_checks_compatibility():
    t = TensorType("float32", (None, 1))
    assert "float32 matrix of shape (?, 1)" == str(t)
    assert t.broadcastable == (False, True)
    assert t.is_compatible(TensorType("float32", (3, 1)))
    assert not t.is_compatible(TensorType("float64", (3, 1)))
    assert not t.is_compatible(TensorType("float32", (3, 2)))
