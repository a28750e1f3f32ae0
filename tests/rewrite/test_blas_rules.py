"""blas: dot plus a scaled term becomes Gemm / Gemv / Ger; the Ops themselves."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GraphShapeError, GraphTypeError, InputShapeError
from symgraph.tensor.blas_gemm import Gemm, Gemv, Ger, gemm, gemv, ger

from .helpers import applied, assert_same_values, compile_fn, op_types

rng = np.random.default_rng(11)


def m(*shape):
    return rng.normal(size=shape)


# ---- the rules ------------------------------------------------------------------------------------

def test_scaled_dot_plus_scaled_term_is_one_gemm():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    a, b = T.dscalar("a"), T.dscalar("b")
    f = assert_same_values([x, y, z, a, b], z * b + a * T.dot(x, y), [m(2, 3), m(3, 4), m(2, 4), 0.5, -2.0])
    assert "dot_to_gemm" in applied(f)
    assert op_types(f) == ["Gemm"]


@pytest.mark.parametrize("build", [
    lambda x, y, z: T.dot(x, y) + z,
    lambda x, y, z: z - T.dot(x, y),
    lambda x, y, z: -T.dot(x, y) + 3 * z,
    lambda x, y, z: z + 2 * T.dot(x, y) + z * z,
])
def test_gemm_from_sums_and_differences(build):
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    f = assert_same_values([x, y, z], build(x, y, z), [m(2, 3), m(3, 4), m(2, 4)])
    assert "dot_to_gemm" in applied(f)
    assert "Gemm" in op_types(f) and "Dot" not in op_types(f)


def test_gemm_adds_a_broadcast_bias_row():
    x, w, bias = T.dmatrix("x"), T.dmatrix("w"), T.dvector("bias")
    f = assert_same_values([x, w, bias], T.dot(x, w) + bias, [m(5, 3), m(3, 4), m(4)])
    assert op_types(f)[-1] == "Gemm"


def test_gemm_declines_when_the_product_is_used_elsewhere():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    d = T.dot(x, y)
    f = assert_same_values([x, y, z], [d + z, d * 2], [m(2, 3), m(3, 4), m(2, 4)])
    assert "Gemm" not in op_types(f)
    assert op_types(f).count("Dot") == 1


def test_gemm_declines_when_the_term_broadcasts_the_product():
    x, z = T.dmatrix("x"), T.dmatrix("z")
    col = T.TensorType("float64", (None, 1))("col")
    f = assert_same_values([x, col, z], T.dot(x, col) + z, [m(2, 3), m(3, 1), m(2, 5)])
    assert "Gemm" not in op_types(f)


def test_gemm_declines_for_integers():
    x, y, z = T.lmatrix("x"), T.lmatrix("y"), T.lmatrix("z")
    ints = [rng.integers(-5, 5, size=s) for s in ((2, 3), (3, 4), (2, 4))]
    f = assert_same_values([x, y, z], T.dot(x, y) + z, ints)
    assert "Gemm" not in op_types(f)


def test_gemm_declines_operands_of_mixed_dtypes():
    x, y, z = T.fmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    f = assert_same_values([x, y, z], T.dot(x, y) + z,
                           [m(2, 3).astype("float32"), m(3, 4), m(2, 4)])
    assert "Gemm" not in op_types(f)


def test_matrix_vector_product_plus_vector_is_gemv():
    A, v, z = T.dmatrix("A"), T.dvector("v"), T.dvector("z")
    f = assert_same_values([A, v, z], [T.dot(A, v) * 2 + z, z - T.dot(v, A.T)], [m(3, 4), m(4), m(3)])
    assert "dot_to_gemv" in applied(f)
    assert op_types(f).count("Gemv") == 2


def test_outer_product_update_is_ger():
    A, x, y, a = T.dmatrix("A"), T.dvector("x"), T.dvector("y"), T.dscalar("a")
    f = assert_same_values([A, x, y, a], A + a * T.outer(x, y), [m(3, 4), m(3), m(4), 0.3])
    assert "outer_to_ger" in applied(f)
    assert op_types(f) == ["Ger"]


def test_ger_with_a_scaled_matrix():
    A, x, y = T.dmatrix("A"), T.dvector("x"), T.dvector("y")
    f = assert_same_values([A, x, y], 0.5 * A - T.outer(x, y), [m(3, 4), m(3), m(4)])
    assert "Ger" in op_types(f)


def test_gemm_in_float32():
    x, y, z = T.fmatrix("x"), T.fmatrix("y"), T.fmatrix("z")
    vals = [m(2, 3).astype("float32"), m(3, 4).astype("float32"), m(2, 4).astype("float32")]
    f = assert_same_values([x, y, z], T.dot(x, y) * 0.5 + z, vals, rtol=1e-6, atol=1e-6)
    assert op_types(f) == ["Gemm"]
    assert f(*vals).dtype == np.float32


def test_excluding_blas_keeps_the_dot():
    x, y, z = T.dmatrix("x"), T.dmatrix("y"), T.dmatrix("z")
    f = compile_fn([x, y, z], T.dot(x, y) + z, excluding=["blas"])
    assert "Gemm" not in op_types(f)


# ---- the Ops --------------------------------------------------------------------------------------

def _run(out, inputs, values):
    return sg.function(inputs, out, mode="FAST_COMPILE")(*values)


def test_gemm_gemv_ger_compute_their_expansions():
    x, y, z, a, b = m(2, 3), m(3, 4), m(2, 4), 0.7, -1.3
    X, Y, Z, A, B = T.dmatrix(), T.dmatrix(), T.dmatrix(), T.dscalar(), T.dscalar()
    np.testing.assert_allclose(_run(gemm(Z, A, X, Y, B), [Z, A, X, Y, B], [z, a, x, y, b]),
                               b * z + a * x @ y)
    v, w = T.dvector(), T.dvector()
    np.testing.assert_allclose(_run(gemv(v, A, X, w, B), [v, A, X, w, B], [z[:, 0], a, x, y[:, 0], b]),
                               b * z[:, 0] + a * x @ y[:, 0])
    np.testing.assert_allclose(_run(ger(Z, A, v, w), [Z, A, v, w], [z, a, x[:, 0], y[0]]),
                               z + a * np.outer(x[:, 0], y[0]))


def test_ops_infer_their_shapes_without_running():
    X, Y, Z = T.dmatrix("X"), T.dmatrix("Y"), T.drow("Z")
    out = gemm(Z, 1.0, X, Y, 1.0)
    f = compile_fn([X, Y, Z], out.shape)
    assert "Gemm" not in op_types(f)
    assert list(f(m(2, 3), m(3, 5), m(1, 5))) == [2, 5]
    assert gemm(T.TensorType("float64", (None, 7))(), 1.0, X, Y, 1.0).type.shape == (None, 7)


@pytest.mark.parametrize("build, points", [
    (lambda z, a, x, y, b: gemm(z, a, x, y, b), [m(2, 4), 0.7, m(2, 3), m(3, 4), -1.1]),
    (lambda z, a, x, y, b: gemv(z, a, x, y, b), [m(2), 0.7, m(2, 3), m(3), 1.3]),
    (lambda A, a, x, y: ger(A, a, x, y), [m(2, 3), 0.4, m(2), m(3)]),
])
def test_gradients_and_forward_mode_match_finite_differences(build, points):
    sg.gradient.verify_grad(build, points, rng=np.random.default_rng(0))
    sg.gradient.verify_rop(build, points, rng=np.random.default_rng(1))


def test_second_derivative_through_gemm_matches_its_expansion():
    x, w = T.dmatrix("x"), T.dmatrix("w")

    def second(out):
        (gw,) = sg.grad(T.sum(out ** 2), [w])
        return sg.grad(T.sum(T.sin(gw)), x)

    f = sg.function([x, w], [second(gemm(x, 1.5, x, w, 2.0)), second(2.0 * x + 1.5 * T.dot(x, w))],
                    mode="FAST_COMPILE")
    got, want = f(m(3, 3), m(3, 3))
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_bad_operands_are_refused_with_the_op_named():
    X, v, Z = T.dmatrix("X"), T.dvector("v"), T.dmatrix("Z")
    with pytest.raises(GraphTypeError, match="Gemm: y must have 2 axes"):
        gemm(Z, 1.0, X, v, 1.0)
    with pytest.raises(GraphTypeError, match="float dtype"):
        Gemm()(T.lmatrix(), T.lscalar(), T.lmatrix(), T.lmatrix(), T.lscalar())
    with pytest.raises(GraphShapeError, match="Gemm"):
        gemm(T.TensorType("float64", (2, 5))(), 1.0, T.TensorType("float64", (3, 3))(), X, 1.0)
    with pytest.raises(GraphTypeError, match="Gemv"):
        Gemv()(v, T.dscalar(), X, X, T.dscalar())
    with pytest.raises(GraphTypeError, match="Ger"):
        Ger()(X, T.dscalar(), X, v)


def test_runtime_shape_mismatch_names_the_op():
    X, Y, Z = T.dmatrix("X"), T.dmatrix("Y"), T.dmatrix("Z")
    f = sg.function([Z, X, Y], gemm(Z, 1.0, X, Y, 1.0), mode="FAST_COMPILE")
    with pytest.raises(InputShapeError, match="Gemm"):
        f(m(2, 5), m(2, 3), m(3, 4))
    with pytest.raises(InputShapeError, match="not aligned"):
        f(m(2, 4), m(2, 3), m(2, 4))
