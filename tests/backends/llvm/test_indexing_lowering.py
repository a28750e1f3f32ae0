"""The llvm backend's indexing: Subtensor views, IncSubtensor, integer-array gathers and scatters."""

import itertools

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")
RNG = np.random.default_rng(11)
DTYPES = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64")


def _native(inputs, outputs, **kw):
    f = sg.function(inputs, outputs, mode=LLVM, **kw)
    assert not f._run.fallback_nodes, [str(n.op) for n in f._run.fallback_nodes]
    return f


def _layouts(a):
    """``a``'s values as contiguous, reversed, transposed-in-memory and stepped views."""
    rev = np.empty_like(a)[(slice(None, None, -1),) * a.ndim]
    rev[...] = a
    fortran = np.asfortranarray(a)
    stepped = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)[..., ::2]
    stepped[...] = a
    return [a, rev, fortran, stepped]


def _draw(dtype, shape):
    if dtype == "bool":
        return RNG.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(0, 100, shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


BASIC_FORMS = [
    lambda a: a[1],
    lambda a: a[-1],
    lambda a: a[1:4],
    lambda a: a[::-1],
    lambda a: a[::-2],
    lambda a: a[4:1:-1],
    lambda a: a[-2:],
    lambda a: a[10:],                  # empty: start past the end
    lambda a: a[3:1],                  # empty: stop before start
    lambda a: a[-100:100],
    lambda a: a[100:-100:-1],
    lambda a: a[:, 2:-1, ::3],
    lambda a: a[:, -1:-7:-2],
    lambda a: a[:, ::-3, 1],
    lambda a: a[None, 1, :, None],
    lambda a: a[..., -1],
    lambda a: a[2, -1, 3],
]


def test_basic_index_forms_match_numpy_on_every_layout():
    x = T.tensor3("x")
    f = _native([x], [form(x) for form in BASIC_FORMS])
    for data in _layouts(RNG.standard_normal((5, 6, 4))):
        for form, got in zip(BASIC_FORMS, f(data)):
            np.testing.assert_array_equal(got, form(data))


def test_symbolic_slice_bounds_clamp_as_python_slices():
    x = T.dtensor3("x")
    i, j, k = T.lscalar("i"), T.iscalar("j"), T.bscalar("k")
    f = _native([x, i, j, k], [x[i:j:k], x[i:], x[:, :j:k], x[:, i::k], x[::k, j % 6]])
    data = RNG.standard_normal((5, 6, 4))
    for a, b, c in itertools.product([-9, -5, -1, 0, 2, 5, 9], [-7, -1, 0, 3, 6], [-3, -1, 1, 2]):
        got = f(data, a, b, c)
        want = [data[a:b:c], data[a:], data[:, :b:c], data[:, a::c], data[::c, b % 6]]
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w, err_msg=f"start {a}, stop {b}, step {c}")


def test_subtensor_is_a_view_without_a_copy():
    from symgraph.backends.llvm.segment import build_segment

    x = T.dmatrix("x")
    f = _native([x], x[1:, ::-1][::2, 1:] * 2.0)
    fg = f.fgraph
    ir_text = build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), [])
    # Only the result of the multiplication is allocated.
    assert ir_text.count("call ptr @\"symgraph_PyArray_New\"") == 1
    data = RNG.standard_normal((7, 5))
    np.testing.assert_array_equal(f(data), data[1:, ::-1][::2, 1:] * 2.0)


def test_out_of_range_index_names_axis_index_length_and_line():
    x, i, v = T.dmatrix("x"), T.lscalar("i"), T.lvector("v")
    z = x[:, i]  # basic: the line in the message
    w = x[2:, v]  # advanced
    f, g = _native([x, i], z), _native([x, v], w)
    data = np.zeros((4, 6))
    for bad in (6, -7):
        with pytest.raises(IndexError) as info:
            f(data, bad)
        msg = str(info.value)
        assert isinstance(info.value, sg.SymgraphError)
        assert f"index {bad} is out of bounds for axis 1 with length 6" in msg and "z = x[:, i]" in msg
    with pytest.raises(IndexError) as info:
        g(data, np.array([0, 9]))
    assert "index 9 is out of bounds for axis 1 with length 6" in str(info.value)
    assert "w = x[2:, v]" in str(info.value)


def test_zero_symbolic_step_is_a_value_error():
    x, k = T.dvector("x"), T.lscalar("k")
    f = _native([x, k], [x[::k], T.set_subtensor(x[1::k], 0.0)])
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        f(np.arange(3.0), 0)


def test_unsigned_indices_do_not_count_from_the_end():
    x, v = T.dvector("x"), T.vector("v", dtype="uint64")
    f = _native([x, v], x[v])
    data = np.arange(5.0)
    np.testing.assert_array_equal(f(data, np.array([4, 0, 2], dtype="uint64")), data[[4, 0, 2]])
    with pytest.raises(IndexError, match="out of bounds"):
        f(data, np.array([2 ** 64 - 1], dtype="uint64"))


ADVANCED_FORMS = [
    lambda a, v, w, m: a[v],
    lambda a, v, w, m: a[:, v],
    lambda a, v, w, m: a[:, :, w],
    lambda a, v, w, m: a[1:, v, ::-1],
    lambda a, v, w, m: a[v, 1:3],
    lambda a, v, w, m: a[m],
    lambda a, v, w, m: a[:, m],
    lambda a, v, w, m: a[v, w],               # two arrays, adjacent: their axes stay in place
    lambda a, v, w, m: a[v, :, w],            # separated by a slice: their axes go first
    lambda a, v, w, m: a[1, :, v],            # an int joins the advanced group
    lambda a, v, w, m: a[:, 1, v],
    lambda a, v, w, m: a[None, v],
    lambda a, v, w, m: a[m, 2],
    lambda a, v, w, m: a[v, w, 1],
    lambda a, v, w, m: a[:, v, None, w],
    lambda a, v, w, m: a[v[:0]],              # an empty index
]


def test_advanced_index_forms_match_numpy():
    x, v, w, m = T.dtensor3("x"), T.lvector("v"), T.ivector("w"), T.bmatrix("m")
    f = _native([x, v, w, m], [form(x, v, w, m) for form in ADVANCED_FORMS])
    data = RNG.standard_normal((5, 6, 4))
    mm = np.array([[0, 1], [-2, 4]], dtype="int8")
    for vv, ww in [(np.array([0, -1, 3, 3, 2]), np.array([1, 0, -4, 3, 3], dtype="int32")),
                   (np.array([3]), np.array([1, 0, -4], dtype="int32"))]:  # a length 1 broadcasts
        for d in _layouts(data):
            for form, got in zip(ADVANCED_FORMS, f(d, vv, ww, mm)):
                np.testing.assert_array_equal(got, form(d, vv, ww, mm))


def test_index_arrays_that_cannot_broadcast_raise_index_error():
    x, v, w = T.dmatrix("x"), T.lvector("v"), T.lvector("w")
    f = _native([x, v, w], x[v, w])
    with pytest.raises(IndexError, match="cannot be broadcast together"):
        f(np.zeros((3, 3)), np.array([0, 1]), np.array([0, 1, 2]))


UPDATES = [
    lambda x, v, r, s: T.set_subtensor(x[1:3, ::-2], s),
    lambda x, v, r, s: T.inc_subtensor(x[1:3, ::-2, 0], r[0, :3]),
    lambda x, v, r, s: T.inc_subtensor(x[2, :, 1:], r),              # a row broadcast down the region
    lambda x, v, r, s: T.set_subtensor(x[-1], x[0] * 2),
    lambda x, v, r, s: T.inc_subtensor(x[4:1], s),                   # an empty region
    lambda x, v, r, s: T.inc_subtensor(x[v], s),                     # repeated indices accumulate
    lambda x, v, r, s: T.set_subtensor(x[v], s),
    lambda x, v, r, s: T.inc_subtensor(x[:, v, 1:], r),
    lambda x, v, r, s: T.inc_subtensor(x[v, :, v], s),
    lambda x, v, r, s: T.inc_subtensor(x[v, 2:4], x[v, 1:3]),
    lambda x, v, r, s: T.set_subtensor(x[1, v, 1:], r),
]


def test_set_and_inc_subtensor_match_the_numpy_backend():
    x, v, r, s = T.dtensor3("x"), T.lvector("v"), T.drow("r"), T.dscalar("s")
    outs = [u(x, v, r, s) for u in UPDATES]
    f = _native([x, v, r, s], outs)
    ref = sg.function([x, v, r, s], outs, mode=NUMPY)
    data = RNG.standard_normal((5, 6, 4))
    for d, vv in [(data, np.array([0, -1, 3, 3, 2])), (_layouts(data)[1], np.array([1, 1, 1])),
                  (_layouts(data)[3], np.array([], dtype="int64"))]:
        args = (d, vv, RNG.standard_normal((1, 3)), 2.5)
        before = d.copy()
        for k, (got, want) in enumerate(zip(f(*args), ref(*args))):
            np.testing.assert_allclose(got, want, rtol=1e-14, err_msg=f"update {k}")
        np.testing.assert_array_equal(d, before)  # the input is never modified


def test_repeated_indices_accumulate_like_add_at():
    x, v, y = T.dvector("x"), T.lvector("v"), T.dvector("y")
    f = _native([x, v, y], [T.inc_subtensor(x[v], y), T.set_subtensor(x[v], y)])
    vv, yy = np.array([1, 3, 1, -4, 1]), np.arange(1.0, 6.0)
    want = np.zeros(5)
    np.add.at(want, vv, yy)
    inc, put = f(np.zeros(5), vv, yy)
    np.testing.assert_array_equal(inc, want)
    assert put[1] == 5.0 and put[3] == 2.0  # the last write wins, as NumPy


def test_update_value_of_the_wrong_shape_is_refused_with_the_line():
    x, y = T.dmatrix("x"), T.dvector("y")
    z = T.set_subtensor(x[:, 1:], y)  # the line in the message
    f = _native([x, y], z)
    with pytest.raises(ValueError) as info:
        f(np.zeros((3, 4)), np.zeros(4))
    assert "length 4" in str(info.value) and "length 3" in str(info.value)
    assert "z = T.set_subtensor(x[:, 1:], y)" in str(info.value)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_is_indexed_and_updated_natively(dtype):
    x, v = T.matrix("x", dtype=dtype), T.lvector("v")
    outs = [x[1:, ::-1], T.set_subtensor(x[::2, 1], x[1::2, 0]), T.inc_subtensor(x[v, ::-1], x[0])]
    f = _native([x, v], outs)
    ref = sg.function([x, v], outs, mode=NUMPY)
    args = (_draw(dtype, (4, 3)), np.array([3, 0, 3, -1]))
    for got, want in zip(f(*args), ref(*args)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_boolean_masks_stay_on_perform():
    x = T.dvector("x")
    f = sg.function([x], x[x > 0], mode=LLVM)
    assert [type(n.op).__name__ for n in f._run.fallback_nodes] == ["AdvancedSubtensor"]
    data = RNG.standard_normal(6)
    np.testing.assert_array_equal(f(data), data[data > 0])


def test_gradient_through_set_inc_subtensor_and_repeated_gather():
    x, v = T.dmatrix("x"), T.lvector("v")
    h = T.set_subtensor(x[0], T.tanh(x[1]))
    h = T.inc_subtensor(h[:, 1:], x[:, :-1] ** 2)
    cost = (h[v] ** 2).sum() + (h[v, ::-1] * x[v]).sum()
    g = sg.grad(cost, x)
    f = _native([x, v], [cost, g])
    ref = sg.function([x, v], [cost, g], mode=NUMPY)
    args = (RNG.standard_normal((4, 3)), np.array([2, 0, 2, 2, -1]))
    for got, want in zip(f(*args), ref(*args)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
