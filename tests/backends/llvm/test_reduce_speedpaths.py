"""Reductions over the trailing axes of contiguous inputs: one vectorised loop per output element."""

import re

import numpy as np
import pytest

import symgraph as sg
from symgraph import tensor as T

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")
RNG = np.random.default_rng(11)


def _both(inputs, outputs):
    return sg.function(inputs, outputs, mode=LLVM), sg.function(inputs, outputs, mode=NUMPY)


def _optimised_ir(inputs, outputs):
    import llvmlite.binding as llvm
    from symgraph.backends.llvm import jit
    from symgraph.backends.llvm.segment import build_segment

    fg = sg.function(inputs, outputs, mode=LLVM).fgraph
    module = llvm.parse_assembly(build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), []))
    module.triple = llvm.get_process_triple()
    module.data_layout = str(jit.target_machine().target_data)
    jit.optimize(module)
    return str(module)


def _vector_ops(text, pattern):
    return [int(n) for n in re.findall(pattern, text)]


def test_full_and_fused_reductions_of_float32_are_vectorised():
    x = T.fvector("x")
    text = _optimised_ir([x], [T.exp(x).sum(), x.prod(), x.max(), x.min()])
    # Sums: float32 partial sums on several lanes per chunk, each chunk's total added in float64;
    # products: partial products on several lanes, widened to float64.
    assert min(_vector_ops(text, r"fadd reassoc <(\d+) x float>"), default=0) >= 2
    assert re.search(r"fadd reassoc double .*\n", text) and "fpext float" in text
    assert min(_vector_ops(text, r"fmul reassoc <(\d+) x double>"), default=0) >= 2
    for name in ("maximum", "minimum"):
        assert min(_vector_ops(text, rf"@llvm\.{name}\.v(\d+)f32"), default=0) >= 2, name
    # The fused exp is evaluated on vectors too (float32 math at float32 width), in the same pass.
    assert _vector_ops(text, r"call <(\d+) x (?:double|float)> @llvm\.fma\.v\d+f(?:64|32)")


def test_float32_fused_sum_runs_its_math_at_full_float32_width():
    from symgraph.backends.llvm.codegen import vector_lanes

    x = T.fvector("x")
    text = _optimised_ir([x], [T.exp(x).sum()])
    lanes = vector_lanes("float32")
    # exp's polynomial and the partial sums on <lanes x float> (no widening per element).
    assert lanes in _vector_ops(text, r"call <(\d+) x float> @llvm\.fma\.v\d+f32")
    assert lanes in _vector_ops(text, r"fadd reassoc <(\d+) x float>")
    assert not _vector_ops(text, r"fpext <(\d+) x float>")
    f, g = _both([x], T.exp(x).sum())
    v = RNG.uniform(-3, 3, 100_003).astype("float32")
    np.testing.assert_allclose(f(v), g(v), rtol=1e-6)


def test_row_wise_reduction_with_a_broadcast_operand_is_vectorised():
    m, c = T.fmatrix("m"), T.fcol("c")
    text = _optimised_ir([m, c], [T.exp(m - c).sum(axis=1), m.max(axis=1)])
    assert min(_vector_ops(text, r"fadd reassoc <(\d+) x float>"), default=0) >= 2
    assert min(_vector_ops(text, r"@llvm\.maximum\.v(\d+)f32"), default=0) >= 2


def test_integer_and_boolean_reductions_are_vectorised():
    x = T.ivector("x")
    text = _optimised_ir([x], [x.sum(), x.max(), T.any(x > 3)])
    assert re.search(r"add <\d+ x i64>", text)
    assert re.search(r"@llvm\.smax\.v\d+i32|icmp sgt <\d+ x i32>", text)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_contiguous_reductions_match_numpy_on_every_layout(dtype):
    x = T.tensor3("x", dtype=dtype)
    outs = [x.sum(), x.sum(axis=(1, 2)), x.sum(axis=2), x.prod(axis=2), x.max(axis=2), x.min(axis=(1, 2)),
            T.exp(x).sum(axis=2), (x * x).max(), x.mean(axis=2), x.sum(axis=(0, 2))]
    f, ref = _both([x], outs)
    assert not f._run.fallback_nodes
    base = RNG.uniform(-1, 1, (4, 6, 10)).astype(dtype)
    for data in (base,                         # contiguous: the flat path
                 base[:, :, ::-1],             # negative stride inside the rows: the strided path
                 base[::-1, 1:5],              # rows contiguous, outer axes strided
                 np.asfortranarray(base),      # nothing contiguous
                 base[:, :, :1]):              # rows of one element
        for a, b in zip(f(data), ref(data)):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=2e-6 if dtype == "float32" else 1e-13, atol=1e-6)


def test_empty_rows_sum_to_zero_and_empty_max_still_raises():
    x = T.fmatrix("x")
    f = sg.function([x], [x.sum(axis=1), T.exp(x).prod(axis=1)], mode=LLVM)
    s, p = f(np.zeros((3, 0), "float32"))
    np.testing.assert_array_equal(s, np.zeros(3, "float32"))
    np.testing.assert_array_equal(p, np.ones(3, "float32"))
    g = sg.function([x], x.max(axis=1), mode=LLVM)
    with pytest.raises(ValueError):
        g(np.zeros((3, 0), "float32"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_nan_anywhere_makes_max_min_and_sum_nan(dtype):
    x = T.matrix("x", dtype=dtype)
    f = sg.function([x], [x.max(), x.min(), x.max(axis=1), x.min(axis=1), x.sum(axis=1)], mode=LLVM)
    data = RNG.standard_normal((5, 37)).astype(dtype)
    for col in (0, 17, 36):  # first, middle (inside a vector) and last (in the remainder loop)
        d = data.copy()
        d[2, col] = np.nan
        for a, b in zip(f(d), (d.max(), d.min(), d.max(axis=1), d.min(axis=1), d.sum(axis=1))):
            np.testing.assert_allclose(a, b, rtol=1e-6)  # NaN only where NumPy has NaN
    d = data.copy()
    d[1, 3] = np.inf
    d[3, 4] = -np.inf
    for a, b in zip(f(d), (d.max(), d.min(), d.max(axis=1), d.min(axis=1), d.sum(axis=1))):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_integer_and_boolean_reductions_match_numpy():
    x = T.matrix("x", dtype="int8")
    f, ref = _both([x], [x.sum(axis=1), x.prod(axis=1), x.max(axis=1), x.min(), T.all(x > -3, axis=1),
                         T.any(x > 3), x.sum()])
    data = RNG.integers(-4, 5, (7, 300)).astype("int8")
    for d in (data, data[:, ::3]):
        for a, b in zip(f(d), ref(d)):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_logsumexp_rows_match_numpy():
    m = T.fmatrix("m")
    f = sg.function([m], T.logsumexp(m, axis=1), mode=LLVM)
    assert not f._run.fallback_nodes
    data = (RNG.standard_normal((33, 257)) * 3).astype("float32")
    data[4] = -np.inf
    with np.errstate(divide="ignore"):
        want = np.log(np.exp(data.astype("float64")).sum(axis=1))
    got = f(data)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got[4] == -np.inf


def test_float32_sums_keep_float32_accuracy_over_long_and_uneven_runs():
    x = T.fvector("x")
    f = sg.function([x], [x.sum(), T.exp(x).sum()], mode=LLVM)
    ones = np.ones(10 ** 7 + 3, "float32")
    assert f(ones)[0] == 10 ** 7 + 3  # float32 counting alone would stop at 2**24
    rng = np.random.default_rng(4)
    for v in (rng.standard_normal(5 * 512 + 17).astype("float32") * 1e4,
              np.concatenate([[1e8], np.ones(2047)]).astype("float32"),
              rng.lognormal(0, 3, 300_001).astype("float32")):
        exact = v.astype("float64").sum()
        got = float(f(v)[0])
        # Within 2 float32 ulp of the exact sum (the result is itself a float32).
        assert abs(got - exact) <= 2 * np.spacing(np.float32(abs(exact)) + np.float32(np.abs(v).max())), (got, exact)


def test_float32_sum_of_exp_over_ten_million_stays_accurate():
    x = T.fvector("x")
    f = sg.function([x], T.exp(x).sum(), mode=LLVM)
    data = np.random.default_rng(0).uniform(-1, 1, 10 ** 7).astype("float32")
    exact = np.exp(data.astype("float64")).sum()
    assert abs(float(f(data)) - exact) / exact < 1e-6


@pytest.fixture
def threads():
    """Set ``sg.config.threads`` inside a test; restored afterwards."""
    before = sg.config.threads
    yield lambda n: setattr(sg.config, "threads", n)
    sg.config.threads = before


def test_large_reductions_give_the_same_bits_for_any_thread_count(threads):
    x, m = T.fvector("x"), T.fmatrix("m")
    f = sg.function([x, m], [T.exp(x).sum(), x.max(), x[::3].sum(), (x * x).prod(), m.sum(axis=1),
                             T.logsumexp(m, axis=1)], mode=LLVM)
    v = np.random.default_rng(1).uniform(-1, 1, 5 * 2 ** 16 + 123).astype("float32")
    a = np.random.default_rng(2).standard_normal((600, 700)).astype("float32")
    results = []
    for n in (1, 2, 3):
        threads(n)
        results.append(f(v, a))
    for other in results[1:]:
        for p, q in zip(results[0], other):
            np.testing.assert_array_equal(p, q)
    want = [np.exp(v.astype("float64")).sum(), v.max(), v[::3].astype("float64").sum(),
            np.prod((v * v).astype("float64")), a.astype("float64").sum(axis=1)]
    for k in (1, 3):
        np.testing.assert_allclose(results[0][k], want[k], rtol=1e-6)
    # Sums: within 2 float32 ulp of the sum of the terms' magnitudes (the usual bound; NumPy's own
    # float32 sums of these rows are off by more).
    for k, terms in ((0, np.exp(v)), (2, v[::3]), (4, a)):
        scale = np.abs(terms.astype("float64")).sum(axis=-1).astype("float32")
        assert np.all(np.abs(results[0][k] - want[k]) <= 2 * np.spacing(scale)), k
    v[200_000] = np.nan
    assert np.isnan(f(v, a)[1])


def test_large_elementwise_loops_split_across_threads_match_numpy(threads):
    x, y = T.fmatrix("x"), T.frow("y")
    f = sg.function([x, y], [T.exp(-x * x) * T.sin(x) + y, x * 2], mode=LLVM)
    a = np.random.default_rng(3).uniform(-3, 3, (301, 1000)).astype("float32")
    r = np.random.default_rng(4).uniform(-1, 1, (1, 1000)).astype("float32")
    threads(2)
    for data in (a, a[::-1], a[:, ::2], a[:1]):  # contiguous, negative and odd strides, a single row
        got = f(data, r[:, :data.shape[1]])
        np.testing.assert_allclose(got[0], np.exp(-data * data) * np.sin(data) + r[:, :data.shape[1]], rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_array_equal(got[1], data * 2)


def test_threads_option_is_validated():
    with pytest.raises(ValueError, match="threads"):
        sg.config.threads = 0
    with pytest.raises(ValueError, match="threads"):
        sg.config.threads = "many"
