"""Shared-variable updates written over the shared value's own memory (backends/llvm/inplace.py).

Each test checks the values against the numpy backend, and where the update
may be written in place, that the shared variable still holds the same array
(no new array per call); failures must leave every shared value untouched.
"""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import InputShapeError

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")


def _twins(make):
    """``make(mode)`` -> (function, shared variables) on both backends, from equal initial values."""
    return make(LLVM), make(NUMPY)


def _step_both(pair, args, steps=3):
    (f, fs), (g, gs) = pair
    held = [s.get_value(borrow=True) for s in fs]
    for _ in range(steps):
        got, want = f(*args), g(*args)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
        for s, t in zip(fs, gs):
            np.testing.assert_allclose(s.get_value(), t.get_value(), rtol=1e-6, atol=1e-9)
    return held, [s.get_value(borrow=True) for s in fs]


def _mlp(mode, dtype="float64"):
    rng = np.random.default_rng(0)
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    W = sg.shared(rng.standard_normal((6, 5)).astype(dtype), name="W")
    b = sg.shared(np.zeros(5, dtype), name="b")
    V = sg.shared(rng.standard_normal((5, 3)).astype(dtype), name="V")
    loss = T.mean((T.dot(T.tanh(T.dot(x, W) + b), V) - y) ** 2)
    params = [W, b, V]
    grads = sg.grad(loss, params)
    lr = np.asarray(0.1, dtype)
    f = sg.function([x, y], loss, updates=[(p, p - lr * g) for p, g in zip(params, grads)], mode=mode)
    return f, params


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_step_writes_every_parameter_in_place(dtype):
    rng = np.random.default_rng(1)
    args = [rng.standard_normal((7, 6)).astype(dtype), rng.standard_normal((7, 3)).astype(dtype)]
    before, after = _step_both(_twins(lambda m: _mlp(m, dtype)), args)
    # W and V are Gemm updates, b an elementwise one: all three keep their arrays.
    assert all(a is b for a, b in zip(before, after))


def _adam(mode):
    rng = np.random.default_rng(2)
    x = T.matrix("x")
    W = sg.shared(rng.standard_normal(8), name="W")
    m, v = sg.shared(np.zeros(8), name="m"), sg.shared(np.zeros(8), name="v")
    t = sg.shared(np.asarray(0.0), name="t")
    g = sg.grad(T.sum(T.sin(T.dot(x, W))), W)
    t1 = t + 1
    m1, v1 = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g ** 2
    step = 0.01 * T.sqrt(1 - 0.999 ** t1) / (1 - 0.9 ** t1)
    W1 = W - step * m1 / (T.sqrt(v1) + 1e-8)
    f = sg.function([x], T.sum(g), updates=[(W, W1), (m, m1), (v, v1), (t, t1)], mode=mode)
    return f, [W, m, v, t]


def test_adam_moments_and_parameter_in_place():
    before, after = _step_both(_twins(_adam), [np.linspace(-1, 1, 40).reshape(5, 8)], steps=4)
    # One fused node makes W, m and v: all three in place.  The step count's new value is read by
    # another node (it feeds the step size), so it cannot be written over and gets a new array;
    # so would a fused node one of whose results another node reads.
    assert [a is b for a, b in zip(before, after)] == [True, True, True, False]


def _two_updates(mode):
    a = sg.shared(np.arange(4.0), name="a")
    c = sg.shared(np.ones(3), name="c")
    x, y = T.vector("x"), T.vector("y")
    f = sg.function([x, y], T.sum(x), updates=[(a, a * 2 + x), (c, c - y)], mode=mode)
    return f, [a, c]


@pytest.mark.parametrize("bad", ["x", "y"])
def test_a_failed_call_leaves_every_shared_value(bad):
    f, (a, c) = _two_updates(LLVM)
    objects = [a.get_value(borrow=True), c.get_value(borrow=True)]
    values = [o.copy() for o in objects]
    x, y = np.ones(4), np.ones(3)
    if bad == "x":
        x = np.ones(5)
    else:
        y = np.ones(2)
    with pytest.raises(InputShapeError):
        f(x, y)
    for s, o, v in zip((a, c), objects, values):
        assert s.get_value(borrow=True) is o
        np.testing.assert_array_equal(o, v)
    f(np.ones(4), np.ones(3))  # and the function still works, in place
    np.testing.assert_array_equal(a.get_value(), values[0] * 2 + 1)
    np.testing.assert_array_equal(c.get_value(), values[1] - 1)
    assert a.get_value(borrow=True) is objects[0]


def test_a_shape_changed_by_set_value_fails_before_any_write():
    f, (a, c) = _two_updates(LLVM)
    c.set_value(np.ones(5))  # now c - y cannot broadcast
    held = a.get_value(borrow=True)
    with pytest.raises(InputShapeError):
        f(np.ones(4), np.ones(3))
    np.testing.assert_array_equal(held, np.arange(4.0))
    np.testing.assert_array_equal(c.get_value(), np.ones(5))


def test_a_read_only_value_is_copied_not_written():
    f, (a, _c) = _two_updates(LLVM)
    frozen = np.arange(4.0)
    frozen.flags.writeable = False
    a.set_value(frozen, borrow=True)
    f(np.ones(4), np.ones(3))
    np.testing.assert_array_equal(frozen, np.arange(4.0))
    np.testing.assert_array_equal(a.get_value(), np.arange(4.0) * 2 + 1)
    assert a.get_value(borrow=True) is not frozen
    kept = a.get_value(borrow=True)
    f(np.ones(4), np.ones(3))  # the copy is writeable: from now on in place
    assert a.get_value(borrow=True) is kept


def test_an_input_sharing_the_value_s_memory_sees_the_old_value():
    f, (a, _c) = _two_updates(LLVM)
    held = a.get_value(borrow=True)
    f(held, np.ones(3))  # x is a's own array: a <- 2a + a
    np.testing.assert_array_equal(a.get_value(), np.arange(4.0) * 3)
    np.testing.assert_array_equal(held, np.arange(4.0))


@pytest.mark.parametrize("mode", [LLVM, NUMPY], ids=["llvm", "numpy"])
def test_updates_reading_each_other_use_the_old_values(mode):
    a, c = sg.shared(np.arange(3.0), name="a"), sg.shared(np.full(3, 10.0), name="c")
    W = sg.shared(np.arange(9.0).reshape(3, 3), name="W")
    f = sg.function([], [], updates=[(a, a + c), (c, c - a), (W, W + W.T)], mode=mode)
    f()
    np.testing.assert_array_equal(a.get_value(), [10.0, 11.0, 12.0])
    np.testing.assert_array_equal(c.get_value(), [10.0, 9.0, 8.0])
    w = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(W.get_value(), w + w.T)


def test_outputs_viewing_an_updated_value_keep_the_old_value():
    W = sg.shared(np.arange(6.0).reshape(2, 3), name="W")
    f = sg.function([], [W.T, W[0]], updates=[(W, W * 2)], mode=LLVM)
    held = W.get_value(borrow=True)
    t, row = f()
    w = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(t, w.T)
    np.testing.assert_array_equal(row, w[0])
    np.testing.assert_array_equal(W.get_value(), w * 2)
    assert W.get_value(borrow=True) is held
    # W itself returned: the copy handed back is made after the call, so W gets a new array.
    g = sg.function([], [W, W[1]], updates=[(W, W + 1)], mode=LLVM)
    same, row = g()
    np.testing.assert_array_equal(same, w * 2)
    np.testing.assert_array_equal(row, w[1] * 2)
    np.testing.assert_array_equal(W.get_value(), w * 2 + 1)


def test_an_update_also_returned_is_a_separate_array():
    W = sg.shared(np.ones(3), name="W")
    new = W + 1
    f = sg.function([], new, updates=[(W, new)], mode=LLVM)
    out = f()
    out[:] = -5
    np.testing.assert_array_equal(W.get_value(), [2.0, 2.0, 2.0])


def test_the_same_graph_without_updates_is_compiled_apart():
    # Same nodes, inputs and outputs: only the update pairs tell the two entry points apart.
    a = sg.shared(np.zeros(4), name="a")
    x = T.vector("x")
    plain = sg.function([x], a + x, mode=LLVM)
    np.testing.assert_array_equal(plain(np.ones(4)), np.ones(4))
    assert a.get_value(borrow=True).sum() == 0  # not written by the function without updates
    f = sg.function([x], [], updates=[(a, a + x)], mode=LLVM)
    held = a.get_value(borrow=True)
    f(np.ones(4))
    assert a.get_value(borrow=True) is held
    np.testing.assert_array_equal(held, np.ones(4))


def test_strided_value_is_written_through_its_strides():
    W = sg.shared(np.zeros((3, 4)), name="W")
    base = np.arange(24.0).reshape(3, 8)
    W.set_value(base[:, ::2], borrow=True)
    f = sg.function([], [], updates=[(W, W * 10)], mode=LLVM)
    f()
    np.testing.assert_array_equal(base[:, ::2], np.arange(24.0).reshape(3, 8)[:, ::2] * 10)
    np.testing.assert_array_equal(base[:, 1::2], np.arange(24.0).reshape(3, 8)[:, 1::2])


@pytest.mark.parametrize("mode", [LLVM, NUMPY], ids=["llvm", "numpy"])
def test_gemv_and_ger_updates(mode):
    A, x, y = T.matrix("A"), T.vector("x"), T.vector("y")
    v, W = sg.shared(np.ones(3), name="v"), sg.shared(np.ones((3, 4)), name="W")
    f = sg.function([A, x, y], [], updates=[(v, v * 0.5 + 2 * T.dot(A, x)), (W, W - 0.1 * T.outer(x[:3], y))],
                    mode=mode)
    assert {"Gemv", "Ger"} <= {type(n.op).__name__ for n in f.fgraph.toposort()}
    held = v.get_value(borrow=True), W.get_value(borrow=True)
    a, xv, yv = np.arange(12.0).reshape(3, 4), np.arange(4.0), np.arange(4.0) + 1
    f(a, xv, yv)
    np.testing.assert_allclose(v.get_value(), 0.5 + 2 * a @ xv, rtol=1e-12)
    np.testing.assert_allclose(W.get_value(), 1 - 0.1 * np.outer(xv[:3], yv), rtol=1e-12)
    if mode is LLVM:
        assert v.get_value(borrow=True) is held[0] and W.get_value(borrow=True) is held[1]
    with pytest.raises(InputShapeError):
        f(a, np.arange(5.0), yv)  # Gemv's shapes do not align: nothing is written
    np.testing.assert_allclose(v.get_value(), 0.5 + 2 * a @ xv, rtol=1e-12)
    np.testing.assert_allclose(W.get_value(), 1 - 0.1 * np.outer(xv[:3], yv), rtol=1e-12)
