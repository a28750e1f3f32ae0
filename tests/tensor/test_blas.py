"""dot, tensordot, matmul, batched_dot and outer against NumPy; shapes, gradients and errors."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GraphShapeError, GraphTypeError, SymgraphError
from symgraph.gradient import verify_grad, verify_rop
from symgraph.tensor.shape_inference import infer_shape


def var(dtype, shape):
    """A symbolic input whose static shape keeps only the length-1 (broadcastable) axes."""
    return T.TensorType(dtype, tuple(1 if s == 1 else None for s in shape))()


def run(fn, *values):
    inputs = [var(v.dtype, v.shape) for v in values]
    out = fn(*inputs)
    return sg.function(inputs, out)(*values)


def data(rng, shape, dtype="float64"):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-5, 6, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def assert_matches(got, want):
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


RANKS = [(), (3,), (2, 3), (4, 2, 3)]
RANKS_B = [(), (3,), (3, 5), (2, 3, 5)]
DOT_PAIRS = [(a, b) for a in RANKS for b in RANKS_B]


@pytest.mark.parametrize("sa,sb", DOT_PAIRS)
def test_dot_matches_numpy_for_every_rank_pair(sa, sb):
    rng = np.random.default_rng(0)
    a, b = data(rng, sa), data(rng, sb)
    assert_matches(run(T.dot, a, b), np.dot(a, b))


@pytest.mark.parametrize("da,db", [("float32", "float32"), ("float64", "float64"),
                                   ("int32", "int32"), ("int32", "float32"),
                                   ("float32", "float64"), ("int64", "int32")])
@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                   ((2, 3), (3, 4)), ((4, 2, 3), (2, 3, 4))])
def test_dot_promotes_dtypes_as_numpy(da, db, sa, sb):
    rng = np.random.default_rng(1)
    a, b = data(rng, sa, da), data(rng, sb, db)
    assert_matches(run(T.dot, a, b), np.dot(a, b))


@pytest.mark.parametrize("sa,sb", [((0, 3), (3, 4)), ((2, 0), (0, 4)), ((0,), (0,)),
                                   ((3, 0), (0,)), ((2, 0, 3), (3, 4))])
def test_dot_of_empty_arrays(sa, sb):
    rng = np.random.default_rng(2)
    a, b = data(rng, sa), data(rng, sb)
    assert_matches(run(T.dot, a, b), np.dot(a, b))


def test_dot_takes_transposed_strided_and_reversed_inputs():
    rng = np.random.default_rng(3)
    base = data(rng, (6, 8))
    cases = [(base.T, data(rng, (6, 3))), (base[::-1, ::2], data(rng, (4, 2))[::-1]),
             (base[:, 1], base[::-1, 3]), (base[::2, ::-3].T, base[:3, :5])]
    for a, b in cases:
        assert not (a.flags.c_contiguous and b.flags.c_contiguous)
        assert_matches(run(T.dot, a, b), np.dot(a, b))


def test_dot_with_python_scalar_multiplies():
    x = T.vector("x")
    v = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(sg.function([x], T.dot(2, x))(v), np.dot(2, v))


def test_method_and_operator_forms():
    rng = np.random.default_rng(4)
    a, b = data(rng, (2, 3)), data(rng, (3, 4))
    x, y = T.matrix("x"), T.matrix("y")
    f = sg.function([x, y], [x.dot(y), x @ y, a @ y])
    for got in f(a, b):
        np.testing.assert_allclose(got, a @ b)


@pytest.mark.parametrize("sa,sb,axes", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 4), 1), ((2, 3), (4, 5), 0), ((3, 4), (3, 4), 2),
    ((2, 3, 4), (4, 3, 5), [[1, 2], [1, 0]]), ((2, 3, 4), (5, 2), [0, 1]),
    ((2, 3, 4), (4, 3), [[-1, -2], [0, 1]]), ((4, 3, 2), (2, 5, 3, 4), [[0, 2], [3, 0]]),
    ((), (2, 3), 0), ((3,), (3,), [[0], [0]]),
])
def test_tensordot_matches_numpy_for_each_axes_form(sa, sb, axes):
    rng = np.random.default_rng(5)
    a, b = data(rng, sa), data(rng, sb)
    assert_matches(run(lambda x, y: T.tensordot(x, y, axes), a, b), np.tensordot(a, b, axes))


def _batched_ref(a, b):
    if a.ndim == 1:
        return a.reshape((-1,) + (1,) * (b.ndim - 1)) * b
    out = (a if a.ndim == 3 else a[:, None, :]) @ (b if b.ndim == 3 else b[:, :, None])
    kept = out.shape[:1] + out.shape[1:2] * (a.ndim == 3) + out.shape[2:] * (b.ndim == 3)
    return out.reshape(kept)


@pytest.mark.parametrize("sa,sb", [((4, 3), (4, 3)), ((4, 2, 3), (4, 3)), ((4, 3), (4, 3, 5)),
                                   ((4, 2, 3), (4, 3, 5)), ((4,), (4, 3)), ((0, 2, 3), (0, 3, 4)),
                                   ((3, 2, 5, 4), (3, 4, 6))])
def test_batched_dot_matches_per_example_dot(sa, sb):
    rng = np.random.default_rng(6)
    a, b = data(rng, sa), data(rng, sb)
    if len(sa) > 3:
        want = np.stack([np.tensordot(x, y, [[x.ndim - 1], [0]]) for x, y in zip(a, b)])
    else:
        want = _batched_ref(a, b)
    assert_matches(run(T.batched_dot, a, b), want)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_batched_dot_keeps_dtype(dtype):
    rng = np.random.default_rng(7)
    a, b = data(rng, (3, 2, 4), dtype), data(rng, (3, 4, 5), dtype)
    assert_matches(run(T.batched_dot, a, b), np.matmul(a, b))


@pytest.mark.parametrize("sa,sb", [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((5, 2, 3), (3,)), ((3,), (5, 3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
    ((1, 2, 3), (5, 3, 4)), ((5, 2, 3), (1, 3, 4)), ((6, 1, 2, 3), (5, 3, 4)),
    ((1, 5, 2, 3), (6, 1, 3, 4)), ((2, 3), (6, 1, 3, 4)), ((0, 2, 3), (1, 3, 4)),
])
def test_matmul_matches_numpy_with_batch_broadcasting(sa, sb):
    rng = np.random.default_rng(8)
    a, b = data(rng, sa), data(rng, sb)
    assert_matches(run(T.matmul, a, b), np.matmul(a, b))


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_matmul_keeps_dtype(dtype):
    rng = np.random.default_rng(9)
    a, b = data(rng, (2, 2, 3), dtype), data(rng, (2, 3, 5), dtype)
    assert_matches(run(T.matmul, a, b), np.matmul(a, b))


def test_outer_flattens_like_numpy():
    rng = np.random.default_rng(10)
    for sa, sb in [((3,), (4,)), ((2, 2), (3,)), ((0,), (2,))]:
        a, b = data(rng, sa), data(rng, sb)
        assert_matches(run(T.outer, a, b), np.outer(a, b))


@pytest.mark.parametrize("fn,sa,sb", [
    (T.dot, (2, 3), (3, 4)), (T.dot, (3,), (3,)), (T.dot, (4, 2, 3), (2, 3, 5)),
    (T.dot, (), (2, 3)), (lambda a, b: T.tensordot(a, b, [[0, 2], [1, 0]]), (3, 2, 4), (4, 3)),
    (T.batched_dot, (4, 2, 3), (4, 3)), (T.batched_dot, (3, 2, 5, 4), (3, 4, 6)),
    (T.matmul, (1, 5, 2, 3), (6, 1, 3, 4)), (T.matmul, (2, 3), (5, 3, 4)), (T.outer, (3,), (2, 2)),
])
def test_infer_shape_matches_the_computed_shape(fn, sa, sb):
    rng = np.random.default_rng(11)
    a, b = data(rng, sa), data(rng, sb)
    x, y = var("float64", sa), var("float64", sb)
    out = fn(x, y)
    got = sg.function([x, y], list(infer_shape(out)) + [out], on_unused_input="ignore")(a, b)
    assert tuple(int(n) for n in got[:-1]) == got[-1].shape


def test_static_shapes_propagate():
    x = T.matrix(shape=(2, 3))
    y = T.matrix(shape=(3, None))
    assert T.dot(x, y).type.shape == (2, None)
    assert T.dot(x, T.vector(shape=(3,))).type.shape == (2,)
    assert T.batched_dot(T.tensor3(shape=(4, 2, 3)), T.tensor3()).type.shape == (4, 2, None)


GRAD_CASES = [
    (T.dot, (3,), (3,)), (T.dot, (2, 3), (3,)), (T.dot, (3,), (3, 4)), (T.dot, (2, 3), (3, 4)),
    (T.dot, (2, 2, 3), (3,)), (T.dot, (2, 2, 3), (2, 3, 2)), (T.dot, (), (2, 3)),
    (lambda a, b: T.tensordot(a, b, [[0, 2], [1, 0]]), (3, 2, 4), (4, 3)),
    (lambda a, b: T.tensordot(a, b, 0), (2,), (3,)),
    (T.batched_dot, (3, 2, 4), (3, 4, 2)), (T.batched_dot, (3, 4), (3, 4)),
    (T.batched_dot, (3, 2, 4), (3, 4)), (T.batched_dot, (2, 3, 2, 4), (2, 4, 3)),
    (T.matmul, (2, 2, 3), (3, 2)), (T.matmul, (3,), (2, 3, 2)), (T.outer, (3,), (2,)),
]


@pytest.mark.parametrize("fn,sa,sb", GRAD_CASES)
def test_gradient_matches_finite_differences(fn, sa, sb):
    rng = np.random.default_rng(12)
    verify_grad(fn, [data(rng, sa), data(rng, sb)], rng=rng)


@pytest.mark.parametrize("fn,sa,sb", GRAD_CASES)
def test_rop_matches_finite_differences(fn, sa, sb):
    rng = np.random.default_rng(13)
    verify_rop(fn, [data(rng, sa), data(rng, sb)], rng=rng)


def test_gradient_through_broadcast_batch_axes_sums_them():
    rng = np.random.default_rng(14)

    def fn(a, b):
        return T.matmul(T.addbroadcast(a, 0), b)

    verify_grad(fn, [data(rng, (1, 2, 3)), data(rng, (4, 3, 2))], rng=rng)
    verify_rop(fn, [data(rng, (1, 2, 3)), data(rng, (4, 3, 2))], rng=rng)


def test_second_derivative_of_dot():
    rng = np.random.default_rng(15)

    def grad_of_square(a, b):
        return sg.grad(T.sum(T.sqr(T.dot(a, b))), a)

    verify_grad(grad_of_square, [data(rng, (2, 3)), data(rng, (3, 2))], rng=rng)


def test_gradient_reaches_the_float_operand_of_a_mixed_dot():
    rng = np.random.default_rng(16)
    a, w = data(rng, (2, 3), "int32"), data(rng, (3, 4), "float32")
    x, y = T.imatrix("x"), T.fmatrix("w")
    g = sg.grad(T.sum(T.dot(x, y)), y)
    assert g.dtype == "float32"
    np.testing.assert_allclose(sg.function([x, y], g)(a, w), a.sum(0)[:, None] * np.ones((3, 4)),
                               rtol=1e-6)


def test_static_mismatch_is_a_graph_shape_error_naming_both_shapes():
    with pytest.raises(GraphShapeError, match=r"\(2, 3\) and \(4, 5\)"):
        T.dot(T.matrix(shape=(2, 3)), T.matrix(shape=(4, 5)))
    with pytest.raises(GraphShapeError, match=r"tensordot: shapes \(2, 3\) and \(2, 3\)"):
        T.tensordot(T.matrix(shape=(2, 3)), T.matrix(shape=(2, 3)), [[0, 1], [1, 0]])
    with pytest.raises(GraphShapeError, match="batched_dot"):
        T.batched_dot(T.tensor3(shape=(2, 3, 4)), T.tensor3(shape=(3, 4, 5)))


def test_runtime_mismatch_names_both_shapes():
    x, y = T.matrix("x"), T.matrix("y")
    f = sg.function([x, y], T.dot(x, y))
    with pytest.raises(ValueError, match=r"dot: shapes \(2, 3\) and \(4, 5\)") as info:
        f(np.ones((2, 3)), np.ones((4, 5)))
    assert isinstance(info.value, SymgraphError)
    assert "created at" in str(info.value)


def test_runtime_mismatch_with_equal_products_is_caught():
    # (2, 3) against (3, 2) reshape to the same length; the check must still see it.
    a, b = T.tensor3("a"), T.tensor3("b")
    f = sg.function([a, b], T.tensordot(a, b, [[1, 2], [0, 1]]))
    with pytest.raises(SymgraphError, match=r"tensordot: shapes \(4, 2, 3\) and \(3, 2, 5\)"):
        f(np.ones((4, 2, 3)), np.ones((3, 2, 5)))


def test_matmul_refuses_runtime_broadcast_of_undeclared_axes():
    a, b = T.tensor3("a"), T.tensor3("b")
    f = sg.function([a, b], a @ b)
    message = r"matmul: shapes \(1, 2, 3\) and \(4, 3, 2\).*static length 1"
    with pytest.raises(ValueError, match=message):
        f(np.ones((1, 2, 3)), np.ones((4, 3, 2)))


def test_batched_dot_runtime_batch_mismatch():
    a, b = T.tensor3("a"), T.tensor3("b")
    f = sg.function([a, b], T.batched_dot(a, b))
    with pytest.raises(ValueError, match=r"batched_dot: shapes \(2, 2, 3\) and \(3, 3, 2\)"):
        f(np.ones((2, 2, 3)), np.ones((3, 3, 2)))


def test_bad_ranks_and_axes_are_type_errors():
    with pytest.raises(GraphTypeError, match="matmul: operand 0"):
        T.matmul(T.scalar(), T.matrix())
    with pytest.raises(GraphTypeError, match="operand 1 needs a leading batch axis"):
        T.batched_dot(T.matrix(), T.scalar())
    with pytest.raises(GraphTypeError, match="tensordot: axis 3 is out of range"):
        T.tensordot(T.matrix(), T.matrix(), [[3], [0]])
    with pytest.raises(GraphTypeError, match="name 2 axes of the first operand but 1"):
        T.tensordot(T.matrix(), T.matrix(), [[0, 1], [0]])
    with pytest.raises(GraphTypeError, match="Dot multiplies vectors and matrices"):
        T.Dot()(T.tensor3(), T.matrix())


@pytest.mark.parametrize("fn,sa,sb", [(T.dot, (2, 3), (3, 4)),
                                      (T.batched_dot, (2, 2, 3), (2, 3, 2)),
                                      (T.matmul, (2, 2, 3), (3,))])
def test_float32_gradient_stays_float32_and_matches(fn, sa, sb):
    rng = np.random.default_rng(17)
    a, b = data(rng, sa, "float32"), data(rng, sb, "float32")
    x, y = T.ftensor3() if len(sa) == 3 else T.fmatrix(), var("float32", sb)
    assert sg.grad(T.sum(fn(x, y)), x).dtype == "float32"
    verify_grad(fn, [a, b], rng=rng)
