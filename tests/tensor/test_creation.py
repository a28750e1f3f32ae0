"""arange, eye, identity_like, tri/tril/triu, repeat and tile against NumPy; shapes, gradients,
errors."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.config import config
from symgraph.errors import (
    DisconnectedInputError,
    GraphShapeError,
    GraphTypeError,
    SymgraphError,
)
from symgraph.gradient import verify_grad, verify_rop
from symgraph.tensor.shape_inference import infer_shape


def var(dtype, ndim):
    return T.TensorType(dtype, (None,) * ndim)()


def check_shape(inputs, out, *values):
    got = sg.function(inputs, list(infer_shape(out)) + [out], on_unused_input="ignore")(*values)
    assert tuple(int(n) for n in got[:-1]) == got[-1].shape


# ---- arange ------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [(5,), (2, 9), (2, 9, 3), (9, 2, -2), (3, 3), (5, 0), (-4, 7, 5),
                                  (0.0, 1.0, 0.1), (1.5, -2.0, -0.7), (0, 2.5, 0.5)])
def test_arange_of_constants_matches_numpy(args):
    out = T.arange(*args)
    want = np.arange(*args)
    got = sg.function([], out)()
    assert out.type.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("args", [(0, 10, 3), (10, 0, -3), (0, 0, 1), (5, 0, 1), (-3, 7, 2),
                                  (7, 7, -1)])
def test_arange_of_symbolic_ints_and_its_inferred_length(args):
    bounds = [T.lscalar() for _ in args]
    out = T.arange(*bounds)
    np.testing.assert_array_equal(sg.function(bounds, out)(*args), np.arange(*args))
    check_shape(bounds, out, *args)


def test_arange_of_symbolic_floats_and_its_inferred_length():
    start, stop = T.dscalar(), T.dscalar()
    out = T.arange(start, stop, 0.25)
    np.testing.assert_allclose(sg.function([start, stop], out)(0.1, 1.3), np.arange(0.1, 1.3, 0.25))
    check_shape([start, stop], out, 0.1, 1.3)


def test_arange_dtypes():
    assert T.arange(T.iscalar()).dtype == "int64"
    assert T.arange(3, dtype="int8").dtype == "int8"
    assert T.arange(T.fscalar(), 4).dtype == "float32"
    assert T.arange(0.5, 4).dtype == config.floatX
    assert T.arange(T.iscalar()).type.shape == (None,)


def test_arange_is_disconnected_from_its_bounds():
    n = T.dscalar()
    with pytest.raises(DisconnectedInputError):
        sg.grad(T.sum(T.arange(0.0, n, 1.0)), n)


def test_arange_zero_step_is_an_error():
    with pytest.raises(GraphShapeError, match="arange: step must not be zero"):
        T.arange(0, 5, 0)
    step = T.lscalar()
    f = sg.function([step], T.arange(0, 5, step))
    with pytest.raises(ValueError, match="arange: step must not be zero") as info:
        f(0)
    assert isinstance(info.value, SymgraphError)


# ---- eye, identity_like, tri, tril, triu --------------------------------------------------

@pytest.mark.parametrize("args", [(3,), (3, 4), (4, 3, 1), (3, 3, -2), (0,), (2, 5, 7)])
def test_eye_matches_numpy(args):
    out = T.eye(*args)
    got = sg.function([], out)()
    np.testing.assert_array_equal(got, np.eye(*args))
    assert got.dtype == config.floatX and out.type.shape == got.shape


def test_eye_of_symbolic_lengths():
    n, m = T.lscalar(), T.iscalar()
    out = T.eye(n, m, 1, dtype="int32")
    got = sg.function([n, m], out)(3, 5)
    np.testing.assert_array_equal(got, np.eye(3, 5, 1, dtype="int32"))
    assert got.dtype == np.int32
    check_shape([n, m], out, 3, 5)


def test_identity_like():
    x = T.fmatrix()
    got = sg.function([x], T.identity_like(x))(np.zeros((2, 3), "float32"))
    np.testing.assert_array_equal(got, np.eye(2, 3))
    assert got.dtype == np.float32
    with pytest.raises(GraphTypeError, match="identity_like: expected a matrix"):
        T.identity_like(T.vector())


@pytest.mark.parametrize("args", [(3,), (3, 5), (4, 3, 1), (3, 4, -1), (0, 2)])
def test_tri_matches_numpy(args):
    np.testing.assert_array_equal(sg.function([], T.tri(*args))(), np.tri(*args))


@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (2, 3, 3), (0, 2)])
@pytest.mark.parametrize("k", [0, 1, -1])
def test_tril_and_triu_match_numpy(shape, k):
    v = np.random.default_rng(0).standard_normal(shape)
    x = var("float64", len(shape))
    lo, up = sg.function([x], [T.tril(x, k), T.triu(x, k)])(v)
    np.testing.assert_array_equal(lo, np.tril(v, k))
    np.testing.assert_array_equal(up, np.triu(v, k))


def test_tril_keeps_integer_dtype():
    x = T.imatrix()
    v = np.arange(9, dtype="int32").reshape(3, 3)
    got = sg.function([x], T.tril(x))(v)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, np.tril(v))


def test_tril_and_triu_gradients_are_masks():
    rng = np.random.default_rng(1)
    v = rng.standard_normal((3, 4))
    for fn in (lambda x: T.tril(x, 1), lambda x: T.triu(x, -1)):
        verify_grad(fn, [v], rng=rng)
        verify_rop(fn, [v], rng=rng)
    x = T.matrix()
    g = sg.function([x], sg.grad(T.sum(T.tril(x)), x))(v)
    np.testing.assert_array_equal(g, np.tril(np.ones_like(v)))


def test_tril_needs_two_axes():
    with pytest.raises(GraphTypeError, match="tril: expected at least 2 axes"):
        T.tril(T.vector())


# ---- repeat ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,repeats,axis", [
    ((3,), 2, None), ((2, 3), 2, None), ((2, 3), 3, 0), ((2, 3), [1, 0, 2], 1), ((2, 3), [2], 1),
    ((2, 3), 0, -1), ((2, 3), [0, 0], 0), ((0, 3), 2, 0), ((2, 3, 2), [3, 1, 0], -2),
])
def test_repeat_matches_numpy(shape, repeats, axis):
    v = np.random.default_rng(2).standard_normal(shape)
    x = var("float64", len(shape))
    out = T.repeat(x, repeats, axis)
    got = sg.function([x], out)(v)
    np.testing.assert_array_equal(got, np.repeat(v, repeats, axis))
    check_shape([x], out, v)


@pytest.mark.parametrize("counts", [[1, 0, 2], [3]])
def test_repeat_with_symbolic_counts(counts):
    x, r = T.matrix(), T.lvector()
    v = np.arange(6.0).reshape(2, 3)
    out = x.repeat(r, axis=1)
    np.testing.assert_array_equal(sg.function([x, r], out)(v, counts), np.repeat(v, counts, 1))
    check_shape([x, r], out, v, np.array(counts))


def test_repeat_static_length():
    assert T.repeat(T.matrix(shape=(2, 3)), 2, axis=1).type.shape == (2, 6)
    assert T.repeat(T.matrix(shape=(2, None)), [1, 2], axis=0).type.shape == (3, None)


@pytest.mark.parametrize("repeats,axis", [(2, 1), ([1, 0, 3], 0), ([2], 1), (3, None)])
def test_repeat_gradient_and_rop(repeats, axis):
    rng = np.random.default_rng(3)
    v = rng.standard_normal((3, 2))
    verify_grad(lambda x: T.repeat(x, repeats, axis), [v], rng=rng)
    verify_rop(lambda x: T.repeat(x, repeats, axis), [v], rng=rng)


def test_second_derivative_through_repeat():
    rng = np.random.default_rng(4)
    verify_grad(lambda x: sg.grad(T.sum(T.sqr(T.repeat(x, [2, 0, 1]))) * 1.0, x) * x,
                [rng.standard_normal(3)], rng=rng)


def test_repeat_errors_name_the_counts():
    with pytest.raises(GraphShapeError, match="3 counts for axis 0 of length 2"):
        T.repeat(T.matrix(shape=(2, 3)), [1, 2, 3], axis=0)
    with pytest.raises(GraphShapeError, match="negative counts"):
        T.repeat(T.vector(), -1)
    x, r = T.vector(), T.lvector()
    f = sg.function([x, r], T.repeat(x, r))
    with pytest.raises(ValueError, match=r"repeat: cannot repeat axis 0 \(length 3\).*\[1, 2\]"):
        f(np.ones(3), np.array([1, 2]))


# ---- tile --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,reps", [((3,), 2), ((2, 3), (2, 1)), ((2, 3), 3),
                                        ((2, 3), (2, 1, 3)), ((2, 1, 3), (2, 2)), ((2, 3), (0, 2)),
                                        ((), (2, 3))])
def test_tile_matches_numpy(shape, reps):
    v = np.random.default_rng(5).standard_normal(shape)
    x = var("float64", len(shape))
    out = T.tile(x, reps)
    got = sg.function([x], out)(v)
    np.testing.assert_array_equal(got, np.tile(v, reps))
    check_shape([x], out, v)


def test_tile_static_shape():
    assert T.tile(T.matrix(shape=(2, None)), (3, 2)).type.shape == (6, None)
    assert T.tile(T.vector(), (2, 0)).type.shape == (2, 0)


@pytest.mark.parametrize("shape,reps", [((3,), 2), ((2, 3), (2, 1, 3)), ((2, 2), (1, 2))])
def test_tile_gradient_and_rop(shape, reps):
    rng = np.random.default_rng(6)
    v = rng.standard_normal(shape)
    verify_grad(lambda x: T.tile(x, reps), [v], rng=rng)
    verify_rop(lambda x: T.tile(x, reps), [v], rng=rng)


def test_tile_needs_constant_reps():
    with pytest.raises(GraphTypeError, match="tile: reps must be constant ints"):
        T.tile(T.vector(), T.lvector())
    with pytest.raises(GraphTypeError, match="non-negative"):
        T.tile(T.vector(), (-1,))
