"""Cross-entropies and one_hot: values against NumPy, stability, derivatives of every order, errors."""

import numpy as np
import pytest
import scipy.special

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import (
    GraphShapeError,
    GraphTypeError,
    InputShapeError,
    SymgraphError,
)
from symgraph.gradient import verify_grad, verify_rop
from symgraph.tensor.nnet import (
    CrossentropyCategorical1Hot,
    CrossentropyCategorical1HotGrad,
    CrossentropySoftmax,
)

from .helpers import assert_shape_inferred, rand, run, var

N = T.nnet


def probs(rng, shape, dtype="float64"):
    return scipy.special.softmax(rng.standard_normal(shape), axis=-1).astype(dtype)


def labels(rng, shape, k):
    return rng.integers(0, k, size=shape).astype("int32")


# ---- categorical_crossentropy -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_categorical_crossentropy_with_class_indices_matches_numpy(dtype):
    rng = np.random.default_rng(0)
    p, y = probs(rng, (6, 4), dtype), labels(rng, (6,), 4)
    got = run(N.categorical_crossentropy, p, y)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, -np.log(p[np.arange(6), y]), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_categorical_crossentropy_with_distributions_matches_numpy(dtype):
    rng = np.random.default_rng(1)
    p, t = probs(rng, (5, 3), dtype), probs(rng, (5, 3), dtype)
    got = run(N.categorical_crossentropy, p, t)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, -(t * np.log(p)).sum(-1), rtol=1e-5)


def test_categorical_crossentropy_takes_leading_batch_axes():
    rng = np.random.default_rng(2)
    p, y = probs(rng, (2, 3, 5)), labels(rng, (2, 3), 5)
    got = run(N.categorical_crossentropy, p, y)
    np.testing.assert_allclose(got, -np.log(np.take_along_axis(p, y[..., None], -1)[..., 0]))


def test_one_hot_targets_give_the_same_loss_as_indices():
    rng = np.random.default_rng(3)
    p, y = probs(rng, (4, 6)), labels(rng, (4,), 6)
    a = run(N.categorical_crossentropy, p, y)
    b = run(N.categorical_crossentropy, p, np.eye(6)[y])
    np.testing.assert_allclose(a, b)


def test_1hot_gradient_rop_and_second_order_match_finite_differences():
    rng = np.random.default_rng(4)
    p, y = probs(rng, (3, 4)) + 0.1, labels(rng, (3,), 4)

    def loss(v):
        return N.categorical_crossentropy(v, T.constant(y))

    verify_grad(loss, [p])
    verify_rop(loss, [p])
    verify_grad(lambda v: sg.grad((loss(v) ** 2).sum(), v), [p])
    verify_rop(lambda v: sg.grad((loss(v) ** 2).sum(), v), [p])


def test_1hot_gradient_op_inputs_are_checked_by_finite_differences():
    rng = np.random.default_rng(5)
    g, p, y = rand(rng, (3,)), probs(rng, (3, 4)) + 0.1, labels(rng, (3,), 4)
    op = CrossentropyCategorical1HotGrad()
    verify_grad(lambda a, b: op(a, b, T.constant(y)), [g, p])
    verify_rop(lambda a, b: op(a, b, T.constant(y)), [g, p])


def test_dense_gradient_matches_finite_differences_for_both_inputs():
    rng = np.random.default_rng(6)
    p, t = probs(rng, (3, 4)), probs(rng, (3, 4))
    verify_grad(N.categorical_crossentropy, [p, t])
    verify_rop(N.categorical_crossentropy, [p, t])


def test_shapes_are_inferred():
    rng = np.random.default_rng(7)
    p, y = probs(rng, (3, 4)), labels(rng, (3,), 4)
    assert_shape_inferred(N.categorical_crossentropy, p, y, op_type=CrossentropyCategorical1Hot)
    assert_shape_inferred(lambda a, b: sg.grad(N.categorical_crossentropy(a, b).sum(), a), p, y,
                          op_type=CrossentropyCategorical1HotGrad)


def test_class_index_out_of_range_names_the_index_and_class_count():
    p, y = T.dmatrix("p"), T.ivector("y")
    f = sg.function([p, y], N.categorical_crossentropy(p, y))
    with pytest.raises(IndexError, match="class index 4 is out of range for 4 classes") as e:
        f(np.full((2, 4), 0.25), np.array([0, 4], dtype="int32"))
    assert isinstance(e.value, SymgraphError)
    with pytest.raises(IndexError, match="class index -1"):
        f(np.full((2, 4), 0.25), np.array([-1, 0], dtype="int32"))


def test_targets_of_the_wrong_length_are_refused_at_run_time():
    p, y = T.dmatrix("p"), T.ivector("y")
    f = sg.function([p, y], N.categorical_crossentropy(p, y))
    with pytest.raises(InputShapeError, match=r"targets of shape \(3,\) do not fit the input of shape \(2, 4\)"):
        f(np.full((2, 4), 0.25), np.zeros(3, dtype="int32"))


def test_targets_of_the_wrong_rank_or_kind_are_refused():
    p = T.dmatrix("p")
    with pytest.raises(GraphTypeError, match=r"true_dist must be integer class indices of ndim 1.*got t of type"):
        N.categorical_crossentropy(p, T.dvector("t"))
    with pytest.raises(GraphTypeError, match="ndim 1 or distributions of ndim 2"):
        N.categorical_crossentropy(p, T.dtensor3("t"))
    with pytest.raises(GraphShapeError, match="do not fit"):
        N.categorical_crossentropy(T.TensorType("float64", (3, 4))("p"), T.TensorType("int32", (5,))("y"))


# ---- crossentropy_softmax (the fused op) ------------------------------------------------------

def np_xent_softmax(x, t):
    lsm = scipy.special.log_softmax(x.astype("float64"), axis=-1)
    if t.ndim == x.ndim:
        return -(t * lsm).sum(-1)
    return -np.take_along_axis(lsm, t[..., None].astype(int), -1)[..., 0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("dense", [False, True])
def test_crossentropy_softmax_matches_numpy(dtype, dense):
    rng = np.random.default_rng(8)
    x = rand(rng, (5, 4), dtype) * 3
    t = probs(rng, (5, 4), dtype) if dense else labels(rng, (5,), 4)
    got = run(N.crossentropy_softmax, x, t)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, np_xent_softmax(x, t), rtol=1e-5)


@pytest.mark.parametrize("dense", [False, True])
def test_crossentropy_softmax_is_finite_for_huge_logits(dense):
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]])
    y = np.array([1, 1], dtype="int32")
    t = np.eye(3)[y] if dense else y
    xs, ts = var("float64", x.shape), var(t.dtype, t.shape)
    loss = N.crossentropy_softmax(xs, ts)
    value, grad = sg.function([xs, ts], [loss, sg.grad(loss.sum(), xs)], mode="FAST_COMPILE")(x, t)
    np.testing.assert_allclose(value, [2000.0, 0.0])
    np.testing.assert_allclose(grad, scipy.special.softmax(x, axis=-1) - np.eye(3)[y])


def test_crossentropy_softmax_ignores_masked_classes_with_zero_target():
    x = np.array([[2.0, -np.inf, 1.0]])
    t = np.array([[0.5, 0.0, 0.5]])
    got = run(N.crossentropy_softmax, x, t)
    np.testing.assert_allclose(got, -0.5 * scipy.special.log_softmax([2.0, 1.0]).sum())


@pytest.mark.parametrize("dense", [False, True])
def test_crossentropy_softmax_gradients_of_every_order_match_finite_differences(dense):
    rng = np.random.default_rng(9)
    x = rand(rng, (3, 4))
    if dense:
        t = probs(rng, (3, 4))
        verify_grad(N.crossentropy_softmax, [x, t])
        verify_rop(N.crossentropy_softmax, [x, t])
        verify_grad(lambda a, b: sg.grad((N.crossentropy_softmax(a, b) ** 2).sum(), a), [x, t])
        return
    y = T.constant(labels(rng, (3,), 4))
    verify_grad(lambda a: N.crossentropy_softmax(a, y), [x])
    verify_rop(lambda a: N.crossentropy_softmax(a, y), [x])
    verify_grad(lambda a: sg.grad((N.crossentropy_softmax(a, y) ** 2).sum(), a), [x])
    verify_rop(lambda a: sg.grad((N.crossentropy_softmax(a, y) ** 2).sum(), a), [x])


def test_crossentropy_softmax_shape_is_inferred():
    rng = np.random.default_rng(10)
    assert_shape_inferred(N.crossentropy_softmax, rand(rng, (2, 3, 4)), labels(rng, (2, 3), 4),
                          op_type=CrossentropySoftmax)


# ---- binary cross-entropy ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_crossentropy_matches_numpy(dtype):
    rng = np.random.default_rng(11)
    p, t = rand(rng, (4, 3), dtype, low=0.0) * 0.9 + 0.05, rand(rng, (4, 3), dtype, low=0.0)
    got = run(N.binary_crossentropy, p, t)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, -(t * np.log(p) + (1 - t) * np.log(1 - p)), rtol=1e-5)
    verify_grad(N.binary_crossentropy, [p.astype("float64"), t.astype("float64")])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_binary_crossentropy_matches_numpy_and_is_stable(dtype):
    x = np.array([-1000.0, -3.0, 0.5, 4.0, 1000.0], dtype=dtype)
    t = np.array([1.0, 0.0, 1.0, 0.3, 0.0], dtype=dtype)
    xs, ts = var(dtype, x.shape), var(dtype, t.shape)
    loss = N.sigmoid_binary_crossentropy(xs, ts)
    value, grad = sg.function([xs, ts], [loss, sg.grad(loss.sum(), xs)])(x, t)
    assert value.dtype == dtype
    x64 = x.astype("float64")
    np.testing.assert_allclose(value, np.logaddexp(0, x64) - x64 * t, rtol=1e-6)
    np.testing.assert_allclose(grad, scipy.special.expit(x64) - t, rtol=1e-6, atol=1e-7)
    small = np.array([-2.0, 0.3, 1.5])
    verify_grad(N.sigmoid_binary_crossentropy, [small, np.array([0.2, 1.0, 0.0])])
    verify_rop(N.sigmoid_binary_crossentropy, [small, np.array([0.2, 1.0, 0.0])])


# ---- one_hot ----------------------------------------------------------------------------------

def test_one_hot_matches_numpy_for_any_rank():
    y = np.array([[0, 2], [1, 1]], dtype="int64")
    got = run(lambda v: N.one_hot(v, 3), y)
    assert got.dtype == sg.config.floatX
    np.testing.assert_array_equal(got, np.eye(3)[y])


def test_one_hot_takes_a_dtype_and_symbolic_class_count():
    y, k = T.ivector("y"), T.lscalar("k")
    f = sg.function([y, k], N.to_one_hot(y, k, dtype="int8"))
    got = f(np.array([3, 0], dtype="int32"), 4)
    assert got.dtype == "int8"
    np.testing.assert_array_equal(got, [[0, 0, 0, 1], [1, 0, 0, 0]])


def test_one_hot_refuses_float_indices():
    with pytest.raises(GraphTypeError, match="one_hot: indices must be integers, got y"):
        N.one_hot(T.dvector("y"), 3)
