"""solve, solve_triangular and cho_solve against NumPy/SciPy: values, batches and
broadcasting, the triangle read, shapes, derivatives and errors."""

import numpy as np
import pytest
import scipy.linalg
from linalg_helpers import (
    L,
    assert_close,
    check_grads,
    check_infer_shape,
    run,
    spd,
    spd_value,
    var,
    well_conditioned,
)

import symgraph.tensor as T
from symgraph.errors import (
    GraphShapeError,
    GraphTypeError,
    InputShapeError,
    OpArgumentError,
    SymgraphError,
)


def rhs(rng, shape, dtype="float64"):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sa,sb", [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 4)),
                                   ((2, 3, 3), (3, 2)), ((1, 3, 3), (2, 3, 2)), ((3, 3), (2, 3, 1))])
def test_general_solve_matches_numpy_with_batches_and_broadcasting(sa, sb, dtype):
    rng = np.random.default_rng(0)
    a, b = well_conditioned(rng, sa, dtype), rhs(rng, sb, dtype)
    assert_close(run(L.solve, a, b), np.linalg.solve(a, b))


@pytest.mark.parametrize("assume_a", ["sym", "pos"])
@pytest.mark.parametrize("lower", [True, False])
def test_structured_solve_reads_one_triangle_as_scipy(assume_a, lower):
    rng = np.random.default_rng(1)
    a, b = spd_value(rng, (4, 4)), rhs(rng, (4, 2))
    noise = rng.standard_normal((4, 4)) * 10
    junk = a + (np.triu(noise, 1) if lower else np.tril(noise, -1))  # in the triangle not read
    got = run(lambda x, y: L.solve(x, y, assume_a=assume_a, lower=lower), junk, b)
    assert_close(got, scipy.linalg.solve(junk, b, assume_a=assume_a, lower=lower))
    assert_close(got, np.linalg.solve(a, b), rtol=1e-8)


def test_batched_structured_solve_and_batched_vector_rhs():
    rng = np.random.default_rng(2)
    a, b = spd_value(rng, (3, 4, 4)), rhs(rng, (3, 4))
    want = np.linalg.solve(a, b[..., None])[..., 0]
    for assume_a in ("gen", "sym", "pos"):
        assert_close(run(lambda x, y, kind=assume_a: L.solve(x, y, kind, b_ndim=1), a, b), want, rtol=1e-8)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("sb", [(3,), (3, 2), (2, 3, 2)])
def test_solve_triangular_matches_scipy(lower, unit, sb, dtype):
    rng = np.random.default_rng(3)
    a = well_conditioned(rng, (2, 3, 3) if len(sb) == 3 else (3, 3), dtype)
    b = rhs(rng, sb, dtype)
    got = run(lambda x, y: L.solve_triangular(x, y, lower=lower, unit_diagonal=unit), a, b)
    assert_close(got, scipy.linalg.solve_triangular(a, b, lower=lower, unit_diagonal=unit))


def test_solve_triangular_trans_and_theano_names():
    rng = np.random.default_rng(4)
    a, b = well_conditioned(rng, (3, 3)), rhs(rng, (3, 2))
    assert_close(run(lambda x, y: L.solve_triangular(x, y, lower=True, trans=1), a, b),
                 scipy.linalg.solve_triangular(a, b, lower=True, trans=1))
    assert_close(run(L.solve_lower_triangular, a, b), scipy.linalg.solve_triangular(a, b, lower=True))
    assert_close(run(L.solve_upper_triangular, a, b), scipy.linalg.solve_triangular(a, b))
    assert_close(run(lambda x, y: L.solve(x, y, assume_a="lower triangular"), a, b),
                 scipy.linalg.solve_triangular(a, b, lower=True))
    s = spd_value(rng, (3, 3))
    assert_close(run(L.solve_symmetric, s, b), np.linalg.solve(s, b), rtol=1e-8)


@pytest.mark.parametrize("lower", [True, False])
def test_cho_solve_matches_scipy(lower):
    rng = np.random.default_rng(5)
    a, b = spd_value(rng, (4, 4)), rhs(rng, (4, 3))
    c = scipy.linalg.cholesky(a, lower=lower)
    assert_close(run(lambda x, y: L.cho_solve((x, lower), y), c, b),
                 scipy.linalg.cho_solve((c, lower), b), rtol=1e-8)


def test_integer_operands_are_solved_in_float64():
    a, b = np.array([[2, 1], [1, 3]], dtype="int64"), np.array([1, 2], dtype="int32")
    assert_close(run(L.solve, a, b), np.linalg.solve(a, b))


@pytest.mark.parametrize("sa,sb,b_ndim", [((3, 3), (3,), None), ((2, 3, 3), (3, 2), None),
                                          ((2, 3, 3), (2, 3), 1), ((1, 3, 3), (4, 3, 2), None)])
def test_infer_shape_of_solves(sa, sb, b_ndim):
    rng = np.random.default_rng(6)
    values = [well_conditioned(rng, sa), rhs(rng, sb)]
    check_infer_shape(lambda x, y: L.solve(x, y, b_ndim=b_ndim), values, L.Solve)
    check_infer_shape(lambda x, y: L.solve_triangular(x, y, b_ndim=b_ndim), values,
                      L.SolveTriangular)


@pytest.mark.parametrize("sa,sb", [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)),
                                   ((2, 3, 3), (3, 2))])
def test_general_solve_gradient_and_rop(sa, sb):
    rng = np.random.default_rng(7)
    check_grads(L.solve, [well_conditioned(rng, sa), rhs(rng, sb)])


@pytest.mark.parametrize("assume_a", ["sym", "pos"])
@pytest.mark.parametrize("lower", [True, False])
def test_structured_solve_gradient_and_rop(assume_a, lower):
    rng = np.random.default_rng(8)
    # Only one triangle is read, so the check holds for any matrix whose
    # symmetrised triangle is positive definite; and for A A^T + n I.
    a = spd_value(rng, (3, 3)) + np.triu(rng.standard_normal((3, 3)), 1)
    check_grads(lambda x, y: L.solve(x, y, assume_a, lower), [a, rhs(rng, (3, 2))])
    check_grads(lambda x, y: L.solve(spd(x), y, assume_a, lower), [rng.standard_normal((3, 3)),
                                                                  rhs(rng, (3,))])


def test_batched_vector_solve_gradient_and_rop():
    rng = np.random.default_rng(9)
    check_grads(lambda x, y: L.solve(x, y, "pos", b_ndim=1), [spd_value(rng, (2, 3, 3)),
                                                              rhs(rng, (2, 3))])


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("sb", [(3,), (2, 3, 2)])
def test_solve_triangular_gradient_and_rop(lower, unit, sb):
    rng = np.random.default_rng(10)
    a = well_conditioned(rng, (2, 3, 3) if len(sb) == 3 else (3, 3))
    check_grads(lambda x, y: L.solve_triangular(x, y, lower=lower, unit_diagonal=unit),
                [a, rhs(rng, sb)])


def test_cho_solve_gradient_and_rop():
    rng = np.random.default_rng(11)
    c = np.linalg.cholesky(spd_value(rng, (3, 3)))
    check_grads(lambda x, y: L.cho_solve((x, True), y), [c, rhs(rng, (3, 2))])


def test_solve_gradient_in_float32():
    rng = np.random.default_rng(12)
    check_grads(L.solve, [well_conditioned(rng, (3, 3), "float32"), rhs(rng, (3, 2), "float32")])


def test_gradient_of_a_triangular_solve_is_zero_off_the_triangle():
    rng = np.random.default_rng(13)
    a, b = var("float64", (3, 3)), var("float64", (3,))
    g = T.grad(L.solve_triangular(a, b, lower=True).sum(), a)
    got = g.eval({a: well_conditioned(rng, (3, 3)), b: rhs(rng, (3,))})
    assert np.all(np.triu(got, 1) == 0) and np.all(got[np.tril_indices(3)] != 0)


def test_mismatched_rows_are_refused_when_built_and_when_run():
    a = var("float64", (3, 3), static=True)
    with pytest.raises(GraphShapeError, match="rows"):
        L.solve(a, var("float64", (4, 2), static=True))
    with pytest.raises(InputShapeError, match=r"\(3, 3\).*\(4, 2\)"):
        run(L.solve, np.eye(3), np.ones((4, 2)))


def test_non_square_a_is_refused():
    with pytest.raises(GraphShapeError, match=r"square.*\(3, 2\)"):
        L.solve(var("float64", (3, 2), static=True), var("float64", (3,)))
    with pytest.raises(InputShapeError, match="square"):
        run(L.solve_triangular, np.ones((3, 2)), np.ones(3))


def test_batch_axes_broadcast_only_where_static_length_is_one():
    a, b = var("float64", (2, 3, 3)), var("float64", (2, 3, 2))
    f = L.solve(a, b)
    with pytest.raises(InputShapeError, match="batch"):
        f.eval({a: well_conditioned(np.random.default_rng(14), (2, 3, 3)), b: np.ones((1, 3, 2))})


@pytest.mark.parametrize("fn,why", [
    (lambda a, b: L.solve(a, b), "singular"),
    (lambda a, b: L.solve(a, b, "sym"), "singular"),
    (lambda a, b: L.solve(a, b, "pos"), "positive definite"),
    (lambda a, b: L.solve_triangular(a, b, lower=True), "singular"),
])
def test_singular_or_indefinite_matrix_raises_a_linalg_error(fn, why):
    with pytest.raises(SymgraphError, match=why) as info:
        run(fn, np.zeros((3, 3)), np.ones(3))
    assert isinstance(info.value, np.linalg.LinAlgError)
    assert "solve" in str(info.value)


def test_bad_arguments_are_refused():
    a, b = var("float64", (3, 3)), var("float64", (3,))
    with pytest.raises(OpArgumentError, match="assume_a"):
        L.solve(a, b, assume_a="banded")
    with pytest.raises(OpArgumentError, match="b_ndim"):
        L.solve(a, b, b_ndim=3)
    with pytest.raises(GraphTypeError, match="at least 2 axes"):
        L.solve(a, b, b_ndim=2)
    with pytest.raises(OpArgumentError, match="trans"):
        L.solve_triangular(a, b, trans=2)
