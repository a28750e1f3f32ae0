"""Fully native functions are called through a generated builtin; everything else keeps the Python path."""

import gc
import pickle
import subprocess
import sys
import types
import weakref

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import ArgumentCountError, InputShapeError, InputTypeError

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")
RNG = np.random.default_rng(3)


def _is_native(f):
    return isinstance(f.__call__, types.BuiltinFunctionType)


def _error(f, *args):
    with pytest.raises(Exception) as info:
        f(*args)
    return type(info.value), str(info.value).split("\n")[0]


def test_fully_native_function_is_a_builtin_call_returning_fresh_outputs():
    x = T.fvector("x")
    f = sg.function([x], x + 1, mode=LLVM)
    assert _is_native(f) and isinstance(f, sg.Function)
    v = np.arange(10, dtype="float32")
    out = f(v)
    assert out.dtype == np.float32 and not np.shares_memory(out, v)
    np.testing.assert_array_equal(out, v + 1)
    np.testing.assert_array_equal(f(v[::-3]), v[::-3] + 1)   # strided input, still native
    assert f(v) is not out


def test_multiple_outputs_come_back_as_a_list():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = sg.function([x, y], [x * y, x - y, (x + y).sum()], mode=LLVM)
    assert _is_native(f)
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    outs = f(a, b)
    assert isinstance(outs, list) and len(outs) == 3
    np.testing.assert_allclose(outs[0], a * b)
    np.testing.assert_allclose(outs[1], a - b)
    np.testing.assert_allclose(outs[2], (a + b).sum())


def test_bad_inputs_give_the_same_errors_as_the_python_path():
    x, y = T.fvector("x"), T.fvector("y")
    z = x * y
    f = sg.function([x, y], z, mode=LLVM)
    ok = np.ones(3, dtype="float32")
    cases = [(np.ones(3), ok),                              # lossy float64 -> float32
             (np.ones((2, 2), dtype="float32"), ok),        # wrong rank
             (ok, np.ones(4, dtype="float32")),             # shapes disagree at run time
             (ok,), (ok, ok, ok)]                           # argument count
    for args in cases:
        assert _error(f, *args) == _error(lambda *a: sg.Function.__call__(f, *a), *args)
    assert _error(f, ok)[0] is ArgumentCountError
    assert _error(f, np.ones(3), ok)[0] is InputTypeError
    assert issubclass(_error(f, ok, np.ones(4, dtype="float32"))[0], InputShapeError)


def test_inputs_needing_conversion_and_keywords_take_the_python_path():
    x = T.fvector("x")
    y = T.fscalar("y")
    f = sg.function([x, sg.In(y, value=np.float32(2))], x * y, mode=LLVM)
    assert _is_native(f)
    np.testing.assert_array_equal(f([1, 2]), [2.0, 4.0])                        # a list, default y
    np.testing.assert_array_equal(f(np.arange(3, dtype="int8"), 3), [0.0, 3.0, 6.0])
    np.testing.assert_array_equal(f(np.arange(3, dtype=">f4"), y=np.float32(1)), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(f(x=np.ones(2, dtype="float32")), [2.0, 2.0])


def test_shared_values_are_read_and_updates_stored_after_success_only():
    w = sg.shared(np.arange(3.0), name="w")
    c = sg.shared(np.array(0.0), name="c")
    x = T.dvector("x")
    f = sg.function([x], (w * x).sum(), updates=[(c, c + 1), (w, w * x)], mode=LLVM)
    assert _is_native(f)
    assert f(np.full(3, 2.0)) == 6.0
    np.testing.assert_array_equal(w.get_value(), [0.0, 2.0, 4.0])
    assert c.get_value() == 1.0
    with pytest.raises(ValueError):
        f(np.ones(4))
    np.testing.assert_array_equal(w.get_value(), [0.0, 2.0, 4.0])
    assert c.get_value() == 1.0
    w.set_value(np.ones(3))                      # the builtin reads the value stored now
    assert f(np.ones(3)) == 3.0 and c.get_value() == 2.0


def test_an_output_also_stored_as_an_update_is_a_separate_array():
    w = sg.shared(np.zeros(3), name="w")
    x = T.dvector("x")
    y = w + x
    f = sg.function([x], y, updates=[(w, y)], mode=LLVM)
    out = f(np.ones(3))
    assert not np.shares_memory(out, w.get_value(borrow=True))
    out[:] = 7
    np.testing.assert_array_equal(w.get_value(), [1.0, 1.0, 1.0])


def test_only_updates_returns_an_empty_list():
    w = sg.shared(np.ones(2), name="w")
    f = sg.function([], [], updates=[(w, w * 3)], mode=LLVM)
    assert f() == []
    np.testing.assert_array_equal(w.get_value(), [3.0, 3.0])


def test_functions_with_python_fallbacks_still_run():
    x = T.dvector("x")
    f = sg.function([x], T.gammaln(x) * 2, mode=LLVM)
    assert f._run.fallback_nodes and not _is_native(f)
    a = np.array([1.5, 3.0])
    np.testing.assert_allclose(f(a), sg.function([x], T.gammaln(x) * 2, mode=NUMPY)(a))


def test_the_builtin_does_not_keep_its_function_alive():
    x = T.dvector("x")
    f = sg.function([x], x * 2, mode=LLVM)
    call = f.__call__
    ref = weakref.ref(f)
    del f
    gc.collect()
    assert ref() is None
    np.testing.assert_array_equal(call(np.ones(2)), [2.0, 2.0])   # the code and its tables are kept
    with pytest.raises(sg.SymgraphError, match="has been deleted"):
        call(np.ones(2, dtype="int64"))


def test_native_functions_pickle():
    x = T.dvector("x")
    f = pickle.loads(pickle.dumps(sg.function([x], x - 1, mode=LLVM)))
    assert _is_native(f)
    np.testing.assert_array_equal(f(np.ones(2)), [0.0, 0.0])


def test_builtins_compile_on_a_thread_while_the_first_segment_is_emitted(tmp_path):
    script = (
        "import numpy as np, symgraph as sg, symgraph.tensor as T\n"
        "from symgraph.backends.llvm import fastcall\n"
        f"sg.config.compiledir = {str(tmp_path)!r}\n"
        "x = T.dvector('x')\n"
        "f = sg.function([x], T.exp(x) + 1, mode=sg.Mode(backend='llvm'))\n"
        "g = sg.function([x], x * 2, mode=sg.Mode(backend='llvm'))\n"
        "assert len(fastcall._background) == 1 and not fastcall._background[0].is_alive()\n"
        "assert type(f).__name__ == '_NativeFunction'\n"
        "print(f(np.zeros(3)).tolist(), g(np.ones(2)).tolist())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "[2.0, 2.0, 2.0] [2.0, 2.0]"
