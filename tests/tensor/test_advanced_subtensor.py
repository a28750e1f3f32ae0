"""Advanced indexing (integer arrays, boolean masks) and its updates, checked against NumPy."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GraphTypeError, InputShapeError, SymgraphError
from symgraph.gradient import verify_grad, verify_rop
from symgraph.tensor.advanced_subtensor import (
    AdvancedIncSubtensor,
    AdvancedIncSubtensor1,
    AdvancedSubtensor,
    AdvancedSubtensor1,
)
from symgraph.tensor.shape_inference import infer_shape

RNG = np.random.default_rng(1)


def random(shape, dtype="float64"):
    if dtype == "bool":
        return RNG.random(shape) > 0.5
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(-50, 50, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def tensor_like(value, name):
    return T.tensor(value.dtype, (None,) * value.ndim, name=name)


IV = np.array([2, 0, -1, 2])          # repeated and negative
IM = np.array([[0, 3], [1, 1]])       # a matrix of indices
MASK5 = np.array([True, False, True, True, False])

# Each case: (shape of x, index built from its array arguments, the arrays).
# Every case runs with the arrays as constants and as symbolic inputs.
ADVANCED_CASES = {
    "vector on axis 0": ((5, 3), lambda a: a, [IV]),
    "vector on axis 1": ((3, 5), lambda a: (slice(None), a), [IV]),
    "vector on last axis via ellipsis": ((2, 3, 5), lambda a: (Ellipsis, a), [IV]),
    "matrix index": ((4, 2), lambda a: a, [IM]),
    "two adjacent arrays": ((5, 4, 3), lambda a, b: (a, b), [IV, IV[::-1]]),
    "arrays broadcast together": ((4, 4), lambda a, b: (a, b), [IM, np.array([0, -1])]),
    "adjacent arrays after a slice": ((2, 5, 4, 3), lambda a, b: (slice(None), a, b), [IV, IV]),
    "arrays separated by a slice": ((5, 2, 4), lambda a, b: (a, slice(None), b), [IV, IV]),
    "int and array separated": ((3, 4, 5), lambda a: (0, slice(1, None), a), [IV]),
    "int and array adjacent": ((3, 4, 5), lambda a: (slice(None), -2, a), [IV]),
    "arrays separated by newaxis": ((5, 4, 6), lambda a, b: (slice(None), a, None, b), [IV, IV]),
    "newaxis before an array": ((5, 3), lambda a: (None, a, slice(None, None, -1)), [IV]),
    "array with reversed slice": ((6, 5), lambda a: (slice(None, None, -2), a), [IV]),
    "empty index array": ((5, 3), lambda a: a, [np.zeros(0, "int64")]),
    "mask": ((5, 3), lambda m: m, [MASK5]),
    "mask on second axis": ((3, 5), lambda m: (slice(None), m), [MASK5]),
    "all-false mask": ((5, 3), lambda m: m, [np.zeros(5, bool)]),
    "full-rank mask": ((3, 4), lambda m: m, [random((3, 4), "bool")]),
    "2-d mask on trailing axes": ((2, 3, 4), lambda m: (slice(None), m), [random((3, 4), "bool")]),
    "mask and array": ((5, 4), lambda m, a: (m, a), [MASK5, np.array([0, 1, 3])]),
    "int32 index": ((5, 3), lambda a: (slice(1, None), a), [np.array([2, 0], "int32")]),
}


def _run_case(case, symbolic, dtype="float64", extra=lambda out: []):
    shape, make_index, arrays = ADVANCED_CASES[case]
    xv = random(shape, dtype)
    x = tensor_like(xv, "x")
    syms = [tensor_like(a, f"i{k}") for k, a in enumerate(arrays)] if symbolic else arrays
    out = x[make_index(*syms)]
    inputs = [x] + (syms if symbolic else [])
    f = sg.function(inputs, [out] + list(extra(out)))
    values = [xv] + (arrays if symbolic else [])
    return f(*values), xv[make_index(*arrays)], out


@pytest.mark.parametrize("symbolic", [False, True], ids=["constant", "symbolic"])
@pytest.mark.parametrize("case", list(ADVANCED_CASES))
def test_advanced_indexing_matches_numpy(case, symbolic):
    (got,), expected, _ = _run_case(case, symbolic)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("symbolic", [False, True], ids=["constant", "symbolic"])
@pytest.mark.parametrize("case", list(ADVANCED_CASES))
def test_advanced_infer_shape_matches_the_real_shape(case, symbolic):
    (got, *dims), expected, out = _run_case(case, symbolic, extra=infer_shape)
    assert tuple(int(d) for d in dims) == got.shape == expected.shape
    assert all(s is None or s == n for s, n in zip(out.type.shape, got.shape))


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_advanced_indexing_keeps_dtype(dtype):
    (got,), expected, _ = _run_case("arrays separated by a slice", True, dtype)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_advanced_indexing_of_a_non_contiguous_input():
    base = random((8, 6))
    xv = base[::-2, 1::2]
    x = T.matrix("x")
    f = sg.function([x], [x[[2, 0, 2]], x[:, [True, False, True]], x[x > 0]])
    for got, expected in zip(f(xv), [xv[[2, 0, 2]], xv[:, [True, False, True]], xv[xv > 0]]):
        np.testing.assert_array_equal(got, expected)


def test_integer_vector_on_axis_zero_uses_advanced_subtensor1():
    x = T.matrix("x")
    assert isinstance(x[[1, 2]].owner.op, AdvancedSubtensor1)
    assert isinstance(x[T.ivector("i"), :].owner.op, AdvancedSubtensor1)
    assert isinstance(T.take(x, T.lvector("i"), axis=0).owner.op, AdvancedSubtensor1)
    assert type(x[[[1]]].owner.op) is AdvancedSubtensor
    assert type(x[:, [1]].owner.op) is AdvancedSubtensor
    assert type(x[[True, False]].owner.op) is AdvancedSubtensor


def test_symbolic_index_arrays_broadcast_at_run_time_and_in_infer_shape():
    x = T.matrix("x")
    a, b = T.lmatrix("a"), T.lvector("b")
    out = x[a, b]
    f = sg.function([x, a, b], [out, *infer_shape(out)])
    xv = random((4, 5))
    av, bv = np.array([[0], [3]]), np.array([1, 2, 4])
    got, *dims = f(xv, av, bv)
    np.testing.assert_array_equal(got, xv[av, bv])
    assert tuple(dims) == (2, 3)


def test_static_shape_of_advanced_results():
    x = T.tensor("float64", (5, 4, None))
    v = T.lvector("v")
    assert x[v].type.shape == (None, 4, None)
    assert x[:, T.lrow("r")].type.shape == (5, 1, None, None)
    assert x[0, :, v].type.shape == (None, 4)
    assert x[np.array([True, False, True, True, False])].type.shape == (3, 4, None)
    assert x[T.tensor("int64", (1,)), T.tensor("int64", (1,))].type.shape == (1, None)


def test_advanced_subtensor_op_can_be_built_from_a_table():
    op = AdvancedSubtensor((slice(None, None, -1), "?", None))
    assert str(op) == "AdvancedSubtensor{::-1, ?, newaxis}"
    x, i = T.matrix("x"), T.lvector("i")
    xv, iv = random((3, 4)), np.array([3, 0])
    np.testing.assert_array_equal(sg.function([x, i], op(x, i))(xv, iv), xv[::-1, iv, None])
    inc = AdvancedIncSubtensor((slice(None, None, -1), "?"), False)
    expected = xv.copy()
    expected[::-1, iv] += 1
    np.testing.assert_array_equal(sg.function([x, i], inc(x, 1.0, i))(xv, iv), expected)


# ---- take / nonzero / where ----------------------------------------------------------------------

@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_take_matches_numpy(axis):
    xv = random((3, 4))
    idx = np.array([[0, 2], [-1, 1]])
    x = T.matrix("x")
    got = sg.function([x], T.take(x, idx, axis=axis))(xv)
    np.testing.assert_array_equal(got, np.take(xv, idx, axis=axis))


@pytest.mark.parametrize("mode", ["wrap", "clip"])
def test_take_modes_match_numpy(mode):
    x, i = T.matrix("x"), T.lvector("i")
    xv, iv = random((3, 4)), np.array([-7, -1, 0, 5, 11])
    got = sg.function([x, i], T.take(x, i, axis=1, mode=mode))(xv, iv)
    np.testing.assert_array_equal(got, np.take(xv, iv, axis=1, mode=mode))


def test_take_with_a_scalar_index_and_refuses_float_indices():
    x = T.matrix("x")
    xv = random((3, 4))
    np.testing.assert_array_equal(sg.function([x], T.take(x, 2, axis=1))(xv), np.take(xv, 2, axis=1))
    with pytest.raises(GraphTypeError, match="integers"):
        T.take(x, T.vector("f"))


@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
def test_nonzero_matches_numpy(shape, dtype):
    xv = random(shape, dtype) * (RNG.random(shape) > 0.4)
    x = tensor_like(xv, "x")
    outs = x.nonzero()
    assert isinstance(outs, tuple) and len(outs) == len(shape)
    assert all(o.dtype == "int64" and o.ndim == 1 for o in outs)
    got = sg.function([x], list(outs) + list(infer_shape(outs[0])))(xv)
    expected = np.nonzero(xv)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    assert int(got[-1]) == expected[0].size


def test_where_with_one_argument_is_nonzero_and_flat_helpers_match_numpy():
    x = T.matrix("x")
    xv = random((3, 4)) * (RNG.random((3, 4)) > 0.5)
    f = sg.function([x], [*T.where(x > 0), T.flatnonzero(x), T.nonzero_values(x)])
    rows, cols, flat, values = f(xv)
    np.testing.assert_array_equal(rows, np.where(xv > 0)[0])
    np.testing.assert_array_equal(cols, np.where(xv > 0)[1])
    np.testing.assert_array_equal(flat, np.flatnonzero(xv))
    np.testing.assert_array_equal(values, xv[xv != 0])


def test_nonzero_of_a_scalar_is_refused():
    with pytest.raises(GraphTypeError, match="0-d"):
        T.nonzero(T.scalar("s"))


# ---- set / inc --------------------------------------------------------------------------------------

UPDATE_CASES = {
    "repeated rows": ((5, 3), lambda: np.array([1, 3, 1, 1]), (4, 3)),
    "repeated rows, broadcast row": ((5, 3), lambda: [0, 0, 4], (3,)),
    "array pairs": ((4, 4), lambda: (np.array([0, 0, 2]), np.array([1, 1, 3])), (3,)),
    "separated arrays": ((3, 2, 4), lambda: ([0, 0], slice(None), [1, 1]), (2, 2)),
    "mask": ((5, 3), lambda: MASK5, (3, 3)),
    "mask with scalar": ((3, 4), lambda: np.eye(3, 4, dtype=bool), ()),
    "newaxis and array": ((4, 3), lambda: (None, [2, 2], 0), (1, 2)),
}


@pytest.mark.parametrize("set_", [True, False], ids=["set", "inc"])
@pytest.mark.parametrize("case", list(UPDATE_CASES))
def test_advanced_set_and_inc_match_numpy(case, set_):
    shape, make_index, yshape = UPDATE_CASES[case]
    xv, yv = random(shape), random(yshape)
    x, y = tensor_like(xv, "x"), tensor_like(yv, "y")
    fn = T.set_subtensor if set_ else T.inc_subtensor
    out = fn(x[make_index()], y)
    assert isinstance(out.owner.op, AdvancedIncSubtensor)
    assert out.owner.op.set_instead_of_inc == set_
    got, *dims = sg.function([x, y], [out, *infer_shape(out)])(xv, yv)
    expected = xv.copy()
    if set_:
        expected[make_index()] = yv
    else:
        np.add.at(expected, make_index(), yv)
    np.testing.assert_array_equal(got, expected)
    assert tuple(dims) == xv.shape


def test_inc_with_repeated_indices_accumulates_into_a_copy():
    x, i = T.vector("x"), T.lvector("i")
    out = T.inc_subtensor(x[i], 1.0)
    assert isinstance(out.owner.op, AdvancedIncSubtensor1)
    xv = np.zeros(4)
    got = sg.function([x, i], out)(xv, np.array([1, 1, 3, 1]))
    np.testing.assert_array_equal(got, [0, 3, 0, 1])
    np.testing.assert_array_equal(xv, np.zeros(4))


def test_advanced_update_value_broadcasts_only_along_static_length_one_axes():
    x, y = T.matrix("x"), T.matrix("y")
    f = sg.function([x, y], T.inc_subtensor(x[[0, 2]], y))
    with pytest.raises(InputShapeError, match="broadcasts only"):
        f(np.zeros((3, 4)), np.ones((2, 1)))
    g = sg.function([x, y], T.set_subtensor(x[:, [0, 2]], y))
    with pytest.raises(InputShapeError, match=r"shape \(1, 2\)"):
        g(np.zeros((3, 4)), np.ones((1, 2)))


# ---- errors ------------------------------------------------------------------------------------------

def test_out_of_range_array_index_names_axis_index_length_and_line():
    x, i = T.matrix("x"), T.lvector("i")
    cols = x[:, i]  # the line the error must point at
    f = sg.function([x, i], cols)
    with pytest.raises(IndexError) as info:
        f(np.zeros((2, 3)), np.array([0, 7]))
    assert isinstance(info.value, SymgraphError)
    msg = str(info.value)
    assert "index 7" in msg and "axis 1" in msg and "size 3" in msg
    assert "test_advanced_subtensor.py" in msg and "cols = x[:, i]" in msg


def test_out_of_range_rows_and_increments_are_index_errors():
    x, i = T.matrix("x"), T.lvector("i")
    f = sg.function([x, i], [x[i]])
    with pytest.raises(IndexError, match="index -4 is out of bounds for axis 0 with size 3"):
        f(np.zeros((3, 2)), np.array([-4]))
    g = sg.function([x, i], T.inc_subtensor(x[i], 1.0))
    with pytest.raises(IndexError, match="index 3 is out of bounds for axis 0 with size 3"):
        g(np.zeros((3, 2)), np.array([3]))


def test_mask_of_the_wrong_shape_is_an_index_error():
    x, m = T.matrix("x"), T.tensor("bool", (None,), name="m")
    f = sg.function([x, m], x[m])
    with pytest.raises(IndexError, match=r"boolean index of shape \(2,\) does not match axes 0 to 0"):
        f(np.zeros((3, 2)), np.array([True, False]))
    with pytest.raises(IndexError, match="boolean index"):
        T.tensor("float64", (3,))[np.array([True, False])]


def test_constant_index_out_of_a_static_axis_fails_at_build_time():
    x = T.tensor("float64", (3, None))
    with pytest.raises(IndexError, match="index 5 is out of bounds for axis 0 with length 3"):
        x[[0, 5]]


def test_index_arrays_of_incompatible_static_shapes_fail_at_build_time():
    x = T.matrix("x")
    with pytest.raises(IndexError, match="cannot be broadcast"):
        x[T.tensor("int64", (2,)), T.tensor("int64", (3,))]


def test_bad_advanced_index_types_are_refused():
    x = T.matrix("x")
    with pytest.raises(TypeError, match="valid indices"):
        x[np.array([0.5, 1.0])]
    with pytest.raises(TypeError):
        x[T.vector("f")]
    with pytest.raises(IndexError, match="too many indices"):
        x[np.ones((2, 2, 2), bool)]
    with pytest.raises(GraphTypeError, match="needs an integer array"):
        AdvancedSubtensor(("?",))(x, T.lscalar("i"))


# ---- gradients ------------------------------------------------------------------------------------

GRAD_INDICES = {
    "repeated rows": lambda a: a[[1, 1, 0, 3]],
    "columns with negative index": lambda a: a[:, [-1, 0, 0]],
    "index matrix": lambda a: a[np.array([[0, 2], [2, 2]])],
    "array pairs": lambda a: a[[0, 0, 3], [1, 1, 2]],
    "separated by slice": lambda a: a[[0, 3], ::-1, None][:, [1, 1]],
    "mask": lambda a: a[np.array([[True, False, True], [False, False, True],
                                  [True, True, True], [False, True, False]])],
    "mask on axis 1": lambda a: a[:, np.array([True, False, True])],
    "take axis 1": lambda a: T.take(a, np.array([2, 2, 0]), axis=1),
    "nonzero values": lambda a: T.nonzero_values(a * (a > 0)),
}


@pytest.mark.parametrize("case", list(GRAD_INDICES))
def test_advanced_subtensor_grad_and_rop_match_finite_differences(case):
    xv = random((4, 3))
    xv[np.abs(xv) < 0.1] = 0.5  # keep finite differences away from the mask in "nonzero values"
    verify_grad(GRAD_INDICES[case], [xv])
    verify_rop(GRAD_INDICES[case], [xv])


def test_grad_of_repeated_rows_accumulates():
    x, i = T.matrix("x"), T.lvector("i")
    g = sg.grad(x[i].sum(), x)
    got = sg.function([x, i], g)(np.zeros((3, 2)), np.array([2, 2, 0, 2]))
    np.testing.assert_array_equal(got, [[1, 1], [0, 0], [3, 3]])


UPDATE_GRADS = {
    "rows": (lambda a: a[[2, 0]], (2, 3)),
    "rows, broadcast from a vector": (lambda a: a[[2, 0, 1]], (3,)),
    "repeated pairs, scalar": (lambda a: a[[0, 0, 3], [1, 1, 2]], ()),
    "mask": (lambda a: a[np.array([True, False, False, True])], (2, 3)),
    "columns, static length-1 axis": (lambda a: a[:, [2, 0]], "row"),
}


# Setting through repeated indices keeps one of the duplicates, so only "inc" is
# differentiable in y there.
UPDATE_GRAD_PARAMS = [(case, set_) for case in UPDATE_GRADS for set_ in (True, False)
                      if not (set_ and case.startswith("repeated"))]


@pytest.mark.parametrize("case, set_", UPDATE_GRAD_PARAMS,
                         ids=[f"{c}-{'set' if s else 'inc'}" for c, s in UPDATE_GRAD_PARAMS])
def test_advanced_inc_grad_and_rop_wrt_x_and_y(case, set_):
    region, yshape = UPDATE_GRADS[case]
    fn = T.set_subtensor if set_ else T.inc_subtensor
    xv = random((4, 3))
    if yshape == "row":
        yv = random((2,))

        def build(a, b):
            return fn(region(a), b.dimshuffle("x", 0)) * 1.5
    else:
        yv = random(yshape)

        def build(a, b):
            return fn(region(a), b) * 1.5
    verify_grad(build, [xv, yv])
    verify_rop(build, [xv, yv])


def test_set_with_repeated_indices_grad_wrt_x_zeroes_each_written_entry():
    x = T.vector("x")
    gx = sg.grad((T.set_subtensor(x[[1, 1, 2]], 0.0) * np.arange(4.0)).sum(), x)
    f = sg.function([x], gx, on_unused_input="ignore")  # the gradient is data-independent
    np.testing.assert_array_equal(f(np.ones(4)), [0, 0, 0, 3])


def test_second_derivative_through_advanced_indexing_and_its_update():
    def gradient(a):
        return sg.grad((T.inc_subtensor(a[[0, 2, 2]], a[[1, 1, 0]] ** 2) ** 2).sum(), a)

    xv = random((3,))
    verify_grad(gradient, [xv])  # Hessian rows by reverse mode
    verify_rop(gradient, [xv])  # Hessian-vector products by forward mode over the gradient
