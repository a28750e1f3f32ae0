"""Batch normalization: values against NumPy, parameter ranks, running averages, gradients, errors."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GraphShapeError, GraphTypeError
from symgraph.gradient import verify_grad, verify_rop

from .helpers import assert_shape_inferred, rand, var

N = T.nnet


def np_bn_train(x, gamma, beta, axes, eps, f, rm, rv):
    mean = x.mean(axis=axes, keepdims=True)
    var_ = x.var(axis=axes, keepdims=True)
    invstd = 1 / np.sqrt(var_ + eps)
    m = np.prod([x.shape[a] for a in axes])
    out = (x - mean) * invstd * gamma + beta
    return out, mean, invstd, rm * (1 - f) + mean * f, rv * (1 - f) + var_ * m / (m - 1) * f


AXES = [("per-activation", (0,)), ("spatial", (0, 2, 3)), ((0, 3), (0, 3)), ((1,), (1,))]


@pytest.mark.parametrize("axes,np_axes", AXES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_train_matches_numpy_with_full_rank_parameters(axes, np_axes, dtype):
    rng = np.random.default_rng(0)
    x = rand(rng, (5, 3, 4, 2), dtype) * 2 + 1
    pshape = tuple(1 if a in np_axes else s for a, s in enumerate(x.shape))
    gamma, beta, rm, rv = (rand(rng, pshape, dtype) for _ in range(4))
    rv = np.abs(rv)
    ins = [var(dtype, v.shape) for v in (x, gamma, beta, rm, rv)]
    outs = N.batch_normalization_train(ins[0], ins[1], ins[2], axes=axes, epsilon=1e-3,
                                       running_average_factor=0.3, running_mean=ins[3], running_var=ins[4])
    got = sg.function(ins, list(outs))(x, gamma, beta, rm, rv)
    want = np_bn_train(x.astype("float64"), gamma, beta, np_axes, 1e-3, 0.3, rm, rv)
    for g, w in zip(got, want):
        assert g.dtype == dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-4 if dtype == "float32" else 1e-10, atol=1e-5)


def test_train_with_parameters_of_the_kept_axes_returns_statistics_of_that_rank():
    rng = np.random.default_rng(1)
    x = rand(rng, (6, 3, 2, 2))
    gamma, beta, rm, rv = rand(rng, (3,)), rand(rng, (3,)), rand(rng, (3,)), np.ones(3)
    ins = [var("float64", v.shape) for v in (x, gamma, beta, rm, rv)]
    outs = N.batch_normalization_train(*ins[:3], axes="spatial", running_mean=ins[3], running_var=ins[4])
    out, mean, invstd, new_rm, new_rv = sg.function(ins, list(outs))(x, gamma, beta, rm, rv)
    axes = (0, 2, 3)
    col = (1, 3, 1, 1)
    want = np_bn_train(x, gamma.reshape(col), beta.reshape(col), axes, 1e-4, 0.1, rm.reshape(col),
                       rv.reshape(col))
    np.testing.assert_allclose(out, want[0])
    for got, ref in zip((mean, invstd, new_rm, new_rv), want[1:]):
        assert got.shape == (3,)
        np.testing.assert_allclose(got, ref.reshape(3))


def test_train_without_running_averages_returns_three_outputs():
    x = T.dmatrix("x")
    outs = N.batch_normalization_train(x, T.drow("g"), T.drow("b"))
    assert len(outs) == 3


@pytest.mark.parametrize("axes,np_axes", AXES[:2], ids=str)
def test_test_mode_matches_numpy(axes, np_axes):
    rng = np.random.default_rng(2)
    x = rand(rng, (4, 3, 2, 2))
    pshape = tuple(1 if a in np_axes else s for a, s in enumerate(x.shape))
    gamma, beta, mean, var_ = (rand(rng, pshape) for _ in range(4))
    var_ = np.abs(var_)
    ins = [var("float64", v.shape) for v in (x, gamma, beta, mean, var_)]
    got = sg.function(ins, N.batch_normalization_test(*ins, axes=axes, epsilon=1e-2))(x, gamma, beta, mean, var_)
    np.testing.assert_allclose(got, (x - mean) * gamma / np.sqrt(var_ + 1e-2) + beta)


@pytest.mark.parametrize("mode", ["low_mem", "high_mem"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_theano_batch_normalization_matches_numpy(mode, dtype):
    rng = np.random.default_rng(3)
    x = rand(rng, (4, 5), dtype)
    gamma, beta, mean, std = (rand(rng, (1, 5), dtype) for _ in range(4))
    std = np.abs(std) + 0.5
    ins = [var(dtype, v.shape) for v in (x, gamma, beta, mean, std)]
    got = sg.function(ins, N.batch_normalization(*ins, mode=mode))(x, gamma, beta, mean, std)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, (x - mean) * (gamma / std) + beta, rtol=1e-5)


@pytest.mark.parametrize("axes", ["per-activation", "spatial"])
def test_train_gradients_match_finite_differences(axes):
    rng = np.random.default_rng(4)
    x = rand(rng, (4, 2, 3, 2))
    p = (1, 2, 1, 1) if axes == "spatial" else (1, 2, 3, 2)
    gamma, beta = rand(rng, p), rand(rng, p)

    def out(a, g, b):
        return N.batch_normalization_train(a, T.addbroadcast(g, *_ones(p)), T.addbroadcast(b, *_ones(p)),
                                           axes=axes)[0]

    verify_grad(out, [x, gamma, beta])
    verify_rop(out, [x, gamma, beta])


def test_test_mode_gradients_match_finite_differences():
    rng = np.random.default_rng(5)
    x, g, b, m, v = rand(rng, (3, 4)), rand(rng, (4,)), rand(rng, (4,)), rand(rng, (4,)), rand(rng, (4,), low=0.5)
    verify_grad(lambda *a: N.batch_normalization_test(*a), [x, g, b, m, v])
    verify_rop(lambda *a: N.batch_normalization_test(*a), [x, g, b, m, v])


def test_shape_is_inferred():
    rng = np.random.default_rng(6)
    x, g = rand(rng, (3, 2, 4)), rand(rng, (2, 4))
    assert_shape_inferred(lambda a, b: N.batch_normalization_train(a, b, b)[0], x, g)
    assert_shape_inferred(lambda a, b: N.batch_normalization_train(a, b, b)[2], x, g)


def test_bad_axes_and_parameter_ranks_are_refused():
    x = T.dtensor4("x")
    with pytest.raises(GraphTypeError, match="axes must be 'per-activation', 'spatial' or distinct axes"):
        N.batch_normalization_train(x, x, x, axes=(0, 4))
    with pytest.raises(GraphShapeError, match="fits neither the input's rank 4 nor the rank 3"):
        N.batch_normalization_train(x, T.dmatrix("g"), T.dmatrix("b"))
    with pytest.raises(GraphTypeError, match="give both running_mean and running_var"):
        N.batch_normalization_train(x, x, x, running_mean=x)
    with pytest.raises(GraphTypeError, match="mode must be 'low_mem' or 'high_mem'"):
        N.batch_normalization(x, x, x, x, x, mode="fast")


def _ones(shape):
    return [a for a, s in enumerate(shape) if s == 1]
