"""concatenate/join, split and the stacking functions against NumPy; shapes, gradients, errors."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GraphShapeError, GraphTypeError, SymgraphError
from symgraph.gradient import verify_grad, verify_rop
from symgraph.tensor.shape_inference import infer_shape


def var(dtype, ndim):
    return T.TensorType(dtype, (None,) * ndim)()


def data(rng, shape, dtype="float64"):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-5, 6, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("shapes,axis", [
    ([(2,), (3,)], 0), ([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 0)], 1),
    ([(2, 3), (2, 5)], -1), ([(2, 3, 4), (2, 1, 4), (2, 2, 4)], -2), ([(0, 3), (0, 3)], 0),
])
def test_concatenate_matches_numpy(shapes, axis):
    rng = np.random.default_rng(0)
    values = [data(rng, s) for s in shapes]
    xs = [var("float64", len(s)) for s in shapes]
    got = sg.function(xs, T.concatenate(xs, axis=axis))(*values)
    np.testing.assert_array_equal(got, np.concatenate(values, axis=axis))


def test_join_takes_the_axis_first_as_theano():
    rng = np.random.default_rng(1)
    a, b = data(rng, (2, 3)), data(rng, (2, 2))
    x, y = T.matrix(), T.matrix()
    np.testing.assert_array_equal(sg.function([x, y], T.join(1, x, y))(a, b),
                                  np.concatenate([a, b], 1))


@pytest.mark.parametrize("dtypes", [("int32", "float32"), ("int8", "int64"), ("float32", "float64"),
                                    ("bool", "int16")])
def test_mixed_dtypes_are_upcast(dtypes):
    rng = np.random.default_rng(2)
    values = [data(rng, (2, 2), d) if d != "bool" else rng.random((2, 2)) > 0.5 for d in dtypes]
    xs = [var(d, 2) for d in dtypes]
    out = T.concatenate(xs, axis=0)
    want = np.concatenate(values, axis=0)
    assert out.dtype == want.dtype.name
    np.testing.assert_array_equal(sg.function(xs, out)(*values), want)


def test_non_contiguous_inputs():
    rng = np.random.default_rng(3)
    base = data(rng, (4, 6))
    values = [base.T, base[::-1, ::2].T]
    xs = [T.matrix(), T.matrix()]
    np.testing.assert_array_equal(sg.function(xs, T.concatenate(xs, 0))(*values),
                                  np.concatenate(values, 0))


def test_static_lengths_add_up_along_the_axis():
    x = T.matrix(shape=(2, 3))
    y = T.matrix(shape=(2, None))
    assert T.concatenate([x, T.matrix(shape=(2, 4))], axis=1).type.shape == (2, 7)
    assert T.concatenate([x, y], axis=1).type.shape == (2, None)


@pytest.mark.parametrize("sizes,axis", [([1, 3, 2], 1), ([6], 1), ([0, 2, 0], 0), ([2, 0], 0)])
def test_split_matches_numpy(sizes, axis):
    rng = np.random.default_rng(4)
    shape = (2, 6) if axis == 1 else (2, 3)
    v = data(rng, shape)
    x = T.matrix()
    got = sg.function([x], T.split(x, sizes, len(sizes), axis=axis))(v)
    want = np.split(v, np.cumsum(sizes)[:-1], axis=axis)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_split_with_symbolic_sizes_needs_n_splits():
    x, sizes = T.vector("x"), T.lvector("sizes")
    parts = T.split(x, sizes, 3)
    got = sg.function([x, sizes], parts)(np.arange(6.0), np.array([3, 1, 2]))
    assert [g.tolist() for g in got] == [[0, 1, 2], [3], [4, 5]]
    with pytest.raises(GraphTypeError, match="pass n_splits"):
        T.split(x, sizes)
    values = (np.arange(6.0), np.array([3, 1, 2]))
    for part, want in zip(parts, [3, 1, 2]):
        got = sg.function([x, sizes], infer_shape(part)[0], on_unused_input="ignore")(*values)
        assert int(got) == want


def test_split_outputs_do_not_alias_the_input():
    x = T.vector("x")
    v = np.arange(4.0)
    parts = sg.function([x], T.split(x, [2, 2]))(v)
    parts[0][0] = 100.0
    assert v[0] == 0.0


@pytest.mark.parametrize("fn,shapes", [
    (T.hstack, [(2,), (3,)]), (T.hstack, [(2, 1), (2, 3)]), (T.vstack, [(3,), (3,)]),
    (T.vstack, [(2, 3), (3,)]), (T.vstack, [(1, 2), (2, 2)]),
])
def test_hstack_and_vstack_match_numpy(fn, shapes):
    rng = np.random.default_rng(5)
    values = [data(rng, s) for s in shapes]
    xs = [var("float64", len(s)) for s in shapes]
    want = getattr(np, fn.__name__)(values)
    np.testing.assert_array_equal(sg.function(xs, fn(xs))(*values), want)


def test_theano_stack_aliases_take_arguments():
    rng = np.random.default_rng(6)
    a, b = data(rng, (2, 3)), data(rng, (2, 3))
    x, y = T.matrix(), T.matrix()
    h, v = sg.function([x, y], [T.horizontal_stack(x, y), T.vertical_stack(x, y)])(a, b)
    np.testing.assert_array_equal(h, np.hstack([a, b]))
    np.testing.assert_array_equal(v, np.vstack([a, b]))


def test_stack_uses_concatenate_for_arrays():
    rng = np.random.default_rng(7)
    a, b = data(rng, (2, 3)), data(rng, (2, 3))
    x, y = T.matrix(), T.matrix()
    for axis in (0, 1, -1):
        np.testing.assert_array_equal(sg.function([x, y], T.stack([x, y], axis=axis))(a, b),
                                      np.stack([a, b], axis=axis))


@pytest.mark.parametrize("out", ["join", "split"])
def test_infer_shape_matches_the_computed_shape(out):
    rng = np.random.default_rng(8)
    x, y = T.matrix(), T.matrix()
    a, b = data(rng, (2, 3)), data(rng, (2, 5))
    outs = [T.concatenate([x, y], axis=1)] if out == "join" else T.split(y, [1, 4], 2, axis=1)
    for o in outs:
        got = sg.function([x, y], list(infer_shape(o)) + [o], on_unused_input="ignore")(a, b)
        assert tuple(int(n) for n in got[:-1]) == got[-1].shape


def test_join_gradient_and_rop():
    rng = np.random.default_rng(9)
    points = [data(rng, (2, 3)), data(rng, (2, 1)), data(rng, (2, 2))]

    def fn(a, b, c):
        return T.concatenate([a, b, c], axis=-1)

    verify_grad(fn, points, rng=rng)
    verify_rop(fn, points, rng=rng)


def test_split_gradient_and_rop():
    rng = np.random.default_rng(10)

    def fn(x):
        middle = T.split(x, [1, 3, 2], axis=1)[1]
        return middle * middle

    verify_grad(fn, [data(rng, (2, 6))], rng=rng)
    verify_rop(fn, [data(rng, (2, 6))], rng=rng)


def test_second_derivative_through_join():
    rng = np.random.default_rng(11)

    def fn(a, b):
        return sg.grad(T.sum(T.sqr(T.concatenate([a, b]))) * T.sum(a), b)

    verify_grad(fn, [data(rng, (3,)), data(rng, (2,))], rng=rng)


def test_static_mismatch_names_the_shapes():
    with pytest.raises(GraphShapeError, match=r"shapes \(2, 3\), \(4, 3\)"):
        T.concatenate([T.matrix(shape=(2, 3)), T.matrix(shape=(4, 3))], axis=1)
    with pytest.raises(GraphShapeError, match=r"add up to 5.*length 6"):
        T.split(T.vector(shape=(6,)), [2, 3])


def test_runtime_mismatch_names_the_shapes():
    x, y = T.matrix("x"), T.matrix("y")
    # Join.perform's wording (the reference); a backend's own kernels may word it their way.
    f = sg.function([x, y], T.concatenate([x, y], axis=0), mode=sg.Mode(backend="numpy"))
    message = r"join: cannot join arrays of shapes \(2, 3\), \(2, 4\)"
    with pytest.raises(ValueError, match=message) as info:
        f(np.ones((2, 3)), np.ones((2, 4)))
    assert isinstance(info.value, SymgraphError)
    g = sg.function([x], T.split(x, [1, 2], axis=1), mode=sg.Mode(backend="numpy"))
    message = r"split: cannot cut axis 1 \(length 4\).*lengths \(1, 2\)"
    with pytest.raises(ValueError, match=message):
        g(np.ones((2, 4)))


def test_bad_arguments_are_type_errors():
    with pytest.raises(GraphTypeError, match="same ndim"):
        T.concatenate([T.matrix(), T.vector()])
    with pytest.raises(GraphTypeError, match="axis 2 is out of range"):
        T.concatenate([T.matrix(), T.matrix()], axis=2)
    with pytest.raises(GraphTypeError, match="0-d"):
        T.concatenate([T.scalar(), T.scalar()])
    with pytest.raises(GraphTypeError, match="n_splits=3 but 2 sizes"):
        T.split(T.vector(), [1, 2], 3)


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
def test_flip_matches_numpy(axis):
    v = np.arange(24.0).reshape(2, 3, 4)
    x = T.tensor3()
    np.testing.assert_array_equal(sg.function([x], T.flip(x, axis))(v), np.flip(v, axis))


def test_flip_gradient_and_rop():
    rng = np.random.default_rng(12)
    v = data(rng, (3, 2))
    verify_grad(lambda x: T.flip(x, 0) * T.arange(2.0), [v], rng=rng)
    verify_rop(lambda x: T.flip(x, 0), [v], rng=rng)
