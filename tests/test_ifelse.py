"""ifelse: laziness, several outputs, gradients."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.gradient import verify_grad, verify_rop
from symgraph.ifelse import IfElse, ifelse


def test_only_the_chosen_branch_runs():
    x, y = T.dscalar("x"), T.dvector("y")
    z = ifelse(T.gt(x, 0), y.sum() * x, y[10])  # the else branch would raise on a short y
    f = sg.function([x, y], z)
    assert f(2.0, np.ones(3)) == 6.0
    with pytest.raises(IndexError):
        f(-1.0, np.ones(3))


def test_several_outputs_at_once():
    c = T.bscalar("c")
    a, b = T.dvector("a"), T.dvector("b")
    out = ifelse(c, [a + 1, b * 2], [a - 1, b / 2])
    f = sg.function([c, a, b], out)
    first, second = f(1, np.ones(2), np.ones(2))
    np.testing.assert_allclose(first, [2, 2])
    np.testing.assert_allclose(second, [2, 2])
    first, second = f(0, np.ones(2), np.ones(2))
    np.testing.assert_allclose(first, [0, 0])
    np.testing.assert_allclose(second, [0.5, 0.5])


def test_shared_subexpressions_are_computed_outside_the_branches():
    x = T.dvector("x")
    common = T.exp(x)
    out = ifelse(T.gt(x.sum(), 0), common * 2, common + 1)
    (node,) = [n for n in sg.graph.toposort([out]) if isinstance(n.op, IfElse)]
    assert common in node.inputs


def test_gradients_of_both_branches_match_finite_differences():
    fn = lambda a, b: ifelse(T.gt(a.sum(), 0), (a * b).sum(), (a ** 2).sum())  # noqa: E731
    verify_grad(fn, [np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    verify_grad(fn, [np.array([-1.0, -2.0]), np.array([3.0, 4.0])])
    verify_rop(lambda a, b: ifelse(T.gt(a.sum(), 0), a * b, a ** 2), [np.array([-1.0, -2.0]), np.array([3.0, 4.0])])


def test_output_does_not_alias_an_input():
    x = T.dvector("x")
    f = sg.function([x], ifelse(T.constant(1), x, x * 2))
    a = np.ones(2)
    assert not np.shares_memory(f(a), a)


def test_branches_of_different_rank_are_refused():
    with pytest.raises(sg.SymgraphError, match="then branch"):
        ifelse(T.constant(1), T.dvector(), T.dmatrix())
