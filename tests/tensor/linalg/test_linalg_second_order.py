"""Second derivatives through T.linalg: the gradient graphs are made of differentiable Ops."""

import numpy as np
import pytest
from linalg_helpers import L, mT, sign_fixed, spd, well_conditioned

import symgraph as sg
import symgraph.tensor as T
from symgraph.gradient import hessian_vector_product, verify_grad, verify_rop


def logdet_gram(x):
    """log det(X^T X + I)."""
    return L.slogdet(T.matmul(mT(x), x) + T.eye(x.shape[1], dtype=x.dtype))[1]


@pytest.mark.parametrize("method", ["rop", "lop"])
def test_hessian_vector_product_of_logdet_gram_matches_finite_differences(method):
    rng = np.random.default_rng(0)
    x0, v0 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    x, v = T.matrix("x"), T.matrix("v")
    cost = logdet_gram(x)
    hvp = sg.function([x, v], hessian_vector_product(cost, x, v, method=method))(x0, v0)
    grad = sg.function([x], sg.grad(cost, x))
    eps = 1e-5
    numeric = (grad(x0 + eps * v0) - grad(x0 - eps * v0)) / (2 * eps)
    np.testing.assert_allclose(hvp, numeric, rtol=1e-6, atol=1e-8)
    # And the gradient itself is the closed form 2 X (X^T X + I)^-1.
    np.testing.assert_allclose(grad(x0), 2 * x0 @ np.linalg.inv(x0.T @ x0 + np.eye(3)), rtol=1e-10)


def _gradient_of(fn):
    """x -> d/dx sum(sin(fn(x))): checking its derivatives checks fn's second derivatives."""
    def gradient(x):
        return T.grad(T.sin(fn(x)).sum(), x)
    return gradient


SECOND_ORDER = {
    "inv": (L.inv, (3, 3)),
    "det": (L.det, (2, 3, 3)),
    "pinv": (L.pinv, (4, 3)),
    "solve": (lambda x: L.solve(x, T.constant(np.arange(6.0).reshape(3, 2))), (3, 3)),
    "solve_triangular": (lambda x: L.solve_triangular(x, T.constant(np.ones(3)), lower=True), (3, 3)),
    "cholesky": (lambda x: L.cholesky(spd(x)), (3, 3)),
    "eigh": (lambda x: sign_fixed(L.eigh(spd(x))[1]) + L.eigh(spd(x))[0], (3, 3)),
    "svd": (lambda x: sign_fixed(L.svd(x)[0]) * L.svd(x)[1], (4, 3)),
    "qr": (lambda x: L.qr(x)[0] + L.qr(x)[1].sum(), (4, 3)),
    "expm": (lambda x: L.expm(0.5 * x), (3, 3)),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_derivatives_match_finite_differences(name):
    fn, shape = SECOND_ORDER[name]
    x = well_conditioned(np.random.default_rng(1), shape)
    verify_grad(_gradient_of(fn), [x], rng=np.random.default_rng(2), n_tests=1)
    verify_rop(_gradient_of(fn), [x], rng=np.random.default_rng(3))
