"""Scan on the llvm backend: the loop runs natively (no step returns to Python), as perform does on numpy."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import InputShapeError
from symgraph.scan import Scan, until

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")
RNG = np.random.default_rng(7)
TOL = {"float32": 2e-5, "float64": 1e-11}


def _scans(f):
    return [n for n in f.fgraph.toposort() if isinstance(n.op, Scan)]


def _pair(inputs, outputs, native=True):
    """The function on llvm (its Scans checked to be lowered natively) and on the numpy backend."""
    f = sg.function(inputs, outputs, mode=LLVM)
    assert _scans(f)
    fallback = [n for n in f._run.fallback_nodes if isinstance(n.op, Scan)]
    assert not fallback if native else fallback, [str(n.op) for n in f._run.fallback_nodes]
    return f, sg.function(inputs, outputs, mode=NUMPY)


def _assert_same(got, want, tol):
    got = got if isinstance(got, list) else [got]
    want = want if isinstance(want, list) else [want]
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, (k, g.dtype, w.dtype, g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=f"output {k}")


def _lstm(xs, h0, c0, W, U, b, hidden):
    def step(x_t, h, c, W, U, b):
        z = T.dot(x_t, W) + T.dot(h, U) + b
        i = T.nnet.sigmoid(z[:, :hidden])
        f = T.nnet.sigmoid(z[:, hidden:2 * hidden])
        g = T.tanh(z[:, 2 * hidden:3 * hidden])
        o = T.nnet.sigmoid(z[:, 3 * hidden:])
        c_new = f * c + i * g
        return o * T.tanh(c_new), c_new

    (hs, cs), _ = sg.scan(step, sequences=xs, outputs_info=[h0, c0], non_sequences=[W, U, b])
    return hs, cs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lstm_forward_and_gradient_match_numpy_with_several_carries(dtype):
    hidden, n_in, batch, steps = 5, 3, 4, 6
    xs, h0, c0 = T.tensor3("xs", dtype=dtype), T.matrix("h0", dtype=dtype), T.matrix("c0", dtype=dtype)
    W, U, b = T.matrix("W", dtype=dtype), T.matrix("U", dtype=dtype), T.vector("b", dtype=dtype)
    hs, cs = _lstm(xs, h0, c0, W, U, b, hidden)
    cost = (hs ** 2).sum() + cs[-1].sum()
    ins = [xs, h0, c0, W, U, b]
    f, ref = _pair(ins, [hs, cs, cost] + sg.grad(cost, ins))
    assert len(_scans(f)) == 2  # the forward loop and the reverse (gradient) loop, both native
    args = [RNG.standard_normal((steps, batch, n_in)), RNG.standard_normal((batch, hidden)),
            RNG.standard_normal((batch, hidden)), RNG.standard_normal((n_in, 4 * hidden)) * 0.5,
            RNG.standard_normal((hidden, 4 * hidden)) * 0.5, RNG.standard_normal(4 * hidden) * 0.1]
    args = [a.astype(dtype) for a in args]
    _assert_same(f(*args), ref(*args), TOL[dtype])
    # A non-contiguous, reversed sequence and transposed weights: strided views, no copies needed.
    xs_view = np.ascontiguousarray(args[0][::-1].transpose(1, 0, 2)).transpose(1, 0, 2)[::-1]
    W_view = np.asfortranarray(args[3])
    strided = [xs_view, args[1], args[2], W_view] + args[4:]
    _assert_same(f(*strided), ref(*strided), TOL[dtype])


def test_gemm_in_the_body_goes_to_blas():
    xs, h0, U = T.tensor3("xs"), T.matrix("h0"), T.matrix("U")
    hs, _ = sg.scan(lambda x, h, U: T.tanh(x + T.dot(h, U)), sequences=xs, outputs_info=h0, non_sequences=U)
    f, ref = _pair([xs, h0, U], hs)
    ir_text = "\n".join(seg.ir for seg in _native_segments(f))
    assert "symgraph_blas_dgemm" in ir_text
    args = [RNG.standard_normal((4, 3, 5)), RNG.standard_normal((3, 5)), RNG.standard_normal((5, 5)) * 0.4]
    _assert_same(f(*args), ref(*args), TOL["float64"])


def test_the_step_loop_and_the_embedding_lookup_are_glue_compiled_without_optimisation():
    import re

    tokens, h0, E, U = T.imatrix("tokens"), T.matrix("h0"), T.matrix("E"), T.matrix("U")
    hs, _ = sg.scan(lambda x, h, U: T.tanh(x + T.dot(h, U)), sequences=E[tokens], outputs_info=h0,
                    non_sequences=U)
    f, ref = _pair([tokens, h0, E, U], hs)
    ir_text = "\n".join(seg.ir for seg in _native_segments(f))
    # The entry point and the step loop only check, index and call kernels and BLAS: optimising them
    # would cost compile time for nothing; the index checks run in a function of their own.
    heads = re.findall(r'^define [^\n]*@"(?:symgraph_[0-9a-f]+|scan\.\d+)"[^\n]*', ir_text, re.MULTILINE)
    assert len(heads) >= 2 and all("optnone" in line for line in heads)
    assert re.search(r'^define internal i32 @"validate\.\d+"', ir_text, re.MULTILINE)
    args = [RNG.integers(0, 6, (4, 3)).astype("int32"), RNG.standard_normal((3, 5)),
            RNG.standard_normal((6, 5)), RNG.standard_normal((5, 5)) * 0.4]
    _assert_same(f(*args), ref(*args), TOL["float64"])
    with pytest.raises(IndexError, match="out of bounds"):
        f(np.full((4, 3), 6, dtype="int32"), *args[1:])


def _native_segments(f):
    import gc

    from symgraph.backends.llvm.linker import NativeSegment

    scans = set(_scans(f))
    return [o for o in gc.get_objects() if isinstance(o, NativeSegment) and scans & set(o.nodes)]


def test_taps_and_carries_that_pass_each_other_down_without_history():
    init, n = T.dvector("init"), T.iscalar("n")
    fib, _ = sg.scan(lambda a, b: a + b, outputs_info={"initial": init, "taps": [-1, -2]}, n_steps=n)
    xs = T.dvector("xs")
    diffs, _ = sg.scan(lambda prev, cur: cur - prev, sequences={"input": xs, "taps": [-1, 0]})
    f, ref = _pair([init, n, xs], [fib, diffs])
    for args in [(np.array([0.0, 1.0]), 10, np.array([1.0, 4.0, 9.0, 16.0])),
                 (np.array([2.0, -1.0]), 1, np.array([3.0, 2.0]))]:
        _assert_same(f(*args), ref(*args), TOL["float64"])
    # Only the last value is read: scan_save_memory drops the history (two buffers used in turn).
    last, ref_last = _pair([init, n], fib[-1] * 2)
    assert any(False in node.op.keep_history for node in _scans(last))
    for steps in (1, 2, 7, 10):
        _assert_same(last(np.array([0.0, 1.0]), steps), ref_last(np.array([0.0, 1.0]), steps), TOL["float64"])
    assert last(np.array([0.0, 1.0]), 10) == 2 * 89.0


def test_per_step_outputs_integer_carries_and_zero_steps():
    xs, n = T.fmatrix("xs"), T.lscalar("n")
    count0 = T.constant(np.int64(0))

    def step(x, count, acc):
        return count + 1, acc + x.sum(), x * 2, T.cast(count, "int32")

    (counts, acc, doubled, idx), _ = sg.scan(step, sequences=xs,
                                              outputs_info=[count0, T.constant(np.float32(0)), None, None],
                                              n_steps=n)
    f, ref = _pair([xs, n], [counts, acc, doubled, idx, acc * 1])
    data = RNG.standard_normal((5, 3)).astype("float32")
    for args in [(data, 5), (data, 3), (data[:, ::-2], 4), (data, 0), (data[:0], 7)]:
        _assert_same(f(*args), ref(*args), TOL["float32"])
    empty = f(data, 0)
    assert [a.shape for a in empty] == [(0,), (0,), (0, 3), (0,), (0,)]


def test_negative_n_steps_and_a_short_sequence_are_errors_naming_the_scan():
    xs, n = T.dvector("xs"), T.lscalar("n")
    out, _ = sg.scan(lambda x, acc: acc + x, sequences=xs, outputs_info=T.constant(0.0), n_steps=n)
    f, _ = _pair([xs, n], out)
    with pytest.raises(InputShapeError, match=r"Scan\{scan\}: n_steps must be >= 0, got -2"):
        f(np.ones(3), -2)
    (node,) = _scans(f)
    # The Op itself (the builder clips n_steps to the sequences), asked for more steps than given.
    m = T.lscalar("m")
    direct = node.op(m, xs, T.constant(0.0))
    g, ref = _pair([xs, m], direct)
    _assert_same(g(np.arange(4.0), 3), ref(np.arange(4.0), 3), TOL["float64"])
    for h in (g, ref):
        with pytest.raises(InputShapeError, match=r"Scan\{scan\}: sequence 0 has 4 entries, fewer than the 6"):
            h(np.arange(4.0), 6)


def test_a_step_changing_a_carried_shape_and_a_body_error_are_reported():
    h0 = T.dvector("h0")
    grow, _ = sg.scan(lambda h: h[1:], outputs_info=h0, n_steps=3)
    f, ref = _pair([h0], grow)
    for g in (f, ref):
        with pytest.raises(InputShapeError, match="changed the shape of carried value 0"):
            g(np.ones(4))
    xs, W = T.dmatrix("xs"), T.dmatrix("W")
    out, _ = sg.scan(lambda x, h, W: T.dot(W, h) + x, sequences=xs, outputs_info=T.constant(np.zeros(3)),
                     non_sequences=W)
    f, _ = _pair([xs, W], out)
    with pytest.raises(InputShapeError, match="not aligned") as err:
        f(np.ones((2, 3)), np.ones((3, 4)))
    assert "test_scan_native.py" in str(err.value)  # the step function's line


def test_second_order_gradient_through_a_native_scan():
    xs, W = T.dmatrix("xs"), T.dmatrix("W")
    hs, _ = sg.scan(lambda x, h, W: T.tanh(T.dot(W, h) + x), sequences=xs,
                    outputs_info=T.constant(np.zeros(3)), non_sequences=W)
    cost = (hs ** 2).sum()
    g = sg.grad(cost, W)
    gg = sg.grad((g ** 2).sum(), W)
    f, ref = _pair([xs, W], [g, gg])
    args = [RNG.standard_normal((4, 3)), RNG.standard_normal((3, 3)) * 0.5]
    _assert_same(f(*args), ref(*args), 1e-9)


def test_nested_scans_are_lowered_inside_the_outer_loop():
    M = T.dmatrix("M")

    def row_norm(row):
        s, _ = sg.scan(lambda v, acc: acc + v * v, sequences=row, outputs_info=T.constant(0.0))
        return s[-1]

    out, _ = sg.scan(row_norm, sequences=M)
    f, ref = _pair([M], [out, sg.grad(out.sum(), M)])
    data = RNG.standard_normal((3, 4))
    _assert_same(f(data), ref(data), TOL["float64"])


def test_until_leaves_the_native_loop_and_shortens_every_output():
    x, xs = T.dscalar("x"), T.fvector("xs")
    values, _ = sg.scan(lambda v: (v * 2, until(v * 2 > 100)), outputs_info=x, n_steps=50)
    # A float condition, a per-step output, and a sequence that would allow more steps.
    (acc, seen), _ = sg.scan(lambda s, acc: (acc + s, s * 2, until(T.maximum(acc + s - 2.5, 0))), sequences=xs,
                             outputs_info=[T.constant(np.float32(0)), None])
    f, ref = _pair([x, xs], [values, values.sum() * 1, acc, seen, acc.sum() * 1])
    for args in [(3.0, np.ones(6, "float32")), (200.0, np.full(4, 0.5, "float32")),
                 (-1.0, np.zeros(3, "float32")), (1.0, np.zeros(0, "float32"))]:
        _assert_same(f(*args), ref(*args), 1e-6)
    assert [a.shape for a in f(3.0, np.ones(6, "float32"))[::2]] == [(6,), (3,), ()]
    g, ref_g = _pair([x], sg.grad(values[-1], x))
    _assert_same(g(0.7), ref_g(0.7), TOL["float64"])


def test_the_compile_cache_key_covers_the_body():
    from symgraph.backends.llvm import jit
    from symgraph.backends.llvm.segment_key import segment_key

    xs = T.dmatrix("xs")
    data = RNG.standard_normal((4, 3))
    for fn, ref in ((T.tanh, np.tanh), (T.nnet.sigmoid, lambda v: 1 / (1 + np.exp(-v)))):
        # The same outer graph each time: only the body tells the two loops apart.
        out, _ = sg.scan(lambda x, h, fn=fn: fn(h + x), sequences=xs, outputs_info=T.constant(np.zeros(3)))
        f, _ = _pair([xs], out)
        (seg,) = _native_segments(f)
        assert segment_key(seg.nodes, seg.inputs, seg.outputs, seg.constants, jit.target_description())
        h, want = np.zeros(3), []
        for row in data:
            h = ref(h + row)
            want.append(h)
        np.testing.assert_allclose(f(data), want, rtol=1e-12)
