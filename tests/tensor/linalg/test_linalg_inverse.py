"""inv, det, slogdet and pinv against NumPy: values, batches, dtypes, shapes, derivatives, errors."""

import numpy as np
import pytest
from linalg_helpers import (
    L,
    assert_close,
    check_grads,
    check_infer_shape,
    run,
    var,
    well_conditioned,
)

import symgraph as sg
from symgraph.errors import (
    GraphShapeError,
    GraphTypeError,
    InputShapeError,
    SymgraphError,
)

SHAPES = [(3, 3), (2, 3, 3), (2, 1, 4, 4), (0, 2, 2)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES)
def test_inv_det_slogdet_match_numpy(shape, dtype):
    a = well_conditioned(np.random.default_rng(0), shape, dtype)
    assert_close(run(L.inv, a), np.linalg.inv(a))
    assert_close(run(L.det, a), np.linalg.det(a), dtype)
    sign, logabsdet = run(lambda x: list(L.slogdet(x)), a)
    want_sign, want_log = np.linalg.slogdet(a)
    assert_close(sign, want_sign, dtype)
    assert_close(logabsdet, want_log, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 4, 3), (3, 3)])
def test_pinv_matches_numpy(shape, dtype):
    a = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    assert_close(run(L.pinv, a), np.linalg.pinv(a), rtol=1e-3 if dtype == "float32" else None)


def test_pinv_of_a_rank_deficient_matrix_and_rcond():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 4))
    assert_close(run(L.pinv, a), np.linalg.pinv(a), rtol=1e-7, atol=1e-9)
    assert_close(run(lambda x: L.pinv(x, rcond=0.5), a), np.linalg.pinv(a, rcond=0.5),
                 rtol=1e-7, atol=1e-9)


def test_integer_input_gives_float64_and_matrix_inverse_is_inv():
    a = np.array([[2, 1], [1, 3]], dtype="int32")
    assert_close(run(L.matrix_inverse, a), np.linalg.inv(a))
    assert_close(run(L.det, a), np.linalg.det(a))


def test_det_of_a_singular_matrix_is_zero_not_an_error():
    assert run(L.det, np.ones((3, 3))) == 0.0


@pytest.mark.parametrize("fn,op", [
    (L.inv, L.MatrixInverse), (L.det, L.Det), (lambda x: list(L.slogdet(x)), L.SLogDet),
])
def test_infer_shape_of_square_ops(fn, op):
    check_infer_shape(fn, [well_conditioned(np.random.default_rng(3), (2, 3, 3))], op)


def test_infer_shape_of_pinv():
    check_infer_shape(L.pinv, [np.random.default_rng(3).standard_normal((2, 4, 3))], L.MatrixPinv)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_inv_gradient_and_rop(shape):
    check_grads(L.inv, [well_conditioned(np.random.default_rng(4), shape)])


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_det_gradient_and_rop(shape):
    check_grads(L.det, [well_conditioned(np.random.default_rng(5), shape)])


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_slogdet_gradient_and_rop(shape):
    a = well_conditioned(np.random.default_rng(6), shape)
    a[..., 0, :] *= -1  # a negative determinant: the sign must not leak into the gradient
    check_grads(lambda x: L.slogdet(x)[1], [a])
    check_grads(lambda x: L.slogdet(x)[0] * L.slogdet(x)[1], [a])


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 3, 3)])
def test_pinv_gradient_and_rop(shape):
    check_grads(L.pinv, [np.random.default_rng(7).standard_normal(shape)])


def test_inv_gradient_in_float32():
    check_grads(L.inv, [well_conditioned(np.random.default_rng(8), (3, 3), "float32")])


def test_inv_gradient_is_minus_inverse_transpose_products():
    a = well_conditioned(np.random.default_rng(9), (3, 3))
    g = np.random.default_rng(10).standard_normal((3, 3))
    x, gx = var("float64", (3, 3)), var("float64", (3, 3))
    got = sg.function([x, gx], sg.grad((L.inv(x) * gx).sum(), x))(a, g)
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(got, -ai.T @ g @ ai.T, rtol=1e-10)


@pytest.mark.parametrize("fn", [L.inv, L.det, L.slogdet])
def test_non_square_static_shape_is_refused_when_built(fn):
    x = var("float64", (3, 4), static=True)
    with pytest.raises(GraphShapeError, match=r"square.*\(3, 4\)"):
        fn(x)


@pytest.mark.parametrize("fn", [L.inv, L.det, lambda x: L.slogdet(x)[1]])
def test_non_square_value_is_refused_when_run(fn):
    with pytest.raises(InputShapeError, match=r"square.*\(3, 4\)"):
        run(fn, np.ones((3, 4)))


@pytest.mark.parametrize("fn", [L.inv, L.det, L.pinv])
def test_vectors_and_float16_are_refused(fn):
    with pytest.raises(GraphTypeError, match="matri"):
        fn(var("float64", (3,)))
    with pytest.raises(GraphTypeError, match="float16"):
        fn(var("float16", (3, 3)))


def test_singular_matrix_raises_a_linalg_error_naming_inv_and_the_line():
    with pytest.raises(SymgraphError) as info:
        run(L.inv, np.ones((3, 3)))
    assert isinstance(info.value, np.linalg.LinAlgError)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "inv" in message and "singular" in message
    assert "test_linalg_inverse.py" in message or "linalg_helpers.py" in message
