"""RandomDraw on llvm: Philox blocks, uniforms and normals bit for bit as ``perform``, and the next state."""

import re

import llvmlite.binding as llvm
import numpy as np
import pytest
from symgraph.backends.llvm import jit
from symgraph.backends.llvm.segment import build_segment

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import InputShapeError
from symgraph.tensor.random import RandomDraw, RandomStreams
from symgraph.tensor.random.boxmuller import NumpyOps, box_muller

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")
DRAWS = [(dist, dtype) for dist in ("uniform", "normal") for dtype in ("float32", "float64")]
U64 = (1 << 64) - 1
# (key, counter, size): empty, one value, odd counts (a partial last block), counters whose
# blocks cross 2**32 (the carry into the second counter word) and 2**64 (wrap to 0).
STATES = [
    (123, 0, (3, 5)),
    (0, 0, (0, 4)),
    (7, 5, (1, 1)),
    (U64 - 4, (1 << 32) - 3, (7, 9)),
    (0x9E3779B97F4A7C15, U64 - 2, (3, 11)),
    (2 ** 40 + 17, 2 ** 33, (2, 1001)),
]


def _functions(dist, dtype, size):
    state = T.vector("state", dtype="uint64")
    new_state, sample = RandomDraw(dist, dtype)(state, size)
    inputs = [state] + ([size] if size.owner is None and not hasattr(size, "data") else [])
    return sg.function(inputs, [new_state, sample], mode=LLVM), sg.function(inputs, [new_state, sample], mode=NUMPY)


def _bitwise_equal(got, want):
    got, want = np.asarray(got), np.asarray(want)
    return got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()


@pytest.mark.parametrize("dist,dtype", DRAWS)
def test_draws_and_next_state_are_bitwise_those_of_perform(dist, dtype):
    size = T.tensor("int64", shape=(2,), name="size")
    fast, ref = _functions(dist, dtype, size)
    assert not fast._run.fallback_nodes
    for key, counter, shape in STATES:
        args = (np.array([key, counter], dtype="uint64"), np.array(shape, dtype="int64"))
        (s_fast, x_fast), (s_ref, x_ref) = fast(*args), ref(*args)
        assert _bitwise_equal(x_fast, x_ref), (dist, dtype, key, counter, shape)
        assert _bitwise_equal(s_fast, s_ref), (s_fast, s_ref)
    per_block = 4 if dtype == "float32" else 2
    assert int(s_fast[1]) == counter + -(-2 * 1001 // per_block)


@pytest.mark.parametrize("size_dtype,shape", [("uint8", ()), ("int32", (5,)), ("int16", (2, 3, 2))])
def test_size_of_any_integer_dtype_and_rank_draws_as_perform(size_dtype, shape):
    size = T.tensor(size_dtype, shape=(len(shape),), name="size")
    fast, ref = _functions("normal", "float64", size)
    args = (np.array([99, 3], dtype="uint64"), np.array(shape, dtype=size_dtype))
    for got, want in zip(fast(*args), ref(*args)):
        assert _bitwise_equal(got, want)
    assert fast(*args)[1].shape == shape


def test_a_large_draw_split_across_threads_is_the_serial_draw():
    before = sg.config.threads
    sg.config.threads = 2
    try:
        fast, ref = _functions("uniform", "float64", T.tensor("int64", shape=(1,), name="size"))
        # 10^5 values: 50000 blocks, enough for two chunks (threads.MIN_CHUNK blocks each).
        args = (np.array([5, U64 - 20000], dtype="uint64"), np.array([100_001]))
        for got, want in zip(fast(*args), ref(*args)):
            assert _bitwise_equal(got, want)
    finally:
        sg.config.threads = before


def test_normal_transform_is_box_muller_within_two_ulps_of_the_radius():
    rng = np.random.default_rng(3)
    u1 = np.concatenate([rng.integers(0, 2 ** 53, 200_000) * 2.0 ** -53, [0.0, 1 - 2.0 ** -53, 0.5]])
    u2 = np.concatenate([rng.integers(0, 2 ** 53, 200_000) * 2.0 ** -53, [0.25, 0.5, 0.75]])
    z0, z1 = box_muller(NumpyOps, u1, u2)
    ld = np.longdouble
    if np.finfo(ld).nmant < 60:
        pytest.skip("no extended precision for the reference")
    radius = np.sqrt(-2 * np.log(1 - u1.astype(ld)))
    theta = 2 * ld("3.14159265358979323846264338327950288") * u2.astype(ld)
    ulp = np.spacing(radius.astype("float64"))
    assert np.all(np.abs(z0.astype(ld) - radius * np.cos(theta)) <= 2.5 * ulp)
    assert np.all(np.abs(z1.astype(ld) - radius * np.sin(theta)) <= 2.5 * ulp)


def test_random_streams_on_llvm_give_numpys_sequence_call_after_call():
    results = {}
    for name, mode in (("llvm", LLVM), ("numpy", NUMPY)):
        srng = RandomStreams(42)
        f = sg.function([], [srng.normal((5, 3), avg=1.0, std=2.0, dtype="float32"),
                             srng.uniform((7,), dtype="float64"), srng.normal((3,), dtype="float64")], mode=mode)
        if name == "llvm":
            assert not f._run.fallback_nodes
        results[name] = [f() for _ in range(3)]
    for got, want in zip(results["llvm"], results["numpy"]):
        for a, b in zip(got, want):
            assert _bitwise_equal(a, b)
    assert not np.array_equal(results["llvm"][0][0], results["llvm"][1][0])  # the state advanced


@pytest.mark.parametrize("state,shape,message", [
    ([1, 2, 3], (2, 2), "length 2"),
    ([1, 2], (2, -1), "must not be negative"),
])
def test_bad_state_or_negative_size_raise_the_same_error_on_both_backends(state, shape, message):
    size = T.tensor("int64", shape=(2,), name="size")
    args = (np.array(state, dtype="uint64"), np.array(shape, dtype="int64"))
    for f in _functions("uniform", "float32", size):
        with pytest.raises(InputShapeError, match=message) as info:
            f(*args)
        assert "RandomUniform{float32}" in str(info.value)
        assert "test_random_native.py" in str(info.value)  # names the line that made the draw


def test_the_block_loop_is_vectorised_and_never_contracted_into_fma():
    state = T.vector("state", dtype="uint64")
    new_state, sample = RandomDraw("normal", "float64")(state, T.tensor("int64", shape=(1,), name="size"))
    fg = sg.function([state, new_state.owner.inputs[1]], [new_state, sample], mode=LLVM).fgraph
    module = llvm.parse_assembly(build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), []))
    module.triple = llvm.get_process_triple()
    module.data_layout = str(jit.target_machine().target_data)
    jit.optimize(module)
    text = str(module)
    # Philox's 32x32->64 products and the Box-Muller division run on vectors.
    assert re.search(r"= mul[ a-z]* <\d+ x i64>", text) and re.search(r"= fdiv <\d+ x double>", text)
    assert "fma" not in text and "contract" not in text
