"""cholesky and qr against NumPy: values, batches, dtypes, the triangle read, shapes,
derivatives and errors."""

import numpy as np
import pytest
from linalg_helpers import (
    L,
    assert_close,
    check_grads,
    check_infer_shape,
    run,
    spd,
    spd_value,
    var,
)

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import (
    GraphShapeError,
    InputShapeError,
    NullGradientError,
    OpArgumentError,
    SymgraphError,
)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (2, 1, 2, 2)])
def test_cholesky_matches_numpy(shape, dtype):
    a = spd_value(np.random.default_rng(0), shape, dtype)
    assert_close(run(L.cholesky, a), np.linalg.cholesky(a))
    assert_close(run(lambda x: L.cholesky(x, lower=False), a), np.linalg.cholesky(a, upper=True))


@pytest.mark.parametrize("lower", [True, False])
def test_cholesky_reads_only_its_triangle(lower):
    rng = np.random.default_rng(1)
    a = spd_value(rng, (4, 4))
    noise = 100 * rng.standard_normal((4, 4))
    junk = a + (np.triu(noise, 1) if lower else np.tril(noise, -1))
    assert_close(run(lambda x: L.cholesky(x, lower=lower), junk), np.linalg.cholesky(a, upper=not lower),
                 rtol=1e-10)


def test_infer_shape_of_cholesky():
    check_infer_shape(L.cholesky, [spd_value(np.random.default_rng(2), (2, 3, 3))], L.Cholesky)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_cholesky_gradient_and_rop_on_spd_inputs(shape, lower):
    x = np.random.default_rng(3).standard_normal(shape)
    check_grads(lambda v: L.cholesky(spd(v), lower=lower), [x])


@pytest.mark.parametrize("lower", [True, False])
def test_cholesky_gradient_on_one_triangle_of_a_raw_matrix(lower):
    # The other triangle is not read: its gradient is zero and the check holds
    # for whatever it holds.
    rng = np.random.default_rng(4)
    a = spd_value(rng, (3, 3)) + (np.triu if lower else np.tril)(rng.standard_normal((3, 3)),
                                                                 1 if lower else -1)
    check_grads(lambda v: L.cholesky(v, lower=lower), [a])
    x = var("float64", (3, 3))
    g = sg.function([x], T.grad(L.cholesky(x, lower=lower).sum(), x))(a)
    assert np.all((np.triu(g, 1) if lower else np.tril(g, -1)) == 0)


def test_cholesky_gradient_in_float32():
    x = np.random.default_rng(5).standard_normal((3, 3)).astype("float32")
    check_grads(lambda v: L.cholesky(spd(v)), [x])


def test_cholesky_of_an_indefinite_matrix_raises_a_linalg_error():
    with pytest.raises(SymgraphError, match="cholesky.*not positive definite") as info:
        run(L.cholesky, np.array([[1.0, 2.0], [2.0, 1.0]]))
    assert isinstance(info.value, np.linalg.LinAlgError)


def test_cholesky_refuses_non_square_input():
    with pytest.raises(GraphShapeError, match=r"cholesky.*square.*\(2, 3\)"):
        L.cholesky(var("float64", (2, 3), static=True))
    with pytest.raises(InputShapeError, match=r"cholesky.*\(2, 3\)"):
        run(L.cholesky, np.ones((2, 3)))


# ---- qr --------------------------------------------------------------------------------------

QR_SHAPES = [(4, 3), (3, 5), (3, 3), (2, 4, 3), (2, 3, 4)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
@pytest.mark.parametrize("shape", QR_SHAPES)
def test_qr_matches_numpy(shape, mode, dtype):
    a = np.random.default_rng(6).standard_normal(shape).astype(dtype)
    got = run(lambda x: L.qr(x, mode) if mode == "r" else list(L.qr(x, mode)), a)
    want = np.linalg.qr(a, mode)
    for g, w in zip(got if mode != "r" else [got], want if mode != "r" else [want]):
        assert_close(g, w, rtol=1e-4 if dtype == "float32" else 1e-8, atol=1e-5 if dtype == "float32" else 1e-10)


@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_infer_shape_of_qr(mode):
    for shape in [(2, 4, 3), (3, 5)]:
        a = np.random.default_rng(7).standard_normal(shape)
        check_infer_shape(lambda x: L.qr(x, mode) if mode == "r" else list(L.qr(x, mode)), [a], L.QR)


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (3, 3), (2, 4, 3), (2, 3, 4)])
def test_qr_gradient_and_rop_of_both_factors(shape):
    a = np.random.default_rng(8).standard_normal(shape)
    check_grads(lambda x: L.qr(x)[0], [a])
    check_grads(lambda x: L.qr(x)[1], [a])


@pytest.mark.parametrize("shape", [(4, 3), (3, 5)])
def test_qr_gradient_and_rop_of_r_alone_and_of_complete_mode_where_unique(shape):
    a = np.random.default_rng(9).standard_normal(shape)
    check_grads(lambda x: L.qr(x, "r"), [a])
    check_grads(lambda x: L.qr(x, "complete")[1], [a], rop=False)


def test_qr_complete_q_of_a_tall_matrix_has_no_gradient():
    x = var("float64", (4, 3), static=True)
    with pytest.raises(NullGradientError, match="not unique"):
        T.grad(L.qr(x, "complete")[0].sum(), x)
    wide = var("float64", (3, 4), static=True)
    g = T.grad(L.qr(wide, "complete")[0].sum(), wide)  # m <= n: complete is reduced
    assert g.ndim == 2


def test_qr_refuses_bad_mode_and_vectors():
    with pytest.raises(OpArgumentError, match="mode"):
        L.qr(var("float64", (3, 3)), "raw")
    with pytest.raises(SymgraphError, match="qr"):
        L.qr(var("float64", (3,)))


def test_qr_factors_multiply_back_in_a_graph():
    a = np.random.default_rng(10).standard_normal((2, 5, 3))
    got = run(lambda x: T.matmul(*L.qr(x)) - x, a)
    np.testing.assert_allclose(got, 0, atol=1e-12)
    q = run(lambda x: L.qr(x)[0], a)
    np.testing.assert_allclose(mT_np(q) @ q, np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-12)


def mT_np(x):
    return np.swapaxes(x, -1, -2)
