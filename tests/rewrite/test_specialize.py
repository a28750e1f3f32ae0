"""specialize: powers by small constants become products, square roots and reciprocals."""

import numpy as np
import pytest

import symgraph.tensor as T

from .helpers import applied, assert_same_values, compile_fn, op_names

POSITIVE = np.array([0.5, 1.5, 3.0])


@pytest.mark.parametrize("exponent, ops", [
    (2, ["sqr"]),
    (0.5, ["sqrt"]),
    (-1, ["reciprocal"]),
    (-0.5, ["sqrt", "reciprocal"]),
    (3, ["mul"]),
    (4, ["mul"]),
    (-2, ["mul", "reciprocal"]),
    (-3, ["mul", "reciprocal"]),
])
def test_pow_to_mul_for_small_exponents(exponent, ops):
    x = T.dvector("x")
    f = assert_same_values([x], x ** exponent, [POSITIVE], rtol=1e-14)
    assert "pow_to_mul" in applied(f)
    assert sorted(op_names(f)) == sorted(ops)


@pytest.mark.parametrize("exponent", [2.5, 5, -7])
def test_pow_to_mul_declines_other_exponents(exponent):
    x = T.dvector("x")
    f = assert_same_values([x], x ** exponent, [POSITIVE])
    assert "pow_to_mul" not in applied(f)
    assert op_names(f) == ["pow"]


def test_pow_to_mul_declines_a_negative_power_of_integers():
    i = T.lvector("i")
    f = compile_fn([i], i ** T.constant(-1, dtype="int64"))
    assert "pow_to_mul" not in applied(f)


def test_pow_to_mul_declines_when_the_power_changes_the_dtype():
    i = T.lvector("i")
    f = assert_same_values([i], i ** 2.0, [np.array([1, 2, 3])])
    assert "pow_to_mul" not in applied(f)
    assert f(np.array([1, 2, 3])).dtype == np.float64
