"""Inline vector math (backends/llvm/vecmath*.py): accuracy in ulps against NumPy/SciPy, and vectorisation."""

import re

import numpy as np
import pytest
import scipy.special

import symgraph as sg
from symgraph import tensor as T

LLVM = sg.Mode(backend="llvm")
# Largest distance allowed from the reference, in units in the last place.
MAX_ULP = {"float32": 4, "float64": 2}


def _longdouble(fn):
    return lambda x: fn(x.astype(np.longdouble))


def _sigmoid(x):
    # SciPy's own float32/float64 expit flushes results below ~1e-38 / 1e-308 to zero: use its long double loop.
    return scipy.special.expit(x.astype(np.longdouble))


REFERENCE = {
    "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1, "tanh": np.tanh,
    "sigmoid": _sigmoid, "softplus": lambda x: np.logaddexp(np.zeros((), x.dtype), x),
    "erf": scipy.special.erf, "sin": np.sin, "cos": np.cos,
}
EDGES = {
    "float64": [709.782712893384, 709.7827128933841, -745.1332191019411, -745.1332191019412, -708.39641853226408,
                -37.42994775023705, 0.85, -0.85, 0.5493061443340548, 1.0, 2.0, 3.5, 5.9, 6.0, 1e5, -1e5, 100001.0,
                1e22, 2.0 ** 60, 1.5707963267948966, 3.141592653589793, 0.9999999999999999, -0.9999999999999999],
    "float32": [88.72283, 88.72284, -103.97208, -103.97209, -87.33655, 0.85, -0.85, 1e5, 1e30, 3.4028235e38,
                1.5707964, 3.1415927, 0.99999994, -0.99999994],
}


def ulp_distance(got, want):
    """|got - want| in representable values between them (signed zeros equal; NaN only matches NaN)."""
    ints = np.int64 if got.dtype == np.float64 else np.int32
    mask = np.iinfo(ints).max
    a = got.view(ints).astype(np.int64)
    b = want.view(ints).astype(np.int64)
    a = np.where(a < 0, -(a & mask), a)
    b = np.where(b < 0, -(b & mask), b)
    d = np.abs(a - b).astype(np.float64)
    nan_a, nan_b = np.isnan(got), np.isnan(want)
    d[nan_a & nan_b] = 0
    d[nan_a ^ nan_b] = np.inf
    return d


def sweep(dtype, n=60_000, seed=0):
    """Log-spaced magnitudes over the whole range, both signs, a dense linear part, and special values."""
    info = np.finfo(dtype)
    rng = np.random.default_rng(seed)
    mags = np.exp(rng.uniform(np.log(float(info.smallest_subnormal)), np.log(float(info.max)), n))
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, info.tiny, -info.tiny, info.smallest_subnormal,
               -info.smallest_subnormal, info.max, -info.max, -1.0]
    parts = [mags, -mags, rng.uniform(-40, 40, n), rng.uniform(-2, 2, n), np.array(special + EDGES[dtype])]
    return np.concatenate(parts).astype(dtype)


def _compile(name, dtype):
    x = T.vector("x", dtype=dtype)
    f = sg.function([x], getattr(T, name)(x), mode=LLVM)
    assert not f._run.fallback_nodes
    return f


def reference(name, x):
    """The function in float64 (or better), rounded to x's dtype: NumPy's own float32 loops are up to 3 ulp off."""
    with np.errstate(all="ignore"):
        wide = x.astype(np.float64) if x.dtype == np.float32 else x
        return np.asarray(REFERENCE[name](wide)).astype(x.dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_unary_within_ulp_bound_of_numpy_over_whole_range(name, dtype):
    f = _compile(name, dtype)
    x = sweep(dtype)
    want = reference(name, x)
    got = f(x)
    d = ulp_distance(got, want)
    worst = int(np.argmax(d))
    assert d[worst] <= MAX_ULP[dtype], f"{name}: {d[worst]} ulp at x={x[worst]!r}: {got[worst]!r}, not {want[worst]!r}"
    zeros = want == 0
    np.testing.assert_array_equal(np.signbit(got[zeros]), np.signbit(want[zeros]), err_msg=f"sign of zero, {name}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trig_is_accurate_next_to_multiples_of_pi_over_2(dtype):
    # The worst cases of the reduction: the representable numbers closest to k pi/2.
    k = np.arange(1, 63_000, 7, dtype=np.float64)
    near = (k * (np.pi / 2)).astype(dtype)
    x = np.concatenate([near, np.nextafter(near, np.inf), -near]).astype(dtype)
    for name in ("sin", "cos"):
        got = _compile(name, dtype)(x)
        d = ulp_distance(got, reference(name, x))
        assert d.max() <= MAX_ULP[dtype], f"{name}: {d.max()} ulp at x={x[np.argmax(d)]!r}"


def test_trig_of_huge_arguments_on_strided_input_matches_numpy():
    x = T.dvector("x")
    f = sg.function([x], [T.sin(x), T.cos(x)], mode=LLVM)
    data = np.array([1e300, 3.0, -2e5, 1e22, np.inf, 0.5, -1e16, np.nan, 6.5e5, 7.0])
    for v in (data, data[::-2]):
        got_sin, got_cos = f(v)
        with np.errstate(invalid="ignore"):
            assert ulp_distance(got_sin, np.sin(v)).max() <= 1
            assert ulp_distance(got_cos, np.cos(v)).max() <= 1


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pow_matches_numpy_including_special_cases_and_extreme_results(dtype):
    special = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 2.5, np.inf, -np.inf, np.nan, 1e-30,
                        7.3, -0.75, np.finfo(dtype).smallest_subnormal, np.finfo(dtype).max])
    xs, ys = np.meshgrid(special, special)
    rng = np.random.default_rng(1)
    n = 20_000
    limit = float(np.log(np.finfo(dtype).max))
    # x near 1 with large y, and x over the whole range, both reaching overflow and underflow.
    near_one = 1 + rng.uniform(-0.3, 0.42, n)
    spread = np.exp(rng.uniform(-0.9, 0.9, n) * limit)
    x = np.concatenate([xs.ravel(), near_one, spread, rng.uniform(0, 30, n), -rng.integers(0, 30, n)])
    y = np.concatenate([ys.ravel(), rng.uniform(-1.05, 1.05, n) * limit / np.abs(np.log(near_one)),
                        rng.uniform(-1.05, 1.05, n) * limit / np.abs(np.log(spread)), rng.uniform(-25, 25, n),
                        rng.integers(-40, 40, n)])
    with np.errstate(all="ignore"):
        x, y = x.astype(dtype), y.astype(dtype)
        want = np.power(x.astype(np.float64), y.astype(np.float64)).astype(dtype)
    a, b = T.vector("a", dtype=dtype), T.vector("b", dtype=dtype)
    f = sg.function([a, b], a ** b, mode=LLVM)
    assert not f._run.fallback_nodes
    got = f(x, y)
    d = ulp_distance(got, want)
    worst = int(np.argmax(d))
    assert d[worst] <= MAX_ULP[dtype], f"pow({x[worst]!r}, {y[worst]!r}) = {got[worst]!r}, not {want[worst]!r}"
    zeros = want == 0
    np.testing.assert_array_equal(np.signbit(got[zeros]), np.signbit(want[zeros]))


def test_fused_chain_of_vector_math_matches_numpy():
    x = T.dvector("x")
    f = sg.function([x], T.tanh(T.exp(-x * x)) + T.softplus(x) * T.sigmoid(x) - T.log1p(T.abs(x)), mode=LLVM)
    v = np.random.default_rng(2).uniform(-20, 20, 5000)
    want = np.tanh(np.exp(-v * v)) + np.logaddexp(0, v) * scipy.special.expit(v) - np.log1p(np.abs(v))
    np.testing.assert_allclose(f(v), want, rtol=1e-14, atol=1e-14)


def _optimised_ir(build, dtype):
    import llvmlite.binding as llvm
    from symgraph.backends.llvm import jit
    from symgraph.backends.llvm.segment import build_segment

    x, y = T.vector("x", dtype=dtype), T.vector("y", dtype=dtype)
    f = sg.function([x, y], build(x, y), mode=LLVM, on_unused_input="ignore")
    fg = f.fgraph
    module = llvm.parse_assembly(build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), []))
    module.triple = llvm.get_process_triple()
    module.data_layout = str(jit.target_machine().target_data)
    jit.optimize(module)
    return str(module)


@pytest.mark.parametrize("name,dtype", [("exp", "float32"), ("exp", "float64"), ("log", "float64"),
                                        ("tanh", "float32"), ("sin", "float64"), ("pow", "float64")])
def test_contiguous_loop_is_vectorised_without_libm_calls(name, dtype):
    text = _optimised_ir((lambda x, y: x ** y) if name == "pow" else (lambda x, y: getattr(T, name)(x)), dtype)
    # The polynomial's fused multiply-adds on vectors of at least two lanes.
    t, suffix = ("float", "f32") if dtype == "float32" else ("double", "f64")
    widths = [int(n) for n in re.findall(rf"call <(\d+) x {t}> @llvm\.fma\.v\d+{suffix}", text)]
    assert widths and min(widths) >= 2, "no vector fma in the optimised IR"
    assert not re.search(rf"call [^\n]*@(llvm\.)?{name}f?(\.v\d+f\d+)?\(", text), "libm call left"


# Where each float32 kernel changes regime (range-reduction boundaries, switches between
# formulas, overflow, the onset of subnormal results, saturation): every float32 next to them is checked.
CRITICAL32 = {
    "exp": [88.72283, -87.33654, -103.97208, 0.34657359, -0.34657359, 1.0],
    "expm1": [88.72283, -17.32868, 0.34657359, -0.34657359, 1.0397208, -1.0397208],
    "log": [1.0, 0.70710677, 1.4142135, 1.1754944e-38, 3.4028235e38, 0.5, 2.0],
    "log1p": [-0.99999994, -0.29289323, 0.41421357, 1.0, 2.8284271, 3.3554432e7],
    "tanh": [0.55, -0.55, 9.010913, 1.0],
    "sigmoid": [-87.33654, -103.97208, 16.635532, 1.0, -1.0],
    "softplus": [-87.33654, -103.97208, 16.635532, 1.0, -1.0],
    "erf": [1.0, 2.0, 3.5, 3.9192059, -1.0],
    "sin": [0.7853982, 1.5707964, 3.1415927, 4.712389, 1e5, -1e5, 1e5 + 8],
    "cos": [0.7853982, 1.5707964, 3.1415927, 4.712389, 1e5, -1e5, 1e5 + 8],
}


def dense_sweep32(name, seed=3):
    """2**19 log-spaced magnitudes of each sign, 2**15 consecutive floats around each critical point,
    the 2**16 smallest subnormals and the floats around the smallest normal, of both signs, and specials."""
    rng = np.random.default_rng(seed)
    info = np.finfo(np.float32)
    mags = np.exp(rng.uniform(np.log(float(info.smallest_subnormal)), np.log(float(info.max)), 1 << 19))
    around = np.arange(-(1 << 14), 1 << 14, dtype=np.int32)
    windows = [(np.float32(c).view(np.int32) + around).view(np.float32) for c in CRITICAL32[name]]
    low = np.concatenate([np.arange(1 << 16, dtype=np.int32), info.tiny.view(np.int32) + around]).view(np.float32)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, info.max, -info.max, -1.0, 1.0], np.float32)
    parts = [mags, -mags, low, -low, *windows, special]
    return np.concatenate([np.asarray(p, np.float32) for p in parts])


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_float32_within_4_ulp_of_correctly_rounded_dense_sweep(name):
    x = dense_sweep32(name)
    got = _compile(name, "float32")(x)
    want = reference(name, x)
    d = ulp_distance(got, want)
    worst = int(np.argmax(d))
    assert d[worst] <= 4, f"{name}: {d[worst]} ulp at x={x[worst]!r}: {got[worst]!r}, not {want[worst]!r}"
    zeros = want == 0
    np.testing.assert_array_equal(np.signbit(got[zeros]), np.signbit(want[zeros]), err_msg=f"sign of zero, {name}")
    # Strided (negative-step) input goes through the same kernel.
    np.testing.assert_array_equal(_compile(name, "float32")(x[::-3]), got[::-3])


@pytest.mark.parametrize("name", ["exp", "expm1", "log", "log1p", "tanh", "sigmoid", "softplus", "erf", "sin", "cos"])
def test_float32_loop_runs_in_float32_at_full_register_width(name):
    from symgraph.backends.llvm import jit
    from symgraph.backends.llvm.segment import build_segment

    text = _optimised_ir(lambda x, y: getattr(T, name)(x), "float32")
    widths = [int(n) for n in re.findall(r"call <(\d+) x float> @llvm\.fma\.v\d+f32", text)]
    assert widths and min(widths) >= 8, "no 8-lane float32 fma in the optimised IR"
    assert "fpext <" not in text, "float32 values widened to float64 in the loop"
    if name == "exp":
        # On the machine code too: float fmas of 8 lanes or more (ps on ymm, or zmm with AVX-512),
        # no conversions to double.
        fg = sg.function([x := T.vector("x", dtype="float32")], T.exp(x), mode=LLVM).fgraph
        asm = jit.emit_assembly(build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), []))
        assert re.search(r"vfmadd\d+ps\s+[^\n]*%[yz]mm", asm), "no 8-wide float fma (ps on ymm) in the assembly"
        assert "cvtps2pd" not in asm and not re.search(r"v\w+pd\s+[^\n]*%[yz]mm", asm)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trig_loop_stays_vectorised_when_module_is_compiled_in_parts(dtype, monkeypatch):
    import llvmlite.binding as llvm
    from symgraph.backends.llvm import jit, parallel
    from symgraph.backends.llvm.segment import build_segment

    monkeypatch.setattr(parallel, "MIN_SPLIT_CHARS", 0)

    fg = sg.function([x := T.vector("x", dtype=dtype)], T.sin(x), mode=LLVM).fgraph
    text = build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), [])
    optimised = []
    parts = parallel.split(text, 2, prefix="probe")
    assert len(parts) == 2
    for part in parts:
        module = llvm.parse_assembly(part)
        module.triple = llvm.get_process_triple()
        module.data_layout = str(jit.target_machine().target_data)
        jit.optimize(module)
        optimised.append(str(module))
    t, suffix = ("float", "f32") if dtype == "float32" else ("double", "f64")
    assert re.search(rf"call <\d+ x {t}> @llvm\.fma\.v\d+{suffix}", "".join(optimised)), "the loop stayed scalar"
