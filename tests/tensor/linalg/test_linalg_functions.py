"""trace, matrix_power, expm, kron, norm and matrix_dot against NumPy/SciPy: values,
batches, dtypes, shapes, derivatives and errors."""

import numpy as np
import pytest
import scipy.linalg
from linalg_helpers import (
    L,
    assert_close,
    check_grads,
    check_infer_shape,
    run,
    var,
    well_conditioned,
)

from symgraph.errors import GraphShapeError, GraphTypeError, OpArgumentError


@pytest.mark.parametrize("offset", [0, 1, -2])
@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 3, 5)])
def test_trace_matches_numpy_linalg_trace(shape, offset):
    a = np.random.default_rng(0).standard_normal(shape)
    assert_close(run(lambda x: L.trace(x, offset), a), np.linalg.trace(a, offset=offset))


def test_trace_gradient_and_rop():
    check_grads(lambda x: L.trace(x, 1), [np.random.default_rng(1).standard_normal((2, 3, 4))])


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -3])
def test_matrix_power_matches_numpy(n):
    a = well_conditioned(np.random.default_rng(2), (2, 3, 3))
    assert_close(run(lambda x: L.matrix_power(x, n), a), np.linalg.matrix_power(a, n), rtol=1e-9)


def test_matrix_power_keeps_integers_and_float32():
    a = np.array([[1, 2], [3, 4]], dtype="int64")
    assert_close(run(lambda x: L.matrix_power(x, 3), a), np.linalg.matrix_power(a, 3))
    f = well_conditioned(np.random.default_rng(3), (3, 3), "float32")
    assert_close(run(lambda x: L.matrix_power(x, 4), f), np.linalg.matrix_power(f, 4), rtol=1e-4)


@pytest.mark.parametrize("n", [3, -2])
def test_matrix_power_gradient_and_rop(n):
    check_grads(lambda x: L.matrix_power(x, n), [well_conditioned(np.random.default_rng(4), (3, 3))])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
def test_expm_matches_scipy(shape, dtype):
    a = (np.random.default_rng(5).standard_normal(shape) * 0.7).astype(dtype)
    assert_close(run(L.expm, a), scipy.linalg.expm(a), rtol=1e-4 if dtype == "float32" else 1e-9)


def test_infer_shape_of_expm():
    check_infer_shape(L.expm, [np.random.default_rng(6).standard_normal((2, 3, 3))], L.Expm)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_expm_gradient_and_rop(shape):
    check_grads(L.expm, [np.random.default_rng(7).standard_normal(shape) * 0.5])


def test_expm_gradient_matches_scipy_frechet_adjoint():
    import symgraph as sg
    import symgraph.tensor as T

    rng = np.random.default_rng(8)
    a, g = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    x = var("float64", (3, 3))
    got = sg.function([x], T.grad((L.expm(x) * g).sum(), x))(a)
    np.testing.assert_allclose(got, scipy.linalg.expm_frechet(a.T, g, compute_expm=False),
                               rtol=1e-9)


@pytest.mark.parametrize("sa,sb", [((2, 3), (4, 5)), ((3,), (2,)), ((2, 3), (4,)), ((2,), (3, 4)),
                                   ((2, 1, 3), (3, 2)), ((), (2, 2))])
def test_kron_matches_numpy(sa, sb):
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    assert_close(run(L.kron, a, b), np.kron(a, b))


def test_kron_gradient_and_rop():
    rng = np.random.default_rng(10)
    check_grads(L.kron, [rng.standard_normal((2, 3)), rng.standard_normal((3, 2))])


VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 0, 3, 0.5]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norms_match_numpy(ord):
    a = np.random.default_rng(11).standard_normal((3, 4))
    a[0, 0] = 0.0
    assert_close(run(lambda x: L.norm(x[1], ord), a), np.linalg.norm(a[1], ord))
    for axis in (0, -1):
        assert_close(run(lambda x, axis=axis: L.norm(x, ord, axis=axis), a), np.linalg.norm(a, ord, axis=axis))
    assert_close(run(lambda x: L.norm(x, ord, axis=1, keepdims=True), a),
                 np.linalg.norm(a, ord, axis=1, keepdims=True))


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norms_match_numpy(ord):
    a = np.random.default_rng(12).standard_normal((2, 4, 3))
    assert_close(run(lambda x: L.norm(x[0], ord), a), np.linalg.norm(a[0], ord))
    for axis in [(1, 2), (2, 0)]:
        assert_close(run(lambda x, axis=axis: L.norm(x, ord, axis=axis), a), np.linalg.norm(a, ord, axis=axis))
    assert_close(run(lambda x: L.norm(x, ord, axis=(2, 1), keepdims=True), a),
                 np.linalg.norm(a, ord, axis=(2, 1), keepdims=True))


def test_norm_of_everything_flattened():
    a = np.random.default_rng(13).standard_normal((2, 3, 4))
    assert_close(run(L.norm, a), np.linalg.norm(a))
    assert_close(run(lambda x: L.norm(x, keepdims=True), a), np.linalg.norm(a, keepdims=True))


@pytest.mark.parametrize("ord", [None, 1, np.inf, 3])
def test_vector_norm_gradient_and_rop(ord):
    check_grads(lambda x: L.norm(x, ord, axis=-1), [np.random.default_rng(14).standard_normal((2, 4))])


@pytest.mark.parametrize("ord", ["fro", "nuc", 2, -2, 1, np.inf])
def test_matrix_norm_gradient_and_rop(ord):
    check_grads(lambda x: L.norm(x, ord), [np.random.default_rng(15).standard_normal((4, 3))])


def test_matrix_dot_chains_products():
    rng = np.random.default_rng(16)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    assert_close(run(L.matrix_dot, a, b, c), a @ b @ c)


def test_bad_arguments_are_refused():
    m = var("float64", (3, 3))
    with pytest.raises(GraphTypeError, match="trace"):
        L.trace(var("float64", (3,)))
    with pytest.raises(OpArgumentError, match="matrix_power"):
        L.matrix_power(m, 1.5)
    with pytest.raises(GraphShapeError, match=r"matrix_power.*\(2, 3\)"):
        L.matrix_power(var("float64", (2, 3), static=True), 2)
    with pytest.raises(GraphShapeError, match=r"expm.*\(2, 3\)"):
        L.expm(var("float64", (2, 3), static=True))
    with pytest.raises(OpArgumentError, match="ord"):
        L.norm(m, "bad")
    with pytest.raises(OpArgumentError, match="ord"):
        L.norm(m, "fro", axis=0)
    with pytest.raises(OpArgumentError, match="axis"):
        L.norm(m, axis=(0, 0))
    with pytest.raises(GraphTypeError, match="norm"):
        L.norm(var("float64", (2, 2, 2)), 2)
