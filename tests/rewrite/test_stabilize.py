"""stabilize: each rule fires on its pattern, declines where it must, and gives the stable value."""

import numpy as np
import pytest

import symgraph.tensor as T

from .helpers import applied, assert_same_values, compile_fn, op_names

rng = np.random.default_rng(7)
MODERATE = np.array([-3.0, -0.5, 0.25, 2.0])  # where the naive formulas are accurate


@pytest.mark.parametrize("rule, build, op", [
    ("log1p_from_log_one_plus", lambda x: T.log(1 + x), "log1p"),
    ("log1p_from_log_one_plus", lambda x: T.log(x + 1), "log1p"),
    ("log1p_from_log_one_minus", lambda x: T.log(1 - x), "log1p"),
    ("expm1_from_exp_minus_one", lambda x: T.exp(x) - 1, "expm1"),
    ("log_sigmoid_to_softplus", lambda x: T.log(T.sigmoid(x)), "softplus"),
    ("log_one_minus_sigmoid", lambda x: T.log(1 - T.sigmoid(x)), "softplus"),
    ("one_minus_sigmoid", lambda x: 1 - T.sigmoid(x), "sigmoid"),
    ("sqrt_of_square", lambda x: T.sqrt(T.sqr(x)), "abs"),
    ("sqrt_of_pow2", lambda x: T.sqrt(x ** 2), "abs"),
    ("log_of_exp", lambda x: T.log(T.exp(x)), None),
])
def test_rule_fires_and_keeps_values_where_the_naive_formula_is_accurate(rule, build, op):
    x = T.dvector("x")
    values = np.array([0.1, 0.25, 0.5, 0.75]) if rule == "log1p_from_log_one_minus" else MODERATE
    f = assert_same_values([x], build(x), [values])
    assert rule in applied(f)
    if op is not None:
        assert op in op_names(f)
    assert "log" not in op_names(f)


@pytest.mark.parametrize("build, value, expected", [
    (lambda x: T.log(1 + x), 1e-20, 1e-20),
    (lambda x: T.log(1 - x), 1e-20, -1e-20),
    (lambda x: T.exp(x) - 1, 1e-20, 1e-20),
    (lambda x: T.log(T.sigmoid(x)), -800.0, -800.0),
    (lambda x: T.log(1 - T.sigmoid(x)), 800.0, -800.0),
    (lambda x: 1 - T.sigmoid(x), 40.0, 4.248354255291589e-18),
    (lambda x: T.sqrt(x ** 2), -1e200, 1e200),
    (lambda x: T.sqrt(T.sqr(x)), 1e200, 1e200),
    (lambda x: T.log(T.exp(x)), 1000.0, 1000.0),
])
def test_stable_value_where_the_naive_formula_fails(build, value, expected):
    x = T.dscalar("x")
    out = compile_fn([x], build(x))(value)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_log1p_declines_for_log_of_two_plus_x():
    x = T.dvector("x")
    f = assert_same_values([x], T.log(2 + x), [MODERATE + 3])
    assert "log1p" not in op_names(f)


def test_expm1_declines_for_exp_minus_two():
    x = T.dvector("x")
    f = assert_same_values([x], T.exp(x) - 2, [MODERATE])
    assert "expm1" not in op_names(f)


def test_one_minus_sigmoid_leaves_a_log_of_it_to_log_one_minus_sigmoid():
    x = T.dvector("x")
    f = compile_fn([x], T.log(1 - T.sigmoid(x)))
    assert "one_minus_sigmoid" not in applied(f)
    assert "log_one_minus_sigmoid" in applied(f)


def test_sqrt_of_other_powers_is_not_abs():
    x = T.dvector("x")
    f = assert_same_values([x], T.sqrt(x ** 4), [MODERATE])
    assert "abs" not in op_names(f)


# ---- logsumexp and log-softmax -----------------------------------------------------------------

def test_logsumexp_of_large_values_is_finite_and_right():
    x = T.dvector("x")
    f = compile_fn([x], T.log(T.sum(T.exp(x))))
    assert "logsumexp" in applied(f)
    v = np.array([1000.0, 1000.5, 999.0])
    np.testing.assert_allclose(f(v), 1000 + np.log(np.exp(v - 1000).sum()), rtol=1e-14)
    np.testing.assert_allclose(f(-v), -999 + np.log(np.exp(-v + 999).sum()), rtol=1e-14)


def test_logsumexp_keeps_values_on_moderate_inputs_along_an_axis():
    x = T.dmatrix("x")
    f = assert_same_values([x], T.log(T.sum(T.exp(x), axis=1)), [rng.normal(size=(3, 4))])
    assert "logsumexp" in applied(f)


def test_logsumexp_declines_for_a_sum_already_shifted_by_its_max():
    x = T.dmatrix("x")
    shifted = x - T.max(x, axis=1, keepdims=True)
    f = assert_same_values([x], T.log(T.sum(T.exp(shifted), axis=1)), [rng.normal(size=(3, 4))])
    assert "logsumexp" not in applied(f)
    assert op_names(f).count("max{axis=(1,)}") == 1


def _log_softmax_inline(x):
    e = T.exp(x - T.max(x, axis=1, keepdims=True))
    return T.log(e / T.sum(e, axis=1, keepdims=True))


def test_log_softmax_from_log_div_fires_and_keeps_values():
    x = T.dmatrix("x")
    f = assert_same_values([x], _log_softmax_inline(x), [rng.normal(size=(3, 4))])
    assert "log_softmax_from_log_div" in applied(f)
    assert "true_div" not in op_names(f)


def test_log_softmax_from_log_div_is_finite_where_a_probability_underflows():
    x = T.dmatrix("x")
    f = compile_fn([x], _log_softmax_inline(x))
    out = f(np.array([[1000.0, -1000.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.0, -2000.0, -1000.0]])


def test_log_softmax_without_the_max_shift_gets_logsumexp():
    x = T.dmatrix("x")
    e = T.exp(x)
    f = compile_fn([x], T.log(e / T.sum(e, axis=1, keepdims=True)))
    assert {"log_softmax_from_log_div", "logsumexp"} <= applied(f)
    np.testing.assert_allclose(f(np.array([[1000.0, 999.0]])), [[-np.log1p(np.exp(-1)),
                                                               -1 - np.log1p(np.exp(-1))]])


def test_log_softmax_from_log_div_declines_without_an_exp_numerator():
    x = T.dmatrix("x")
    f = compile_fn([x], T.log(x / T.sum(x, axis=1, keepdims=True)))
    assert "log_softmax_from_log_div" not in applied(f)


# ---- cancelling a positive factor into a sum ------------------------------------------------------

def test_distribute_mul_into_cancelling_sum_removes_inf_times_zero():
    a, b, y = T.dvector("a"), T.dvector("b"), T.dvector("y")
    e = T.exp(y)
    out = (a / e + b) * e
    f = assert_same_values([a, b, y], out, [MODERATE, MODERATE[::-1], MODERATE])
    assert "distribute_mul_into_cancelling_sum" in applied(f)
    np.testing.assert_allclose(f(np.array([2.0]), np.array([3.0]), np.array([-1000.0])), [2.0])


def test_distribute_mul_declines_for_a_factor_that_may_be_zero():
    a, b, y = T.dvector("a"), T.dvector("b"), T.dvector("y")
    f = assert_same_values([a, b, y], (a / y + b) * y, [MODERATE, MODERATE, MODERATE])
    assert "distribute_mul_into_cancelling_sum" not in applied(f)
