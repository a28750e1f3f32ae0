"""Basic indexing (Subtensor) and its updates (IncSubtensor), checked against NumPy."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import (
    GraphShapeError,
    GraphTypeError,
    InputShapeError,
    SymgraphError,
)
from symgraph.gradient import verify_grad, verify_rop
from symgraph.tensor.shape_inference import infer_shape
from symgraph.tensor.subtensor import IncSubtensor, Subtensor

RNG = np.random.default_rng(0)


def random(shape, dtype="float64"):
    if dtype == "bool":
        return RNG.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-50, 50, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def tensor_like(value, name="x"):
    return T.tensor(value.dtype, (None,) * value.ndim, name=name)


# Each case: (shape, index built from the ints `args`, args).  Every case runs
# twice: with the args as constants, and as symbolic int64 scalars.
BASIC_CASES = {
    "int": ((5, 4), lambda a: a, (2,)),
    "negative int": ((5, 4), lambda a: a, (-1,)),
    "int on second axis": ((5, 4), lambda a: (slice(None), a), (-3,)),
    "all ints": ((5, 4, 3), lambda a, b, c: (a, b, c), (4, -4, 1)),
    "slice": ((7, 3), lambda a, b: slice(a, b), (1, 5)),
    "slice negative bounds": ((7, 3), lambda a, b: slice(a, b), (-5, -1)),
    "slice clipped bounds": ((7, 3), lambda a, b: slice(a, b), (-100, 100)),
    "slice empty": ((7, 3), lambda a, b: slice(a, b), (5, 2)),
    "slice step": ((9, 2), lambda a, b, c: slice(a, b, c), (1, 8, 3)),
    "reverse": ((6, 2), lambda c: slice(None, None, c), (-1,)),
    "negative step bounds": ((8, 3), lambda a, b, c: slice(a, b, c), (5, 1, -2)),
    "negative step negative bounds": ((8, 3), lambda a, b, c: slice(a, b, c), (-2, -7, -3)),
    "negative step clipped": ((8, 3), lambda a, b, c: slice(a, b, c), (100, -100, -3)),
    "negative step empty": ((8, 3), lambda a, b, c: slice(a, b, c), (1, 5, -1)),
    "start only": ((6, 3), lambda a: (slice(None), slice(a, None)), (1,)),
    "stop only negative step": ((6, 3), lambda b: slice(None, b, -1), (2,)),
    "int and slice": ((4, 6, 2), lambda a, b: (a, slice(b, None, 2)), (3, 1)),
    "ellipsis": ((3, 4, 5), lambda a: (Ellipsis, a), (2,)),
    "ellipsis in the middle": ((3, 4, 5, 2), lambda a, b: (a, Ellipsis, b), (1, 0)),
    "newaxis": ((3, 4), lambda a: (None, a, None), (1,)),
    "newaxis after ellipsis": ((3, 4), lambda a: (slice(a, None), Ellipsis, None), (1,)),
    "vector int": ((6,), lambda a: a, (5,)),
}


def _build(case, symbolic):
    shape, make_index, args = BASIC_CASES[case]
    syms = [T.lscalar(f"a{k}") for k in range(len(args))] if symbolic else list(args)
    return shape, make_index, args, syms


@pytest.mark.parametrize("symbolic", [False, True], ids=["constant", "symbolic"])
@pytest.mark.parametrize("case", list(BASIC_CASES))
def test_basic_indexing_matches_numpy(case, symbolic):
    shape, make_index, args, syms = _build(case, symbolic)
    xv = random(shape)
    x = tensor_like(xv)
    out = x[make_index(*syms)]
    inputs = [x] + [s for s in syms if isinstance(s, sg.graph.basic.Variable)]
    f = sg.function(inputs, out)
    expected = xv[make_index(*args)]
    got = f(xv, *args[: len(inputs) - 1])
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("symbolic", [False, True], ids=["constant", "symbolic"])
@pytest.mark.parametrize("case", list(BASIC_CASES))
def test_basic_infer_shape_matches_the_real_shape(case, symbolic):
    shape, make_index, args, syms = _build(case, symbolic)
    xv = random(shape)
    x = tensor_like(xv)
    out = x[make_index(*syms)]
    inputs = [x] + [s for s in syms if isinstance(s, sg.graph.basic.Variable)]
    f = sg.function(inputs, [out, *infer_shape(out)])
    got, *dims = f(xv, *args[: len(inputs) - 1])
    assert tuple(int(d) for d in dims) == got.shape


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_basic_indexing_keeps_dtype_on_non_contiguous_input(dtype):
    base = random((6, 8), dtype)
    xv = base[::2, ::-3]  # strided and reversed: not contiguous
    x = tensor_like(xv)
    f = sg.function([x], [x[1:, ::-1], x[-1], x[None, :, 1]])
    for got, expected in zip(f(xv), [xv[1:, ::-1], xv[-1], xv[None, :, 1]]):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_static_shape_is_computed_from_constant_bounds():
    x = T.tensor("float64", (5, None, 1))
    assert x[1:4].type.shape == (3, None, 1)
    assert x[::-2, 0].type.shape == (3, 1)
    assert x[None, 2:2].type.shape == (1, 0, None, 1)
    assert x[:, :, 0:1].type.shape == (5, None, 1)
    i = T.lscalar("i")
    assert x[i:].type.shape == (None, None, 1)
    assert x[:, i].type.shape == (5, 1)


def test_empty_and_ellipsis_index_is_a_view_op():
    x = T.matrix("x")
    for out in (x[:], x[...], x[()]):
        assert isinstance(out.owner.op, Subtensor) and out.owner.op.idx_list == ()
        assert out.type == x.type
    assert x[0, :].owner.op == x[0].owner.op  # trailing full slices are dropped


def test_subtensor_output_is_a_view_but_function_output_is_not_aliased():
    assert Subtensor((0,)).view_map == {0: [0]}
    x = T.vector("x")
    xv = np.arange(5.0)
    out = sg.function([x], x[1:])(xv)
    out[:] = -1
    np.testing.assert_array_equal(xv, np.arange(5.0))


def test_subtensor_op_can_be_built_from_slices_and_symbolic_parts():
    op = Subtensor((slice(1, "?"), 0, None, slice(None, None, -1)))
    assert op.idx_list == ((1, "?", None), 0, None, (None, None, -1))
    assert op == Subtensor(((1, "?", None), 0, None, (None, None, -1)))
    assert str(op) == "Subtensor{1:?, 0, newaxis, ::-1}"
    x = T.tensor3("x")
    stop = T.lscalar("stop")
    out = op(x, stop)
    xv = random((4, 3, 5))
    np.testing.assert_array_equal(sg.function([x, stop], out)(xv, 3), xv[1:3, 0, None, ::-1])


def test_shape_vector_indexing_feeds_reshape_infer_shape():
    x = T.matrix("x")
    y = x.reshape((x.shape[1], -1))
    f = sg.function([x], [y, *infer_shape(y)])
    got, *dims = f(random((2, 6)))
    assert got.shape == (6, 2) and tuple(dims) == (6, 2)


def test_cumsum_gradient_uses_reversed_slices():
    x = T.matrix("x")
    g = sg.grad((T.cumsum(x, axis=1) * np.arange(3.0)).sum(), x)
    xv = random((2, 3))
    expected = np.cumsum(np.arange(3.0)[::-1])[::-1] * np.ones((2, 1))
    np.testing.assert_allclose(sg.function([x], g)(xv), expected)
    verify_grad(lambda a: T.cumsum(a, axis=0), [xv])


# ---- set_subtensor / inc_subtensor -------------------------------------------------------------

UPDATE_CASES = {
    "row": ((4, 3), lambda: 1, (3,)),
    "block": ((5, 4), lambda: (slice(1, 4), slice(None, None, 2)), (3, 2)),
    "reversed with broadcast": ((5, 4), lambda: slice(None, None, -2), (4,)),
    "scalar into int index": ((5, 4), lambda: (2, -1), ()),
    "newaxis": ((5, 4), lambda: (None, 1, slice(1, 3)), (1, 2)),
    "whole": ((3, 2), lambda: Ellipsis, (3, 2)),
}


@pytest.mark.parametrize("set_", [True, False], ids=["set", "inc"])
@pytest.mark.parametrize("case", list(UPDATE_CASES))
def test_set_and_inc_subtensor_match_numpy(case, set_):
    shape, make_index, yshape = UPDATE_CASES[case]
    xv, yv = random(shape), random(yshape)
    x, y = tensor_like(xv), tensor_like(yv, "y")
    fn = T.set_subtensor if set_ else T.inc_subtensor
    out = fn(x[make_index()], y)
    assert isinstance(out.owner.op, IncSubtensor) and out.owner.op.set_instead_of_inc == set_
    f = sg.function([x, y], [out, *infer_shape(out)])
    got, *dims = f(xv, yv)
    expected = xv.copy()
    if set_:
        expected[make_index()] = yv
    else:
        expected[make_index()] += yv
    np.testing.assert_array_equal(got, expected)
    assert tuple(dims) == xv.shape


def test_inc_subtensor_never_modifies_its_input():
    x = T.vector("x")
    xv = np.arange(4.0)
    out = sg.function([x], T.inc_subtensor(x[1:3], 10.0))(xv)
    np.testing.assert_array_equal(out, [0, 11, 12, 3])
    np.testing.assert_array_equal(xv, np.arange(4.0))


def test_set_subtensor_with_symbolic_bounds_and_python_scalar():
    x = T.imatrix("x")
    i, j = T.lscalar("i"), T.lscalar("j")
    out = T.set_subtensor(x[i:j, -1], 7)
    assert out.dtype == "int32"
    xv = random((5, 3), "int32")
    expected = xv.copy()
    expected[1:4, -1] = 7
    np.testing.assert_array_equal(sg.function([x, i, j], out)(xv, 1, 4), expected)


def test_update_value_is_cast_within_its_kind():
    x = T.fmatrix("x")
    out = T.inc_subtensor(x[0], T.dvector("y"))
    assert out.dtype == "float32"
    with pytest.raises(GraphTypeError, match="float64 to int32"):
        T.set_subtensor(T.imatrix("m")[0], T.dvector("v"))


def test_update_of_a_non_indexing_result_is_refused():
    x = T.matrix("x")
    with pytest.raises(GraphTypeError, match="result of indexing"):
        T.set_subtensor(x, 1.0)
    with pytest.raises(GraphTypeError, match="result of indexing"):
        T.inc_subtensor(x * 2, 1.0)


def test_update_value_with_too_many_axes_is_refused():
    x = T.matrix("x")
    with pytest.raises(GraphShapeError, match="more axes"):
        T.set_subtensor(x[0], T.matrix("y"))
    with pytest.raises(GraphShapeError, match="length 3"):
        T.set_subtensor(T.tensor("float64", (4, 2))[1:3], T.tensor("float64", (3, 2)))


def test_update_value_broadcasts_only_along_static_length_one_axes():
    x, y = T.matrix("x"), T.matrix("y")
    f = sg.function([x, y], T.set_subtensor(x[1:3], y))
    with pytest.raises(InputShapeError, match=r"shape \(2, 1\).*\(2, 3\)"):
        f(random((4, 3)), random((2, 1)))
    col = T.col("c")
    got = sg.function([x, col], T.set_subtensor(x[1:3], col))(np.zeros((4, 3)), np.ones((2, 1)))
    np.testing.assert_array_equal(got, [[0] * 3, [1] * 3, [1] * 3, [0] * 3])


# ---- errors ----------------------------------------------------------------------------------

def test_out_of_range_index_at_run_time_names_axis_index_length_and_line():
    x = T.matrix("x")
    i = T.lscalar("i")
    picked = x[1, i]  # the line the error must point at
    f = sg.function([x, i], picked)
    with pytest.raises(IndexError) as info:
        f(np.zeros((3, 4)), -5)
    assert isinstance(info.value, SymgraphError)
    msg = str(info.value)
    assert "index -5" in msg and "axis 1" in msg and "length 4" in msg
    assert "test_subtensor.py" in msg and "picked = x[1, i]" in msg


def test_out_of_range_set_subtensor_at_run_time_is_an_index_error():
    x = T.vector("x")
    i = T.lscalar("i")
    f = sg.function([x, i], T.set_subtensor(x[i], 0.0))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with length 3"):
        f(np.zeros(3), 3)


def test_out_of_range_constant_index_on_a_static_axis_fails_at_build_time():
    x = T.tensor("float64", (3, None))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with length 3"):
        x[3]
    with pytest.raises(IndexError, match="index -4"):
        x[-4, 1]


def test_too_many_indices_and_bad_index_types_are_refused():
    x = T.matrix("x")
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(TypeError, match="valid indices"):
        x[1.5]
    with pytest.raises(TypeError, match="slice indices must be integers"):
        x[0.5:]
    with pytest.raises(TypeError, match="slice indices must be integers"):
        x[: T.scalar("s")]
    with pytest.raises(TypeError, match="boolean"):
        x[True]


def test_zero_slice_step_is_a_value_error():
    x = T.vector("x")
    with pytest.raises(ValueError, match="step cannot be zero"):
        x[::0]
    s = T.lscalar("s")
    f = sg.function([x, s], x[::s])
    with pytest.raises(ValueError, match="step cannot be zero"):
        f(np.zeros(3), 0)


# ---- gradients -----------------------------------------------------------------------------

GRAD_INDICES = {
    "int": lambda a: a[1],
    "slice": lambda a: a[1:3],
    "negative step": lambda a: a[::-2, 1:],
    "int and reversed slice": lambda a: a[-1, ::-1],
    "newaxis": lambda a: a[None, 1:, 2],
    "overlapping reuse": lambda a: a[1:] * a[:-1],
}


@pytest.mark.parametrize("case", list(GRAD_INDICES))
def test_subtensor_grad_and_rop_match_finite_differences(case):
    xv = random((4, 5))
    verify_grad(GRAD_INDICES[case], [xv])
    verify_rop(GRAD_INDICES[case], [xv])


def test_subtensor_grad_with_symbolic_bounds():
    x = T.matrix("x")
    i = T.lscalar("i")
    g = sg.grad((x[i:, ::-1] ** 2).sum(), x)
    xv = random((3, 2))
    expected = 2 * xv
    expected[:1] = 0
    np.testing.assert_allclose(sg.function([x, i], g)(xv, 1), expected)


UPDATE_GRADS = {
    "block": (lambda a: a[1:3, ::-1], (2, 4)),
    "row broadcast from a vector": (lambda a: a[::2], (4,)),
    "static length-1 axis": (lambda a: a[1:3], "col"),
    "scalar": (lambda a: a[0, 1], ()),
}


@pytest.mark.parametrize("set_", [True, False], ids=["set", "inc"])
@pytest.mark.parametrize("case", list(UPDATE_GRADS))
def test_inc_subtensor_grad_and_rop_wrt_x_and_y(case, set_):
    region, yshape = UPDATE_GRADS[case]
    fn = T.set_subtensor if set_ else T.inc_subtensor
    xv = random((3, 4))
    if yshape == "col":
        yv = random((2,))

        def build(a, b):
            return fn(region(a), b.dimshuffle(0, "x")) * 1.5
    else:
        yv = random(yshape)

        def build(a, b):
            return fn(region(a), b) * 1.5
    verify_grad(build, [xv, yv])
    verify_rop(build, [xv, yv])


def test_set_subtensor_grad_wrt_x_zeroes_the_region():
    x, y = T.matrix("x"), T.vector("y")
    gx, gy = sg.grad(T.set_subtensor(x[1], y).sum() * 2, [x, y])
    f = sg.function([x, y], [gx, gy], on_unused_input="ignore")  # data-independent
    gxv, gyv = f(np.ones((3, 2)), np.ones(2))
    np.testing.assert_array_equal(gxv, [[2, 2], [0, 0], [2, 2]])
    np.testing.assert_array_equal(gyv, [2, 2])


def test_integer_input_gets_a_zero_gradient_and_index_inputs_are_disconnected():
    x = T.imatrix("x")
    i = T.lscalar("i")
    w = T.vector("w")
    cost = (T.cast(x[i], "float64") * w).sum()
    gx, gw = sg.grad(cost, [x, w])
    assert gx.dtype == sg.config.floatX
    xv = random((2, 3), "int32")
    np.testing.assert_array_equal(sg.function([x, i, w], gw)(xv, 1, np.ones(3)), xv[1])
    node = x[i].owner
    assert node.op.connection_pattern(node) == [[True], [False]]


def test_second_derivative_through_subtensor():
    x = T.vector("x")
    cost = (x[1:] ** 3).sum()
    g = sg.grad(cost, x)
    h = sg.grad(g[2], x)
    xv = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(sg.function([x], h)(xv), [0, 0, 18])


def test_a_full_slice_keeps_the_axis_length_symbolically():
    from symgraph.tensor.shape_inference import infer_shape

    x = T.matrix("x")
    rows, cols = infer_shape(x[:, 2:5])
    assert rows is infer_shape(x)[0]
    assert infer_shape(x[::-1])[0] is infer_shape(x)[0]
    assert cols is not infer_shape(x)[1]
