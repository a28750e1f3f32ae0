"""Numerically unstable formulas compile to stable ones (default FAST_RUN pipeline).

Each check compiles the naive formula a user writes and evaluates it where the
naive formula over- or underflows; the result must be finite and right.
"""

import numpy as np
import scipy.special

import symgraph as sg
import symgraph.tensor as T


def fn(inputs, output):
    return sg.function(inputs, output)


def test_log_one_plus_tiny_x_keeps_x():
    x = T.dscalar("x")
    assert fn([x], T.log(1 + x))(1e-20) == 1e-20


def test_log_sigmoid_of_a_large_negative_is_finite():
    x = T.dscalar("x")
    np.testing.assert_allclose(fn([x], T.log(T.sigmoid(x)))(-800.0), -800.0)


def test_log_one_minus_sigmoid_of_a_large_positive_is_finite():
    x = T.dscalar("x")
    np.testing.assert_allclose(fn([x], T.log(1 - T.sigmoid(x)))(800.0), -800.0)


def test_log_sum_exp_around_a_thousand():
    x = T.dvector("x")
    v = np.array([1000.0, 1001.0, 999.5, 1000.25])
    out = fn([x], T.log(T.sum(T.exp(x))))(v)
    np.testing.assert_allclose(out, scipy.special.logsumexp(v), rtol=1e-15)


def test_sqrt_of_square_is_abs_even_where_the_square_overflows():
    x = T.dvector("x")
    v = np.array([-3.0, 0.0, 2.5, 1e200, -1e300])
    np.testing.assert_array_equal(fn([x], T.sqrt(x ** 2))(v), np.abs(v))


def _softmax_cross_entropy(logits, onehot):
    # softmax written inline, as a user without T.nnet would
    e = T.exp(logits - T.max(logits, axis=1, keepdims=True))
    probs = e / T.sum(e, axis=1, keepdims=True)
    return -T.sum(onehot * T.log(probs)) / logits.shape[0]


def test_softmax_cross_entropy_on_huge_logits_has_finite_loss_and_gradient():
    x, t = T.dmatrix("x"), T.dmatrix("t")
    loss = _softmax_cross_entropy(x, t)
    f = fn([x, t], [loss, sg.grad(loss, x)])
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 3.0], [5.0, -1000.0, 1000.0]])
    onehot = np.eye(3)[[1, 2, 2]]
    value, grad = f(logits, onehot)
    log_probs = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
    np.testing.assert_allclose(value, -np.sum(onehot * log_probs) / 3)
    np.testing.assert_allclose(grad, (scipy.special.softmax(logits, axis=1) - onehot) / 3, atol=1e-15)


def test_softmax_cross_entropy_agrees_with_the_naive_graph_on_moderate_logits():
    x, t = T.dmatrix("x"), T.dmatrix("t")
    loss = _softmax_cross_entropy(x, t)
    outs = [loss, sg.grad(loss, x)]
    stable = fn([x, t], outs)
    naive = sg.function([x, t], outs, mode=sg.Mode("FAST_COMPILE", excluding=("merge", "canonicalize")))
    rng = np.random.default_rng(0)
    logits, onehot = rng.normal(size=(4, 5)), np.eye(5)[rng.integers(0, 5, size=4)]
    for a, b in zip(stable(logits, onehot), naive(logits, onehot)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
