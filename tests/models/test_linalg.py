"""Symmetric matrix powers against NumPy, and the function-preservation measure."""

import numpy as np
from symgraph.models import analysis
from symgraph.models import linalg as la

import symgraph as sg
import symgraph.tensor as T


def test_inverse_sqrt_whitens_a_covariance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4))
    C = np.cov(X, rowvar=False)
    M = T.matrix("M")
    U = sg.function([M], la.inverse_sqrt(M, eps=1e-3))(C)
    np.testing.assert_allclose(U, la.np_inverse_sqrt(C, eps=1e-3), atol=1e-10)
    np.testing.assert_allclose(U @ (C + 1e-3 * np.eye(4)) @ U, np.eye(4), atol=1e-10)


def test_matrix_power_of_a_singular_matrix_is_finite():
    v = np.array([1.0, 2.0, 0.0])
    P = la.np_sym_matrix_power(np.outer(v, v), 0.5)
    np.testing.assert_allclose(P @ P, np.outer(v, v), atol=1e-10)


def test_max_relative_change():
    assert analysis.max_relative_change([1.0, -2.0], [1.0, -2.0]) == 0.0
    np.testing.assert_allclose(analysis.max_relative_change([1.0, 4.0], [1.1, 4.0]), 0.1)
