"""sort and argsort against NumPy (stable, NaNs last); shapes, gradients, errors."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import DisconnectedInputError, GraphTypeError
from symgraph.gradient import verify_grad, verify_rop
from symgraph.tensor.shape_inference import infer_shape


def var(dtype, ndim):
    return T.TensorType(dtype, (None,) * ndim)()


@pytest.mark.parametrize("shape,axis", [((5,), -1), ((3, 4), 0), ((3, 4), 1), ((2, 3, 4), 1),
                                        ((3, 4), None), ((), None), ((0, 3), 0), ((2, 0), -1)])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
def test_sort_and_argsort_match_numpy(shape, axis, dtype):
    rng = np.random.default_rng(0)
    v = rng.integers(-3, 4, size=shape).astype(dtype)  # many ties: stability matters
    x = var(dtype, len(shape))
    s, a = sg.function([x], [T.sort(x, axis), T.argsort(x, axis)])(v)
    np.testing.assert_array_equal(s, np.sort(v, axis=axis, kind="stable"))
    np.testing.assert_array_equal(a, np.argsort(v, axis=axis, kind="stable"))
    assert s.dtype == v.dtype and a.dtype == np.int64


def test_default_axis_is_last_and_methods_work():
    rng = np.random.default_rng(1)
    v = rng.standard_normal((3, 4))
    x = T.matrix()
    s, a = sg.function([x], [x.sort(), x.argsort()])(v)
    np.testing.assert_array_equal(s, np.sort(v))
    np.testing.assert_array_equal(a, np.argsort(v, kind="stable"))


def test_nans_sort_last():
    v = np.array([3.0, np.nan, -1.0, 2.0])
    x = T.vector()
    s, a = sg.function([x], [T.sort(x), T.argsort(x)])(v)
    np.testing.assert_array_equal(s, np.sort(v))
    np.testing.assert_array_equal(a, np.argsort(v, kind="stable"))


def test_non_contiguous_input():
    rng = np.random.default_rng(2)
    v = rng.standard_normal((4, 6))[::-1, ::2].T
    x = T.matrix()
    np.testing.assert_array_equal(sg.function([x], T.sort(x, 0))(v), np.sort(v, 0))


@pytest.mark.parametrize("axis", [0, -1, None])
def test_infer_shape_matches_the_computed_shape(axis):
    x = T.matrix()
    v = np.random.default_rng(3).standard_normal((3, 5))
    for out in (T.sort(x, axis), T.argsort(x, axis)):
        got = sg.function([x], list(infer_shape(out)) + [out])(v)
        assert tuple(int(n) for n in got[:-1]) == got[-1].shape


@pytest.mark.parametrize("shape,axis", [((5,), -1), ((3, 4), 0), ((2, 3, 4), 1), ((3, 4), None)])
def test_sort_gradient_and_rop(shape, axis):
    rng = np.random.default_rng(4)
    v = rng.permutation(np.prod(shape)).reshape(shape) + rng.random(shape) * 0.5  # no ties
    verify_grad(lambda x: T.sort(x, axis), [v], rng=rng)
    verify_rop(lambda x: T.sort(x, axis), [v], rng=rng)


def test_sort_gradient_routes_back_to_the_source_positions():
    x = T.vector()
    w = T.constant(np.array([1.0, 10.0, 100.0]))
    g = sg.grad(T.sum(T.sort(x) * w), x)
    got = sg.function([x], g)(np.array([5.0, -1.0, 2.0]))
    np.testing.assert_array_equal(got, [100.0, 1.0, 10.0])


def test_second_derivative_through_sort():
    rng = np.random.default_rng(5)
    v = np.array([0.3, -1.2, 2.5, 0.9])
    verify_grad(lambda x: sg.grad(T.sum(T.sqr(T.sort(x)) * T.arange(4)), x), [v], rng=rng)


def test_argsort_is_disconnected_from_its_input():
    x = T.vector()
    with pytest.raises(DisconnectedInputError):
        sg.grad(T.sum(T.argsort(x)) * 1.0, x)


def test_bad_axis_is_a_type_error():
    with pytest.raises(GraphTypeError, match="sort: axis 2 is out of range.*axis=None"):
        T.sort(T.matrix(), 2)
    with pytest.raises(GraphTypeError, match="argsort: axis -1 is out of range"):
        T.argsort(T.scalar(), -1)
