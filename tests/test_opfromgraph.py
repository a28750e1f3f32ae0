"""OpFromGraph: user-defined composite Ops with default or overridden gradients."""

import pickle

import numpy as np

import symgraph as sg
import symgraph.tensor as T
from symgraph.gradient import verify_grad, verify_rop


def test_values_and_default_gradient_follow_the_inner_graph():
    x, y = T.dvector("x"), T.dvector("y")
    op = sg.OpFromGraph([x, y], [T.exp(x) * y, x - y])
    a, b = T.dvector("a"), T.dvector("b")
    out1, out2 = op(a, b)
    f = sg.function([a, b], [out1, out2])
    av, bv = np.array([0.0, 1.0]), np.array([2.0, 3.0])
    r1, r2 = f(av, bv)
    np.testing.assert_allclose(r1, np.exp(av) * bv)
    np.testing.assert_allclose(r2, av - bv)
    verify_grad(lambda a, b: (op(a, b)[0] * op(a, b)[1]).sum(), [av, bv])
    verify_rop(lambda a, b: op(a, b)[0], [av, bv])


def test_straight_through_rounding_has_identity_gradient():
    x = T.dvector("x")
    round_ste = sg.OpFromGraph([x], [T.round(x)], grad_overrides=lambda inputs, grads: grads)
    y = T.dvector("y")
    out = round_ste(y * 3)
    f = sg.function([y], [out, sg.grad(out.sum(), y)])
    values, grads = f(np.array([0.1, 0.4]))
    np.testing.assert_allclose(values, [0.0, 1.0])
    np.testing.assert_allclose(grads, [3.0, 3.0])


def test_per_input_gradient_override():
    x, s = T.dvector("x"), T.dscalar("s")
    op = sg.OpFromGraph([x, s], [x * s], grad_overrides=[None, lambda inputs, grads: T.constant(0.0)])
    a, b = T.dvector("a"), T.dscalar("b")
    ga, gb = sg.grad(op(a, b).sum(), [a, b])
    f = sg.function([a, b], [ga, gb])
    r_a, r_b = f(np.ones(2), 5.0)
    np.testing.assert_allclose(r_a, [5.0, 5.0])
    assert r_b == 0.0


def test_shared_variables_inside_are_hidden_inputs_and_get_gradients():
    w = sg.shared(np.array([1.0, 2.0]), name="w")
    x = T.dvector("x")
    op = sg.OpFromGraph([x], [x * w])
    y = T.dvector("y")
    g = sg.function([y], sg.grad(op(y).sum(), w))
    np.testing.assert_allclose(g(np.array([3.0, 4.0])), [3.0, 4.0])


def test_inline_replaces_the_node_when_compiling():
    x = T.dvector("x")
    op = sg.OpFromGraph([x], [T.exp(x) + 1], inline=True)
    f = sg.function([x], op(x) * 2)
    assert not any(isinstance(n.op, sg.OpFromGraph) for n in f.fgraph.toposort())
    np.testing.assert_allclose(f(np.zeros(2)), [4.0, 4.0])
    assert "inline_op_from_graph" in [rule for _, rule in f.fgraph.history]


def test_functions_with_op_from_graph_pickle():
    x = T.dvector("x")
    op = sg.OpFromGraph([x], [x * 2])
    f = pickle.loads(pickle.dumps(sg.function([x], op(x))))
    np.testing.assert_allclose(f(np.ones(2)), [2.0, 2.0])
