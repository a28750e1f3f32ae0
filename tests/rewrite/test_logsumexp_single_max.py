"""logsumexp computes its max once: stabilize does not wrap an expanded logsumexp in a second one (issue 11)."""

import numpy as np
import pytest
import scipy.special

import symgraph as sg
import symgraph.tensor as T

from .helpers import applied

MODES = {"llvm": sg.Mode(backend="llvm"), "numpy": sg.Mode(backend="numpy")}


def _max_reductions(f):
    """Nodes reducing with max, fused or not."""
    count = 0
    for node in f.fgraph.toposort():
        label = getattr(getattr(node.op, "reduce_op", node.op), "label", None)
        count += label == "max"
    return count


@pytest.mark.parametrize("backend", ["llvm", "numpy"])
@pytest.mark.parametrize("axis,keepdims", [(1, False), (0, True), (None, False)])
def test_logsumexp_reduces_the_max_once_and_keeps_scipys_values(backend, axis, keepdims):
    x = T.fmatrix("x")
    f = sg.function([x], T.logsumexp(x, axis=axis, keepdims=keepdims), mode=MODES[backend])
    assert _max_reductions(f) == 1
    assert "logsumexp" not in applied(f)
    v = (np.random.default_rng(5).standard_normal((4, 6)) * 30).astype("float32")
    v[1] = -np.inf  # an all -inf slice: the guard shifts by 0 and the result is -inf
    v[2, 3] = np.inf
    v[3, 0] = 200.0  # exp(200) overflows float32: only the shift keeps it finite
    with np.errstate(all="ignore"):
        want = scipy.special.logsumexp(v.astype("float64"), axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(f(v), want, rtol=1e-5)


def test_a_naive_log_sum_exp_is_still_stabilised_with_one_max():
    x = T.dmatrix("x")
    f = sg.function([x], T.log(T.sum(T.exp(x), axis=1)), mode=MODES["llvm"])
    assert "logsumexp" in applied(f)
    assert _max_reductions(f) == 1
    v = np.array([[1000.0, 999.0], [-2.0, 3.0]])
    np.testing.assert_allclose(f(v), scipy.special.logsumexp(v, axis=1), rtol=1e-14)


def test_log_sum_exp_of_something_else_minus_the_max_is_still_stabilised():
    # x - max(y) does not bound exp(x): the rule must still fire.
    x, y = T.dmatrix("x"), T.dmatrix("y")
    shift = T.max(y, axis=1, keepdims=True)
    guarded = T.switch(T.isinf(shift), T.zeros_like(shift), shift)
    f = sg.function([x, y], T.log(T.sum(T.exp(x - guarded), axis=1)), mode=MODES["numpy"])
    assert "logsumexp" in applied(f)
    xv, yv = np.array([[800.0, 1.0]]), np.array([[0.0, -1.0]])
    np.testing.assert_allclose(f(xv, yv), scipy.special.logsumexp(xv, axis=1), rtol=1e-14)
