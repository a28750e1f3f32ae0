"""The softmax / cross-entropy stabilize rules: they fire, and huge logits stay finite through FAST_RUN."""

import numpy as np
import pytest
import scipy.special

import symgraph as sg
import symgraph.tensor as T
from symgraph.tensor.nnet import CrossentropySoftmax, LogSoftmax

N = T.nnet
HUGE = np.array([[1000.0, -1000.0, 0.0, 3.0], [-1000.0, 1000.0, 2.0, 0.0], [0.5, -0.5, 1000.0, -1000.0]])
LABELS = np.array([1, 0, 3], dtype="int32")


def applied(f):
    return {reason for _, reason in f.fgraph.history}


def op_types(f):
    return {type(n.op) for n in f.fgraph.toposort()}


def reference_loss_and_grad(x, y):
    """Mean cross-entropy of softmax(x) against classes y and its gradient, from log_softmax."""
    lsm = scipy.special.log_softmax(x, axis=-1)
    onehot = np.eye(x.shape[1])[y]
    return -(lsm * onehot).sum(-1).mean(), (np.exp(lsm) - onehot) / len(y)


@pytest.mark.parametrize("dense", [False, True], ids=["class_indices", "one_hot_rows"])
def test_crossentropy_of_softmax_is_fused_and_finite_for_huge_logits(dense):
    x = T.dmatrix("x")
    t = T.dmatrix("t") if dense else T.ivector("y")
    cost = N.categorical_crossentropy(N.softmax(x), t).mean()
    f = sg.function([x, t], [cost, sg.grad(cost, x)])
    targets = np.eye(4)[LABELS] if dense else LABELS
    loss, grad = f(HUGE, targets)
    want_loss, want_grad = reference_loss_and_grad(HUGE, LABELS)
    assert np.isfinite(loss) and np.isfinite(grad).all()
    np.testing.assert_allclose(loss, want_loss)
    np.testing.assert_allclose(grad, want_grad, atol=1e-12)
    forward = "crossentropy_softmax_from_dense" if dense else "crossentropy_softmax_from_1hot"
    backward = ("log_softmax_grad_from_softmax_grad_of_ratio" if dense
                else "crossentropy_softmax_grad_from_1hot_grad")
    assert {forward, backward} <= applied(f)
    assert CrossentropySoftmax in op_types(f)


def test_without_stabilize_the_same_graph_overflows():
    # What the rules are for: the graph as written gives inf for a class softmax rounds to 0.
    x, y = T.dmatrix("x"), T.ivector("y")
    cost = N.categorical_crossentropy(N.softmax(x), y).mean()
    f = sg.function([x, y], cost, mode=sg.Mode("FAST_RUN", excluding=["stabilize"]))
    assert not np.isfinite(f(HUGE, LABELS))


def test_log_of_softmax_becomes_log_softmax_with_a_stable_gradient():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    out = T.log(N.softmax(x))
    cost = (out * w).sum()
    f = sg.function([x, w], [out, sg.grad(cost, x)])
    wv = np.random.default_rng(0).standard_normal(HUGE.shape)
    value, grad = f(HUGE, wv)
    lsm = scipy.special.log_softmax(HUGE, axis=-1)
    np.testing.assert_allclose(value, lsm)
    np.testing.assert_allclose(grad, wv - np.exp(lsm) * wv.sum(-1, keepdims=True), atol=1e-12)
    assert "log_softmax_from_log_of_softmax" in applied(f)
    assert LogSoftmax in op_types(f)


def test_log_softmax_rule_keeps_the_axis():
    x = T.dmatrix("x")
    f = sg.function([x], T.log(N.softmax(x, axis=0)))
    np.testing.assert_allclose(f(HUGE), scipy.special.log_softmax(HUGE, axis=0))
    assert [n.op.axis for n in f.fgraph.toposort() if isinstance(n.op, LogSoftmax)] == [0]


def test_softmax_over_a_leading_axis_is_not_fused_but_stays_correct():
    x, y = T.dmatrix("x"), T.ivector("y")
    p = N.softmax(x, axis=0).T
    f = sg.function([x, y], N.categorical_crossentropy(p, y))
    xv = np.random.default_rng(1).standard_normal((4, 3))
    p_ref = scipy.special.softmax(xv, axis=0).T
    np.testing.assert_allclose(f(xv, LABELS), -np.log(p_ref[np.arange(3), LABELS]))
    assert CrossentropySoftmax not in op_types(f)


def test_dense_rule_declines_broadcast_target_rows():
    x, t = T.dmatrix("x"), T.drow("t")
    cost = N.categorical_crossentropy(N.softmax(x), t)
    f = sg.function([x, t], cost)
    xv = np.random.default_rng(2).standard_normal((3, 4))
    tv = np.array([[0.1, 0.2, 0.3, 0.4]])
    np.testing.assert_allclose(f(xv, tv), -(tv * scipy.special.log_softmax(xv, axis=-1)).sum(-1))
    assert "crossentropy_softmax_from_dense" not in applied(f)
