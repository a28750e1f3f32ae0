"""Composite: a closed scalar graph as one ScalarOp, and Elemwise over it (several outputs too)."""

import pickle

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GraphTypeError, InputShapeError
from symgraph.gradient import verify_grad, verify_rop
from symgraph.graph.basic import Constant
from symgraph.scalar import ops as scal
from symgraph.scalar.composite import Composite
from symgraph.scalar.type import ScalarType
from symgraph.tensor.elemwise import Elemwise
from symgraph.tensor.shape_inference import symbolic_shapes


def const(value, dtype="float64"):
    return Constant(ScalarType(dtype), value)


def bell_composite(dtype="float64"):
    """exp(-(x*x)) * sin(x) + tanh(y) * 0.5 over fresh variables."""
    x, y = ScalarType(dtype)("x"), ScalarType(dtype)("y")
    out = scal.add(scal.mul(scal.exp(scal.neg(scal.mul(x, x))), scal.sin(x)),
                   scal.mul(scal.tanh(y), const(0.5, dtype)))
    return Composite([x, y], [out])


def bell_numpy(x, y):
    return np.exp(-(x * x)) * np.sin(x) + np.tanh(y) * 0.5


def test_impl_evaluates_the_inner_graph_on_whole_arrays():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(bell_composite().impl(x, y), bell_numpy(x, y), rtol=1e-15)


def test_str_reads_as_an_expression():
    assert str(bell_composite()) == "Composite{exp(-(i0 * i0)) * sin(i0) + tanh(i1) * 0.5}"


def test_str_parenthesises_by_precedence_and_names_shared_values():
    a, b, c = (ScalarType("float64")(n) for n in "abc")
    left = Composite([a, b, c], [scal.mul(scal.add(a, b), c)])
    right = Composite([a, b, c], [scal.sub(a, scal.sub(b, c))])
    e = scal.exp(a)
    shared = Composite([a], [scal.mul(e, e), scal.add(e, const(1.0))])
    assert str(left) == "Composite{(i0 + i1) * i2}"
    assert str(right) == "Composite{i0 - (i1 - i2)}"
    assert str(shared) == "Composite{t0 = exp(i0); t0 * t0, t0 + 1.0}"


def test_equal_inner_graphs_compare_and_hash_equal():
    a, b = bell_composite(), bell_composite()
    assert a == b and hash(a) == hash(b)
    assert a.cache_key == b.cache_key
    assert Elemwise(a) == Elemwise(b)


def test_different_constants_or_dtypes_make_different_composites():
    x = ScalarType("float64")("x")
    base = Composite([x], [scal.mul(x, const(0.5))])
    other_value = Composite([x], [scal.mul(x, const(0.25))])
    x32 = ScalarType("float32")("x")
    other_dtype = Composite([x32], [scal.mul(x32, const(0.5, "float32"))])
    assert base != other_value and base != other_dtype
    assert base.cache_key != other_value.cache_key


def test_pickle_round_trips_the_op_and_its_elemwise():
    op = bell_composite("float32")
    back = pickle.loads(pickle.dumps(op))
    assert back == op and hash(back) == hash(op) and str(back) == str(op)
    x = np.linspace(-1, 1, 5, dtype="float32")
    np.testing.assert_array_equal(back.impl(x, x), op.impl(x, x))
    assert pickle.loads(pickle.dumps(Elemwise(op))) == Elemwise(op)


def test_output_dtypes_follow_the_inner_graph():
    i = ScalarType("int32")("i")
    f = ScalarType("float32")("f")
    op = Composite([i, f], [scal.sin(i), scal.gt(f, const(0.0, "float32")), scal.mul(f, f)])
    assert op.output_dtypes == ("float64", "bool", "float32")
    outs = op.impl(np.arange(3, dtype="int32"), np.array([-1, 0, 2], dtype="float32"))
    assert [o.dtype.name for o in outs] == ["float64", "bool", "float32"]
    np.testing.assert_array_equal(outs[1], [False, False, True])


def test_each_step_keeps_the_dtype_the_unfused_graph_gives_it():
    # NumPy's sin of int8 is float16; the scalar op declares float32, as Elemwise computes it.
    i = ScalarType("int8")("i")
    op = Composite([i], [scal.mul(scal.sin(i), const(3.0, "float32"))])
    x = T.bvector("x")
    unfused = sg.function([x], T.sin(x) * np.float32(3.0), mode=sg.Mode(excluding=["fusion"], backend="numpy"))
    xv = np.arange(-5, 5, dtype="int8")
    assert op.output_dtypes == ("float32",)
    np.testing.assert_array_equal(op.impl(xv), unfused(xv))


def test_elemwise_of_a_multi_output_composite_gives_one_variable_per_output():
    x, y = T.matrix("x"), T.row("y")
    a, b = ScalarType("float64")("a"), ScalarType("float64")("b")
    op = Composite([a, b], [scal.exp(a), scal.mul(scal.exp(a), b)])
    e, m = Elemwise(op)(x, y)
    assert e.type == x.type and m.type == x.type
    f = sg.function([x, y], [e, m], mode=sg.Mode(excluding=["fusion"]))
    xv, yv = np.arange(6.0).reshape(2, 3) / 6, np.array([[1.0, 2.0, 3.0]])
    ev, mv = f(xv, yv)
    np.testing.assert_allclose(ev, np.exp(xv))
    np.testing.assert_allclose(mv, np.exp(xv) * yv)
    shapes = symbolic_shapes([e, m])
    got = sg.function([x, y], [*shapes[e], *shapes[m]], on_unused_input="ignore")(xv, yv)
    assert [int(s) for s in got] == [2, 3, 2, 3]


def test_a_length_one_value_on_a_non_broadcastable_axis_is_refused_at_run_time():
    a, b = ScalarType("float64")("a"), ScalarType("float64")("b")
    op = Composite([a, b], [scal.add(a, b), scal.mul(a, b)])
    x, y = T.matrix("x"), T.matrix("y")
    f = sg.function([x, y], Elemwise(op)(x, y), mode=sg.Mode(excluding=["fusion"]))
    with pytest.raises(InputShapeError, match="only axes declared broadcastable"):
        f(np.ones((1, 3)), np.ones((4, 3)))


def test_an_output_that_is_an_input_is_a_copy():
    a = ScalarType("float64")("a")
    op = Composite([a], [a, scal.neg(a)])
    x = np.ones(3)
    same, _ = op.impl(x)
    np.testing.assert_array_equal(same, x)
    assert not np.shares_memory(same, x)


@pytest.mark.parametrize("broadcast", [False, True], ids=["matrix+matrix", "row+matrix"])
def test_gradient_and_rop_of_the_fused_node_match_finite_differences(broadcast):
    rng = np.random.default_rng(1)
    op = bell_composite()

    def fn(x, y):
        if broadcast:
            y = y.dimshuffle("x", 0)
        return Elemwise(op)(x, y)

    points = [rng.standard_normal((3, 4)), rng.standard_normal(4 if broadcast else (3, 4))]
    verify_grad(fn, points, rng=rng)
    verify_rop(fn, points, rng=rng)


def test_gradient_of_a_multi_output_node_sums_both_paths():
    rng = np.random.default_rng(2)
    a = ScalarType("float64")("a")
    op = Composite([a], [scal.exp(a), scal.sin(scal.exp(a))])

    def fn(x):
        e, s = Elemwise(op)(x)
        return e * s + s

    verify_grad(fn, [rng.standard_normal(5)], rng=rng)
    verify_rop(fn, [rng.standard_normal(5)], rng=rng)


def test_an_input_given_twice_gets_its_gradient_once_per_position():
    a, b = ScalarType("float64")("a"), ScalarType("float64")("b")
    op = Composite([a, b], [scal.mul(a, scal.exp(b))])
    x = T.dvector("x")
    g = sg.grad(T.sum(Elemwise(op)(x, x)), x)
    xv = np.array([0.5, -1.0])
    np.testing.assert_allclose(g.eval({x: xv}), np.exp(xv) * (1 + xv))


def test_an_open_inner_graph_is_refused():
    x, free = ScalarType("float64")("x"), ScalarType("float64")("free")
    with pytest.raises(GraphTypeError, match="closed"):
        Composite([x], [scal.add(x, free)])


def test_inputs_of_another_dtype_are_refused_naming_the_composite():
    op = bell_composite("float64")
    with pytest.raises(GraphTypeError, match=r"Composite\{.*expects inputs of dtypes"):
        Elemwise(op)(T.fvector("x"), T.fvector("y"))
