"""One module compiled as several parts on several threads (backends/llvm/parallel.py)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T

llvm = pytest.importorskip("llvmlite.binding")

from symgraph.backends.llvm import jit, parallel


def _step():
    rng = np.random.default_rng(0)
    x, y = T.fmatrix("x"), T.ivector("y")
    w1 = sg.shared(rng.standard_normal((12, 9)).astype("float32"), name="w1")
    w2 = sg.shared(rng.standard_normal((9, 4)).astype("float32"), name="w2")
    h = T.tanh(T.dot(x, w1))
    p = T.nnet.softmax(T.dot(h, w2))
    loss = T.mean(T.nnet.categorical_crossentropy(p, y)) + T.sum(T.log1p(T.exp(-h * h)))
    params = [w1, w2]
    updates = [(q, q - 0.1 * g) for q, g in zip(params, sg.grad(loss, params))]
    args = (rng.standard_normal((7, 12)).astype("float32"), rng.integers(0, 4, 7).astype("int32"))
    return [x, y], loss, updates, params, args


def _ir_of_step():
    captured = []
    original = jit.compile_ir

    def capture(ir_text, names, **kw):
        captured.append(ir_text)
        return original(ir_text, names, **kw)

    ins, loss, updates, _, _ = _step()
    jit.compile_ir = capture
    try:
        sg.function(ins, loss, updates=updates, mode="llvm")
    finally:
        jit.compile_ir = original
    return max(captured, key=len)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(sg.config, "compiledir", str(tmp_path))
    from symgraph.backends.llvm import linker

    monkeypatch.setattr(linker, "_compiled", {})
    yield tmp_path


def test_split_parts_each_define_a_disjoint_share_and_declare_the_rest(fresh_cache, monkeypatch):
    monkeypatch.setattr(parallel, "MIN_SPLIT_CHARS", 0)
    text = _ir_of_step()
    parts = parallel.split(text, 3, prefix="seg")
    # Three parts of optimised functions, and the glue (optnone) apart when there is much of it.
    glue = [parallel.is_glue(p) for p in parts]
    assert glue == [False] * 3 + [True] * (len(parts) - 3) and len(parts) in (3, 4)
    defined = []
    for p in parts:
        module = llvm.parse_assembly(p)
        module.verify()
        defined.append({f.name for f in module.functions if not f.is_declaration})
        declared = {f.name for f in module.functions if f.is_declaration}
        assert defined[-1].isdisjoint(declared)
    assert all(defined) and sum(map(len, defined)) == len(set().union(*defined))
    whole = {f.name for f in llvm.parse_assembly(text).functions if not f.is_declaration}
    # Internal functions come back external under the segment's prefix; the entry keeps its name.
    assert {n.removeprefix("seg.") for n in set().union(*defined)} == whole


def test_glue_is_compiled_apart_at_codegen_level_0(fresh_cache, monkeypatch):
    text = _ir_of_step()
    monkeypatch.setattr(parallel, "GLUE_SPLIT_CHARS", 0)
    monkeypatch.setattr(parallel, "MIN_SPLIT_CHARS", 10**9)  # the optimised functions stay in one part
    parts = parallel.split(text, 2, prefix="g")
    assert [parallel.is_glue(p) for p in parts] == [False, True]
    levels = []

    def machine(level):
        levels.append(level)
        return jit._new_target_machine(level)

    objects = parallel.compile_parts(parts, machine, jit._tuning, 1)
    assert sorted(levels) == [0, 2] and all(objects)
    monkeypatch.setattr(parallel, "GLUE_SPLIT_CHARS", 10**9)
    assert parallel.split(text, 1, prefix="g") == [text]


def test_small_module_is_not_split():
    text = 'define i32 @"f"()\n{\nentry:\n  ret i32 1\n}\n'
    assert parallel.split(text, 4, prefix="p") == [text]


@pytest.mark.parametrize("threads", [1, 3])
def test_step_compiled_in_parts_matches_the_numpy_backend(fresh_cache, monkeypatch, threads):
    monkeypatch.setattr(parallel, "MIN_SPLIT_CHARS", 0)
    monkeypatch.setattr(parallel, "GLUE_SPLIT_CHARS", 10**9)  # parts of optimised code only (glue: above)
    monkeypatch.setattr(parallel, "cores", lambda: 4)
    monkeypatch.setattr(sg.config, "threads", threads)
    ins, loss, updates, params, args = _step()
    start = [p.get_value() for p in params]
    f = sg.function(ins, loss, updates=updates, mode="llvm")
    got = f(*args)
    got_params = [p.get_value() for p in params]
    for p, v in zip(params, start):
        p.set_value(v)
    want = sg.function(ins, loss, updates=updates, mode="numpy")(*args)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, p in zip(got_params, params):
        np.testing.assert_allclose(a, p.get_value(), rtol=1e-5, atol=1e-6)
    from symgraph.backends.llvm.cache import MAGIC

    blobs = [e.read_bytes()[len(MAGIC) + 32:] for e in fresh_cache.rglob("*") if e.is_file()]
    parts = [len(jit._unpack(b)[1]) for b in blobs if jit._unpack(b) is not None]
    assert max(parts) == threads


def test_parts_load_from_the_disk_cache_in_a_new_process(fresh_cache, monkeypatch):
    here = str(Path(__file__).parent)
    code = (
        f"import sys; sys.path.insert(0, {here!r})\n"
        "import symgraph as sg\n"
        "from symgraph.backends.llvm import jit, parallel\n"
        "parallel.MIN_SPLIT_CHARS = 0\n"
        "sg.config.threads = 2; parallel.cores = lambda: 2\n"
        "from test_parallel_compile import _step\n"
        "ins, loss, updates, params, args = _step()\n"
        "f = sg.function(ins, loss, updates=updates, mode='llvm')\n"
        "print(repr(float(f(*args))), jit.compile_times['llvm'] > 0, jit.compile_times['load'] > 0)\n"
    )
    env = dict(os.environ, SYMGRAPH_FLAGS=f"compiledir={fresh_cache}")
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    loss1, compiled1, _ = first.stdout.split()
    loss2, compiled2, loaded2 = second.stdout.split()
    assert loss1 == loss2
    assert (compiled1, compiled2, loaded2) == ("True", "False", "True")
