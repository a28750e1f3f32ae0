"""The equilibrium driver: names, source lines, switches, budget, and work linear in the graph."""


import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.graph.fg import FunctionGraph
from symgraph.rewrite import rewrite_graph
from symgraph.rewrite.canonicalize import canonicalize
from symgraph.rewrite.driver import RewriteBudgetExceeded, RewriteError, apply_rules
from symgraph.rewrite.pattern import Pat
from symgraph.rewrite.rules import RuleTable
from symgraph.scalar import ops as scal

from .helpers import applied, compile_fn, op_names


def test_every_replacement_is_recorded_with_its_rule_and_shown_by_debugprint():
    x = T.dvector("x")
    f = compile_fn([x], T.log(1 + x) * 1)
    assert {"log1p_from_log_one_plus", "mul_by_one"} <= applied(f)
    text = sg.printing.debugprint(f, print_rewrites=True, file="str")
    assert "log1p_from_log_one_plus: log.out -> log1p.out" in text


def test_rewritten_nodes_keep_the_users_source_line():
    x = T.dvector("x")
    y = T.log(1 + x)  # the line the rewritten log1p must point at
    line = y.source.lineno
    f = compile_fn([x], y)
    (out,) = f.fgraph.outputs
    assert op_names(f) == ["log1p"]
    assert out.source.lineno == line and out.source.filename == __file__


@pytest.mark.parametrize("switch", ["log1p_from_log_one_plus", "stabilize"])
def test_a_rule_or_its_table_can_be_switched_off_by_name_or_tag(switch):
    x = T.dvector("x")
    f = compile_fn([x], T.log(1 + x), excluding=[switch])
    assert "log1p" not in op_names(f)


def test_a_failing_rule_is_named_in_the_error():
    table = RuleTable("broken")

    @table.register(Pat(scal.exp), name="always_fails")
    def always_fails(node):
        raise KeyError("oops")

    x = T.dvector("x")
    fgraph = FunctionGraph([x], [T.exp(x)])
    with pytest.raises(RewriteError, match="always_fails"):
        apply_rules(fgraph, table)


def test_the_budget_stops_a_runaway_table_with_a_warning():
    table = RuleTable("runaway")

    @table.register(Pat(scal.neg), name="grow")
    def grow(node):
        return -(node.inputs[0] + 0)  # a new neg every time: never a fixed point

    x = T.dvector("x")
    fgraph = FunctionGraph([x], [-x])
    with pytest.warns(RewriteBudgetExceeded):
        apply_rules(fgraph, table, budget=10)
    f = sg.function([x], fgraph.outputs[0], mode="FAST_COMPILE")
    np.testing.assert_allclose(f(np.array([1.0])), [-1.0])


def test_a_fixed_point_graph_is_left_alone():
    x = T.dvector("x")
    fgraph = FunctionGraph([x], [T.exp(x) + x])
    before = fgraph.outputs[0]
    assert apply_rules(fgraph, canonicalize) == 0
    assert fgraph.outputs[0] is before


# ---- work grows linearly with the graph -----------------------------------------------------------

def mlp_training_graph(layers, width=4):
    """The loss and SGD updates of a tanh MLP (gradients included), as a FunctionGraph."""
    x, y = T.dmatrix("x"), T.dmatrix("y")
    params, h = [], x
    for i in range(layers):
        w = sg.shared(np.zeros((width, width)), name=f"W{i}")
        b = sg.shared(np.zeros(width), name=f"b{i}")
        params += [w, b]
        h = T.dot(h, w) + b
        if i < layers - 1:
            h = T.tanh(h)
    loss = T.mean((h - y) ** 2)
    grads = sg.grad(loss, params)
    return FunctionGraph([x, y] + params, [loss] + [p - 0.1 * g for p, g in zip(params, grads)])


def rewrite_work(layers):
    fgraph = mlp_training_graph(layers)
    nodes = len(fgraph.toposort())
    rewrite_graph(fgraph, sg.Mode("FAST_RUN"))
    stats = fgraph.rewrite_stats
    return nodes, sum(s["tried"] for s in stats.values()), sum(s["settled"] for s in stats.values()), \
        sum(s["applied"] for s in stats.values())


def test_rewriting_work_grows_linearly_from_8_to_32_layers():
    n8, tried8, settled8, applied8 = rewrite_work(8)
    n32, tried32, settled32, applied32 = rewrite_work(32)
    assert 3.5 < n32 / n8 < 4.5
    # Per node of the input graph, rule attempts, nodes settled and rewrites made stay
    # the same (within 10%) when the graph grows fourfold: no pass revisits the graph.
    for small, big in ((tried8, tried32), (settled8, settled32), (applied8, applied32)):
        assert big / n32 <= 1.1 * small / n8
