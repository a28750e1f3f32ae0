"""Activation functions: values against NumPy, dtypes, gradients, stability at large inputs."""

import math

import numpy as np
import pytest
import scipy.special

import symgraph as sg
import symgraph.tensor as T
from symgraph.gradient import verify_grad, verify_rop

from .helpers import assert_shape_inferred, distinct, run, var

N = T.nnet
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


REFERENCES = {
    "sigmoid": (N.sigmoid, scipy.special.expit),
    "softplus": (N.softplus, lambda x: np.logaddexp(0, x)),
    "hard_sigmoid": (N.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    "relu": (N.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda x: N.relu(x, alpha=0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    "elu": (N.elu, np_elu),
    "elu_alpha": (lambda x: N.elu(x, alpha=0.5), lambda x: np_elu(x, 0.5)),
    "selu": (N.selu, lambda x: SELU_SCALE * np_elu(x, SELU_ALPHA)),
    "gelu": (N.gelu, lambda x: x * scipy.special.ndtr(x)),
    "gelu_tanh": (lambda x: N.gelu(x, approximate=True),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    "softsign": (N.softsign, lambda x: x / (1 + np.abs(x))),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_match_numpy_and_keep_the_dtype(name, dtype):
    fn, ref = REFERENCES[name]
    x = (np.linspace(-6, 6, 25) + 0.01).astype(dtype).reshape(5, 5)
    got = run(fn, x)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, ref(x.astype("float64")), rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-6 if dtype == "float32" else 1e-14)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_gradient_and_rop_match_finite_differences(name):
    fn, _ = REFERENCES[name]
    # Away from the kinks at 0 and at +-2.5 (hard_sigmoid).
    x = distinct(np.random.default_rng(0), (3, 4)) * 20
    x[np.abs(np.abs(x) - 2.5) < 0.1] += 0.3
    verify_grad(fn, [x])
    verify_rop(fn, [x])


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "elu", "selu", "gelu", "gelu_tanh", "softsign"])
def test_large_inputs_give_finite_values_and_gradients(name):
    fn, ref = REFERENCES[name]
    x = np.array([-1000.0, -50.0, 50.0, 1000.0])
    xs = var("float64", x.shape)
    out = fn(xs)
    value, grad = sg.function([xs], [out, sg.grad(out.sum(), xs)])(x)
    assert np.isfinite(value).all() and np.isfinite(grad).all()
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(value, ref(x), rtol=1e-12, atol=1e-300)


def test_symbolic_alpha_gets_a_gradient():
    x, a = T.dvector("x"), T.dscalar("a")
    xv = np.array([-2.0, 3.0, -0.5])
    g = sg.function([x, a], sg.grad(N.relu(x, alpha=a).sum(), a))(xv, 0.3)
    np.testing.assert_allclose(g, -2.5)


def test_integer_input_is_computed_in_float64():
    got = run(N.relu, np.array([-2, 3], dtype="int32"))
    assert got.dtype == "float64"
    np.testing.assert_array_equal(got, [0.0, 3.0])


def test_sigmoid_and_softplus_are_the_elementwise_ops_of_T():
    assert N.sigmoid is T.sigmoid and N.softplus is T.softplus


def test_shape_is_inferred():
    assert_shape_inferred(N.gelu, np.ones((2, 3)))
