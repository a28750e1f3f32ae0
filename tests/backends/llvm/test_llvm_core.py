"""The llvm backend's core: native elementwise loops, reductions, entry-point checks, fallbacks, cache."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T

LLVM = sg.Mode(backend="llvm")
RNG = np.random.default_rng(7)


def _both(inputs, outputs):
    return sg.function(inputs, outputs, mode=LLVM), sg.function(inputs, outputs, mode=sg.Mode(backend="numpy"))


def test_fused_elementwise_chain_is_native_and_matches_numpy():
    x = T.fmatrix("x")
    f, ref = _both([x], T.exp(-x * x) * T.sin(x) + T.tanh(x) * 0.5 - T.log1p(x * x))
    assert not f._run.fallback_nodes
    for data in (RNG.standard_normal((5, 7)).astype("float32"),
                 RNG.standard_normal((7, 5)).astype("float32").T,        # transposed
                 RNG.standard_normal((6, 8)).astype("float32")[::-2, 1::3],  # negative and odd strides
                 np.zeros((0, 4), dtype="float32")):                      # empty
        np.testing.assert_allclose(f(data), ref(data), rtol=2e-6, atol=1e-6)


def test_broadcasting_and_mixed_dtypes():
    m, r, s = T.imatrix("m"), T.frow("r"), T.dscalar("s")
    f, ref = _both([m, r, s], [m * r + s, T.switch(T.gt(m, 0), r, s), m // 3, m % -3])
    args = (RNG.integers(-5, 5, (4, 3)).astype("int32"), RNG.standard_normal((1, 3)).astype("float32"), 2.5)
    for a, b in zip(f(*args), ref(*args)):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_float32_sum_of_ten_million_stays_accurate():
    v = T.fvector("v")
    f = sg.function([v], v.sum(), mode=LLVM)
    data = np.random.default_rng(0).random(10 ** 7).astype("float32")
    exact = data.astype("float64").sum()
    assert abs(float(f(data)) - exact) / exact < 1e-6


def test_reductions_over_any_axes_fused_with_their_producer():
    x = T.dtensor3("x")
    outs = [T.exp(x).sum(axis=(0, 2)), x.max(axis=1), (x * 2).prod(axis=0), x.sum(), T.any(x > 1, axis=2)]
    f, ref = _both([x], outs)
    assert not f._run.fallback_nodes
    data = RNG.standard_normal((3, 4, 5))
    for a, b in zip(f(data), ref(data)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_wrong_inputs_are_converted_or_refused_as_documented():
    x = T.fvector("x")
    f = sg.function([x], x + 1, mode=LLVM)
    np.testing.assert_array_equal(f([1, 2]), [2.0, 3.0])                       # Python data converted
    np.testing.assert_array_equal(f(np.arange(3, dtype="int8")), [1.0, 2.0, 3.0])  # safe upcast
    big_endian = np.arange(3, dtype=">f4")
    np.testing.assert_array_equal(f(big_endian), [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="float32"):
        f(np.ones(3))
    with pytest.raises(ValueError, match="ndim 1"):
        f(np.ones((2, 2), dtype="float32"))


def test_runtime_shape_mismatch_names_the_op_and_the_line():
    x, y = T.dvector("x"), T.dvector("y")
    z = x * y  # the line in the message
    f = sg.function([x, y], z, mode=LLVM)
    with pytest.raises(ValueError) as info:
        f(np.ones(3), np.ones(4))
    assert "mul" in str(info.value) and "z = x * y" in str(info.value)


def test_outputs_are_fresh_arrays_even_for_views_and_inputs():
    x = T.dmatrix("x")
    f = sg.function([x], [x, x.T, x + 0], mode=LLVM)
    a = RNG.standard_normal((2, 3))
    outs = f(a)
    for o in outs:
        assert not np.shares_memory(o, a)
    np.testing.assert_array_equal(outs[1], a.T)


def test_ops_without_a_lowering_fall_back_and_are_reported():
    x = T.dvector("x")
    f = sg.function([x], T.gammaln(x) + 1, mode=LLVM)
    assert f._run.fallback_nodes
    text = sg.printing.debugprint(f, file="str")
    assert "(python fallback)" in text
    np.testing.assert_allclose(f(np.array([1.5, 3.0])), sg.function([x], T.gammaln(x) + 1, mode="numpy")(
        np.array([1.5, 3.0])))


def test_symgraph_info_lists_what_llvm_lowers(capsys):
    from symgraph.cli import main

    main(["info", "--ops"])
    out = capsys.readouterr().out
    assert "lowers Elemwise" in out and "lowers CAReduce" in out


def test_new_batch_sizes_do_not_recompile():
    from symgraph.backends.llvm import jit

    x = T.dmatrix("x")
    f = sg.function([x], T.tanh(x) * 3, mode=LLVM)
    before = len(jit._state.get("modules", []))
    for n in (1, 5, 17):
        np.testing.assert_allclose(f(np.ones((n, 2))), np.tanh(np.ones((n, 2))) * 3)
    assert len(jit._state.get("modules", [])) == before


def _cache_script(tmp):
    return (
        "import numpy as np, symgraph as sg, symgraph.tensor as T\n"
        f"sg.config.compiledir = {str(tmp)!r}\n"
        "x = T.dvector('x')\n"
        "f = sg.function([x], T.exp(x) * 3 + 1.25, mode=sg.Mode(backend='llvm'))\n"
        "print(float(f(np.zeros(2))[0]))\n"
    )


def test_disk_cache_is_shared_across_processes_and_survives_concurrent_writers(tmp_path):
    script = _cache_script(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outs == ["4.25"] * 3
    entries = [f for _, _, files in os.walk(tmp_path) for f in files if f.endswith(".o")]
    assert entries and not [f for f in entries if f.startswith(".tmp")]
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert again.stdout.strip() == "4.25"


def test_corrupt_cache_entry_is_reported_once_and_rebuilt(tmp_path):
    from symgraph.backends.llvm.cache import CacheCorruptionWarning, ObjectCache

    cache = ObjectCache(str(tmp_path))
    key = cache.key("ir", "target")
    cache.store(key, b"object code")
    assert cache.load(key) == b"object code"
    with open(cache.path(key), "r+b") as fh:
        fh.seek(-3, os.SEEK_END)
        fh.write(b"XYZ")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cache.load(key) is None
        assert cache.load(key) is None
    assert sum(issubclass(w.category, CacheCorruptionWarning) for w in caught) == 1
    assert not os.path.exists(cache.path(key))
    # and a real compile through a corrupt entry still works
    script = _cache_script(tmp_path)
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=120)
    for root, _, files in os.walk(tmp_path):
        for f in files:
            if f.endswith(".o"):
                with open(os.path.join(root, f), "wb") as fh:
                    fh.write(b"garbage")
    out = subprocess.run([sys.executable, "-W", "always", "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "4.25"
    assert "corrupt" in out.stderr


def test_large_non_contiguous_constants_keep_their_values():
    # Constant folding of P.T leaves a transposed (non-contiguous) constant; native
    # code reads a contiguous copy of it and must use that copy's strides.
    P = RNG.standard_normal((16, 4))
    x = T.dvector("x")
    s = sg.shared(np.zeros(4), name="s")
    f = sg.function([x], [], updates=[(s, s + T.dot(T.sqr(x), T.constant(P)))], mode=LLVM)
    xv = RNG.standard_normal(16)
    f(xv)
    f(xv)
    np.testing.assert_allclose(s.get_value(), 2 * (xv ** 2) @ P)
