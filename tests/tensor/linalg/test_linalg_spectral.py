"""eigh, eigvalsh and svd against NumPy: values, batches, dtypes, shapes, derivatives
(with sign-invariant costs for the vectors), repeated eigenvalues and errors."""

import numpy as np
import pytest
from linalg_helpers import (
    L,
    assert_close,
    check_grads,
    check_infer_shape,
    mT,
    run,
    sign_fixed,
    spd,
    spd_value,
    var,
)

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import (
    GradientError,
    GraphShapeError,
    InputShapeError,
    NullGradientError,
    OpArgumentError,
)


def np_sign_fixed(v):
    return v * np.sign(v[..., :1, :])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)])
def test_eigh_and_eigvalsh_match_numpy(shape, uplo, dtype):
    rng = np.random.default_rng(0)
    a = spd_value(rng, shape, dtype)
    # Garbage in the triangle not read must not matter.
    a += (np.triu if uplo == "L" else np.tril)(rng.standard_normal(shape), 1 if uplo == "L" else -1
                                               ).astype(dtype)
    w, v = run(lambda x: list(L.eigh(x, uplo)), a)
    want_w, want_v = np.linalg.eigh(a, uplo)
    assert_close(w, want_w)
    assert_close(np_sign_fixed(v), np_sign_fixed(want_v), atol=1e-3 if dtype == "float32" else 1e-9)
    assert_close(run(lambda x: L.eigvalsh(x, uplo), a), np.linalg.eigvalsh(a, uplo))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 4, 3), (2, 3, 3)])
def test_svd_matches_numpy(shape, dtype):
    a = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == "float32" else {}
    u, s, vh = run(lambda x: list(L.svd(x)), a)
    wu, ws, wvh = np.linalg.svd(a, full_matrices=False)
    assert_close(s, ws, **tol)
    assert_close(np_sign_fixed(u), np_sign_fixed(wu), **tol)
    assert_close(np_sign_fixed(mT_np(vh)), np_sign_fixed(mT_np(wvh)), **tol)
    assert_close(run(lambda x: L.svd(x, compute_uv=False), a), ws, **tol)


def test_svd_full_matrices_matches_numpy():
    a = np.random.default_rng(2).standard_normal((2, 5, 3))
    u, s, vh = run(lambda x: list(L.svd(x, full_matrices=True)), a)
    wu, ws, wvh = np.linalg.svd(a)
    assert u.shape == wu.shape and vh.shape == wvh.shape
    assert_close(s, ws)
    assert_close((u[..., :3] * s[..., None, :]) @ vh, a)


@pytest.mark.parametrize("fn,op", [
    (lambda x: list(L.eigh(x)), L.Eigh), (L.eigvalsh, L.Eigvalsh),
])
def test_infer_shape_of_eigh_and_eigvalsh(fn, op):
    check_infer_shape(fn, [spd_value(np.random.default_rng(3), (2, 3, 3))], op)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shape", [(2, 4, 3), (3, 5)])
def test_infer_shape_of_svd(shape, full):
    a = np.random.default_rng(4).standard_normal(shape)
    check_infer_shape(lambda x: list(L.svd(x, full)), [a], L.SVD)
    check_infer_shape(lambda x: L.svd(x, compute_uv=False), [a], L.SVD)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_eigh_gradient_and_rop_of_values_and_sign_fixed_vectors(shape):
    x = np.random.default_rng(5).standard_normal(shape)
    check_grads(lambda v: L.eigh(spd(v))[0], [x])
    check_grads(lambda v: sign_fixed(L.eigh(spd(v))[1]), [x])


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_gradient_on_one_triangle_of_a_raw_matrix(uplo):
    rng = np.random.default_rng(6)
    noise = rng.standard_normal((3, 3))
    a = spd_value(rng, (3, 3)) + (np.triu(noise, 1) if uplo == "L" else np.tril(noise, -1))
    check_grads(lambda v: sign_fixed(L.eigh(v, uplo)[1]) + L.eigh(v, uplo)[0], [a])
    check_grads(lambda v: L.eigvalsh(v, uplo), [a])


def test_eigh_gradient_of_a_gauge_invariant_function_of_the_vectors():
    # v diag(f(w)) v^T is a matrix function: its value ignores the vectors' signs.
    x = np.random.default_rng(7).standard_normal((3, 3))

    def matrix_log(v):
        w, q = L.eigh(spd(v))
        return T.matmul(q * T.log(w).dimshuffle("x", 0), mT(q))

    check_grads(matrix_log, [x])


def test_eigh_gradient_in_float32():
    x = np.random.default_rng(8).standard_normal((3, 3)).astype("float32")
    check_grads(lambda v: L.eigh(spd(v))[0], [x])


def test_eigenvalue_gradients_are_finite_at_repeated_eigenvalues():
    a = np.diag([2.0, 2.0, 5.0])
    x = var("float64", (3, 3))
    weights = np.array([1.0, 2.0, 3.0])
    for w in (L.eigvalsh(x), L.eigh(x)[0]):
        g = sg.function([x], T.grad((w * weights).sum(), x))(a)
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(np.trace(g), weights.sum())


def test_eigh_refuses_non_square_input():
    with pytest.raises(GraphShapeError, match=r"eigh.*\(3, 2\)"):
        L.eigh(var("float64", (3, 2), static=True))
    with pytest.raises(InputShapeError, match="eigvalsh"):
        run(L.eigvalsh, np.ones((3, 2)))
    with pytest.raises(OpArgumentError, match="UPLO"):
        L.eigh(var("float64", (3, 3)), "X")


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (3, 3), (2, 4, 3)])
def test_svd_gradient_and_rop_of_values(shape):
    a = np.random.default_rng(9).standard_normal(shape)
    check_grads(lambda x: L.svd(x, compute_uv=False), [a])
    check_grads(lambda x: L.svd(x)[1], [a])


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (3, 3), (2, 4, 3)])
def test_svd_gradient_and_rop_of_sign_fixed_vectors(shape):
    a = np.random.default_rng(10).standard_normal(shape)
    check_grads(lambda x: sign_fixed(L.svd(x)[0]), [a])
    check_grads(lambda x: sign_fixed(mT(L.svd(x)[2])), [a])


def test_svd_gradient_of_a_reconstruction_and_in_float32():
    a = np.random.default_rng(11).standard_normal((4, 3))
    check_grads(lambda x: T.matmul(L.svd(x)[0] * T.exp(L.svd(x)[1]).dimshuffle("x", 0), L.svd(x)[2]),
                [a])
    check_grads(lambda x: L.svd(x)[1], [a.astype("float32")])


def test_svd_full_matrices_vectors_of_a_rectangular_matrix_have_no_gradient():
    x = var("float64", (4, 3), static=True)
    with pytest.raises(NullGradientError, match="not unique"):
        T.grad(L.svd(x, full_matrices=True)[0].sum(), x)
    g = T.grad(L.svd(x, full_matrices=True)[1].sum(), x)  # the values still have one
    a = np.random.default_rng(12).standard_normal((4, 3))
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(g.eval({x: a}), u @ vh, rtol=1e-10)
    with pytest.raises(GradientError, match="full_matrices"):
        sg.gradient.Rop(L.svd(x, full_matrices=True)[1], x, var("float64", (4, 3)))


def mT_np(x):
    return np.swapaxes(x, -1, -2)
