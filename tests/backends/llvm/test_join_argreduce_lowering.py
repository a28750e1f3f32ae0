"""The llvm backend's Join, Split, Argmax (argmax/argmin) and CumOp (cumsum/cumprod)."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")
RNG = np.random.default_rng(5)
DTYPES = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64")


def _native(inputs, outputs):
    f = sg.function(inputs, outputs, mode=LLVM)
    assert not f._run.fallback_nodes, [str(n.op) for n in f._run.fallback_nodes]
    return f


def _draw(dtype, shape, low=0, high=100):
    if dtype == "bool":
        return RNG.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(low, high, shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def _assert_same(got, want):
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype and g.shape == w.shape, (k, g.dtype, w.dtype, g.shape, w.shape)
        np.testing.assert_array_equal(g, w, err_msg=f"output {k}")


def test_join_copies_each_piece_into_its_slot():
    a, b, c = T.dtensor3("a"), T.dtensor3("b"), T.itensor3("c")
    outs = [T.concatenate([a, b], axis=0), T.concatenate([a, b, a], axis=1), T.concatenate([b, c], axis=2),
            T.stack([a[0], b[0]], axis=1)]
    f = _native([a, b, c], outs)
    av, bv = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 3, 4))
    cv = RNG.integers(-5, 5, (2, 3, 4)).astype("int32")
    for args in [(av, bv, cv),
                 (av[::-1], np.asfortranarray(bv), cv[:, ::-1, ::2].repeat(2, axis=2)[:, :, :4]),
                 (av[:, :0], bv[:, :0], cv[:, :0])]:  # empty pieces
        want = [np.concatenate(args[:2], axis=0), np.concatenate([args[0], args[1], args[0]], axis=1),
                np.concatenate([args[1], args[2]], axis=2), np.stack([args[0][0], args[1][0]], axis=1)]
        _assert_same(f(*args), want)


def test_join_of_mismatched_pieces_names_the_piece_and_the_line():
    a, b = T.dmatrix("a"), T.dmatrix("b")
    z = T.concatenate([a, b], axis=1)  # the line in the message
    f = _native([a, b], z)
    with pytest.raises(ValueError) as info:
        f(np.zeros((2, 3)), np.zeros((3, 3)))
    msg = str(info.value)
    assert "input 1" in msg and "length 3 on axis 0" in msg and "length 2" in msg
    assert "z = T.concatenate([a, b], axis=1)" in msg


def test_split_gives_views_matching_numpy():
    x, sizes = T.dmatrix("x"), T.lvector("sizes")
    outs = T.split(x, sizes, 3, axis=1) + T.split(x, [2, 0, 1], axis=0)
    f = _native([x, sizes], outs)
    data = RNG.standard_normal((3, 5))
    for d, s in [(data, np.array([1, 0, 4])), (data[::-1, ::-1], np.array([5, 0, 0]))]:
        want = np.split(d, np.cumsum(s)[:-1], axis=1) + np.split(d, [2, 2], axis=0)
        _assert_same(f(d, s), want)


@pytest.mark.parametrize("sizes, expected", [([1, 1, 1], "adding up to 3"), ([6, -1, 0], "negative size"),
                                             ([1, 4], "sizes vector of length 2")])
def test_split_with_bad_sizes_is_refused(sizes, expected):
    x, s = T.dmatrix("x"), T.lvector("s")
    f = _native([x, s], T.split(x, s, 3, axis=1))
    with pytest.raises(ValueError, match=expected):
        f(np.zeros((2, 5)), np.array(sizes))


def test_argmax_argmin_keep_first_ties_and_first_nan():
    x = T.dmatrix("x")
    outs = [T.argmax(x), T.argmin(x), T.argmax(x, axis=0), T.argmin(x, axis=0), T.argmax(x, axis=1),
            T.argmin(x, axis=1)]
    f = _native([x], outs)
    data = RNG.integers(0, 3, (5, 6)).astype("float64")  # many ties
    with_nan = data.copy()
    with_nan[1, 2] = with_nan[3, 2] = with_nan[4, 0] = np.nan
    empty_rows = np.zeros((0, 6))
    for d in (data, data[::-1, ::-2], np.asfortranarray(with_nan), with_nan, with_nan[:, ::-1]):
        want = [np.argmax(d), np.argmin(d), np.argmax(d, axis=0), np.argmin(d, axis=0),
                np.argmax(d, axis=1), np.argmin(d, axis=1)]
        _assert_same(f(d), want)
    g = _native([x], T.argmax(x, axis=1))
    _assert_same([g(empty_rows)], [np.argmax(empty_rows, axis=1)])


def test_argmax_of_an_empty_axis_is_refused():
    x = T.dmatrix("x")
    z = T.argmin(x, axis=0)  # the line in the message
    f = _native([x], z)
    with pytest.raises(ValueError) as info:
        f(np.zeros((0, 3)))
    assert "empty" in str(info.value) and "z = T.argmin(x, axis=0)" in str(info.value)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_joins_splits_and_reduces_natively(dtype):
    x = T.tensor3("x", dtype=dtype)
    outs = [T.argmax(x, axis=1), T.argmin(x), T.cumsum(x, axis=1), T.cumprod(x), T.cumsum(x, axis=-1),
            T.concatenate([x, x[:, ::-1]], axis=1)] + T.split(x, [1, 2], axis=0)
    f = _native([x], outs)
    ref = sg.function([x], outs, mode=NUMPY)
    data = _draw(dtype, (3, 4, 5), 0, 4)
    for d in (data, data[::-1, :, ::-1]):
        _assert_same(f(d), ref(d))


def test_cumulative_ops_match_numpy_on_layouts_and_edge_shapes():
    x, s = T.fmatrix("x"), T.lscalar("s")
    outs = [T.cumsum(x), T.cumsum(x, axis=0), T.cumprod(x, axis=1), T.cumsum(s)]
    f = _native([x, s], outs)
    data = RNG.standard_normal((40, 7)).astype("float32")
    for d in (data, data[::-3, ::-1], np.asfortranarray(data), data[:0], data[:, :0]):
        want = [np.cumsum(d), np.cumsum(d, axis=0), np.cumprod(d, axis=1), np.cumsum(np.int64(4))]
        # float32 accumulates sequentially in float32, as NumPy's accumulate.
        _assert_same(f(d, 4), want)
