"""function(): inputs, outputs, updates, givens, In/Out, ownership and pickling."""

import pickle
import warnings

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import (
    ArgumentCountError, GraphTypeError, InputShapeError, InputTypeError, MissingInputError,
    UnusedInputError,
)


def test_single_and_multiple_outputs():
    x = T.dvector("x")
    f = sg.function([x], x * 2)
    np.testing.assert_allclose(f([1.0, 2.0]), [2.0, 4.0])
    g = sg.function([x], [x * 2, T.exp(x)])
    a, b = g([0.0, 1.0])
    np.testing.assert_allclose(a, [0.0, 2.0])
    np.testing.assert_allclose(b, np.exp([0.0, 1.0]))
    assert isinstance(g([1.0]), list)


def test_no_outputs_only_updates():
    w = sg.shared(np.zeros(2), name="w")
    step = sg.function([], updates=[(w, w + 1)])
    assert step() == []
    step()
    np.testing.assert_allclose(w.get_value(), [2.0, 2.0])


def test_updates_are_computed_from_values_before_the_call_and_applied_together():
    a = sg.shared(np.array(1.0), name="a")
    b = sg.shared(np.array(10.0), name="b")
    swap = sg.function([], [a + b], updates=[(a, b), (b, a)])
    (total,) = swap()
    assert total == 11.0
    assert a.get_value() == 10.0 and b.get_value() == 1.0


def test_updates_accept_a_dict_and_the_output_sees_old_values():
    w = sg.shared(np.array([1.0, 2.0]), name="w")
    f = sg.function([], w.sum(), updates={w: w * 10})
    assert f() == 3.0
    assert f() == 30.0


def test_update_with_wrong_dtype_is_refused_at_compile_time():
    w = sg.shared(np.zeros(2, dtype="float32"), name="w")
    x = T.dvector("x")
    with pytest.raises(GraphTypeError, match=r"updates: the new value of w.*float64.*astype\('float32'\)"):
        sg.function([x], [], updates=[(w, w + x)])


def test_givens_replace_variables_before_compiling():
    x, y = T.dscalar("x"), T.dscalar("y")
    z = x * 2 + 1
    f = sg.function([y], z, givens={x: y * y})
    assert f(3.0) == 19.0
    w = sg.shared(np.array(5.0), name="w")
    g = sg.function([x], w * x, givens=[(w, x)])
    assert g(3.0) == 9.0


def test_in_default_values_and_keyword_arguments():
    x, y = T.dscalar("x"), T.dscalar("y")
    f = sg.function([x, sg.In(y, value=10.0)], x + y)
    assert f(1.0) == 11.0
    assert f(1.0, 2.0) == 3.0
    assert f(x=1.0, y=5.0) == 6.0
    assert f(1.0, y=7.0) == 8.0
    with pytest.raises(ArgumentCountError, match="given twice"):
        f(1.0, x=2.0)
    with pytest.raises(ArgumentCountError, match="no input named 'z'"):
        f(1.0, z=2.0)


def test_wrong_argument_count_names_the_inputs():
    x, y = T.dvector("x"), T.dvector("y")
    f = sg.function([x, y], x + y, name="adder")
    with pytest.raises(ArgumentCountError, match=r"function 'adder' takes 2 arguments \(x, y\); missing y"):
        f([1.0])
    with pytest.raises(TypeError, match="got 3"):
        f([1.0], [1.0], [1.0])


def test_wrong_dtype_is_refused_unless_downcast_is_allowed():
    x = T.fvector("x")
    f = sg.function([x], x * 2)
    with pytest.raises(InputTypeError) as info:
        f(np.array([1.5, 2.5]))
    msg = str(info.value)
    assert "x (argument 0" in msg and "float32" in msg and "float64" in msg
    assert "allow_input_downcast" in msg
    assert "test_function.py" in msg and 'x = T.fvector("x")' in msg
    assert isinstance(info.value, TypeError)
    # Python floats may become float32 as in Theano; safe upcasts are fine.
    np.testing.assert_allclose(f([1.5, 2.5]), [3.0, 5.0])
    np.testing.assert_allclose(f(np.array([1, 2], dtype="int8")), [2.0, 4.0])
    g = sg.function([x], x * 2, allow_input_downcast=True)
    assert g(np.array([1.5])).dtype == np.float32


def test_lossy_integer_conversion_is_refused():
    i = T.bvector("i")
    f = sg.function([i], i + 1)
    with pytest.raises(InputTypeError, match="int8"):
        f(np.array([1000], dtype="int64"))
    np.testing.assert_array_equal(f([1, 2]), [2, 3])
    with pytest.raises(InputTypeError):
        f([1000])


def test_wrong_rank_and_static_shape_raise_value_errors_naming_the_input():
    x = T.dmatrix("x")
    r = T.drow("r")
    f = sg.function([x, r], x + r)
    with pytest.raises(InputShapeError, match=r"x \(argument 0.*ndim 2.*ndim 1"):
        f(np.ones(3), np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"r \(argument 1.*length 1 on axis 0"):
        f(np.ones((2, 3)), np.ones((2, 3)))


def test_shape_mismatch_at_run_time_names_the_op_and_the_user_line():
    x, y = T.dvector("x"), T.dvector("y")
    z = x * y  # the line in the message
    f = sg.function([x, y], z)
    with pytest.raises(ValueError) as info:
        f(np.ones(3), np.ones(4))
    msg = str(info.value)
    assert isinstance(info.value, sg.SymgraphError)
    assert "mul" in msg and "z = x * y" in msg


def test_runtime_length_one_does_not_broadcast_along_a_non_broadcastable_axis():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = sg.function([x, y], x + y)
    with pytest.raises(ValueError, match="only axes declared broadcastable"):
        f(np.ones((2, 3)), np.ones((1, 3)))


def test_failed_call_applies_no_update():
    w = sg.shared(np.arange(3.0), name="w")
    c = sg.shared(np.array(0.0), name="c")
    x = T.dvector("x")
    f = sg.function([x], (w * x).sum(), updates=[(c, c + 1), (w, w * x)])
    before = w.get_value()
    with pytest.raises(ValueError):
        f(np.ones(4))
    np.testing.assert_array_equal(w.get_value(), before)
    assert c.get_value() == 0.0
    f(np.ones(3))
    assert c.get_value() == 1.0


def test_unused_input_policy():
    x, y = T.dscalar("x"), T.dscalar("y")
    with pytest.raises(UnusedInputError, match=r"input y \(argument 1\) is not used"):
        sg.function([x, y], x * 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sg.function([x, y], x * 2, on_unused_input="warn")
    assert any("not used" in str(w.message) for w in caught)
    f = sg.function([x, y], x * 2, on_unused_input="ignore")
    assert f(1.0, 2.0) == 2.0


def test_missing_input_names_the_variable_and_its_line():
    x, y = T.dscalar("x"), T.dscalar("y")
    with pytest.raises(MissingInputError, match=r"needs a value for y") as info:
        sg.function([x], x + y)
    assert 'T.dscalar("y")' in str(info.value) and "test_function.py" in str(info.value)


def test_calls_never_modify_inputs_and_return_fresh_arrays():
    x = T.dvector("x")
    w = sg.shared(np.ones(3), name="w")
    f = sg.function([x], [x, x.T, w, x + 1, x + 1])
    a = np.arange(3.0)
    out = f(a)
    for o in out[:3]:
        assert not np.shares_memory(o, a) and not np.shares_memory(o, w.get_value(borrow=True))
    assert not np.shares_memory(out[3], out[4])
    out[0][:] = 99
    np.testing.assert_array_equal(a, [0.0, 1.0, 2.0])
    again = f(a)
    assert not np.shares_memory(again[3], out[3])


def test_updated_shared_value_never_aliases_the_callers_array_or_an_output():
    x = T.dvector("x")
    w = sg.shared(np.zeros(3), name="w")
    f = sg.function([x], w + 0, updates=[(w, x)])
    a = np.ones(3)
    f(a)
    a[:] = 5
    np.testing.assert_array_equal(w.get_value(), [1.0, 1.0, 1.0])
    g = sg.function([x], x * 2, updates=[(w, x * 2)])
    out = g(a)
    assert not np.shares_memory(out, w.get_value(borrow=True))


def test_out_borrow_may_skip_the_copy():
    x = T.dvector("x")
    f = sg.function([x], sg.Out(x, borrow=True))
    a = np.ones(2)
    assert f(a) is a or np.shares_memory(f(a), a)


def test_trust_input_skips_conversion():
    x = T.dvector("x")
    f = sg.function([x], x + 1)
    f.trust_input = True
    np.testing.assert_array_equal(f(np.zeros(2)), [1.0, 1.0])


def test_shared_get_and_set_value_copy_unless_borrowed():
    v = np.zeros(3)
    w = sg.shared(v, name="w")
    v[0] = 1
    assert w.get_value()[0] == 0
    w.get_value()[1] = 5
    assert w.get_value()[1] == 0
    w.get_value(borrow=True)[2] = 7
    assert w.get_value()[2] == 7
    new = np.ones(4)
    w.set_value(new)
    new[0] = 3
    assert w.get_value()[0] == 1 and w.get_value().shape == (4,)
    with pytest.raises(InputShapeError):
        w.set_value(np.ones((2, 2)))
    s = sg.shared(3.0)
    assert s.dtype == "float64" and s.ndim == 0


def test_functions_and_shared_variables_pickle():
    x = T.dvector("x")
    w = sg.shared(np.array([1.0, 2.0]), name="w")
    f = sg.function([x], (w * x).sum(), updates=[(w, w + 1)], name="f")
    f([1.0, 1.0])
    g = pickle.loads(pickle.dumps(f))
    assert g.name == "f"
    assert g([1.0, 1.0]) == f([1.0, 1.0])
    w2 = pickle.loads(pickle.dumps(w))
    np.testing.assert_array_equal(w2.get_value(), w.get_value())
    # Pickled together, the function and its shared variable stay connected.
    g2, w3 = pickle.loads(pickle.dumps((f, w)))
    before = w3.get_value()
    g2([0.0, 0.0])
    np.testing.assert_array_equal(w3.get_value(), before + 1)


def test_modes_and_unknown_backend():
    x = T.dscalar("x")
    for mode in ("FAST_RUN", "FAST_COMPILE", sg.Mode(backend="numpy"), "numpy"):
        assert sg.function([x], x + 1, mode=mode)(1.0) == 2.0
    with pytest.raises(sg.SymgraphError, match="unknown backend 'tpu'"):
        sg.function([x], x + 1, mode=sg.Mode(backend="tpu"))


def test_nan_guard_names_the_op_that_produced_nan():
    x = T.dvector("x")
    y = T.log(x)  # produces NaN for negative input
    f = sg.function([x], y * 2, mode=sg.Mode(nan_guard=True))
    with pytest.raises(FloatingPointError, match="nan_guard: log produced NaN") as info:
        f([-1.0])
    assert "y = T.log(x)" in str(info.value)
    g = sg.function([x], y * 2)
    assert np.isnan(g([-1.0])[0])


def test_eval_compiles_and_runs():
    x = T.dvector("x")
    np.testing.assert_allclose((x * 3).eval({x: np.ones(2)}), [3.0, 3.0])
    assert T.constant(2.0).eval() == 2.0
