"""Compile-time structure of the llvm backend: structural cache keys, warm starts without IR, kernel functions."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
from symgraph.backends.llvm import jit
from symgraph.backends.llvm import segment_key as sk
from symgraph.backends.llvm.cache import CacheCorruptionWarning, object_cache
from symgraph.backends.llvm.segment import build_segment

import symgraph as sg
import symgraph.tensor as T

LLVM = sg.Mode(backend="llvm")
TARGET = "target"


def _key(inputs, outputs, constants=()):
    """The segment key of the rewritten graph ``inputs -> outputs`` (one segment, no fallbacks)."""
    f = sg.function(inputs, outputs, mode=LLVM)
    fg = f.fgraph
    return sk.segment_key(fg.toposort(), list(fg.inputs), list(fg.outputs), list(constants), TARGET)


def test_segment_key_is_stable_and_tracks_what_the_code_depends_on():
    x, y = T.dvector("x"), T.dvector("y")

    def exp3(v):
        return _key([v], T.exp(v) * 3)

    base = exp3(x)
    assert base is not None and base == exp3(y)  # names do not matter
    different = [
        _key([x], T.exp(x) * 4),                       # an embedded constant's value
        _key([x], T.exp(x) + 3),                       # the op
        exp3(T.fvector("x")),                          # the dtype
        exp3(T.dmatrix("x")),                          # the rank
        exp3(T.TensorType("float64", (4,))("x")),      # a static shape
    ]
    assert None not in different and len({base, *different}) == len(different) + 1


def test_segment_key_changes_with_the_backend_source(monkeypatch):
    x = T.dvector("x")
    before = _key([x], T.exp(x) * 3)
    monkeypatch.setattr(sk, "_version", ["edited"])
    assert _key([x], T.exp(x) * 3) != before


def test_table_constants_are_keyed_by_layout_not_values():
    x = T.dvector("x")
    f = sg.function([x], T.exp(x) * 3, mode=LLVM)
    fg = f.fgraph
    nodes, ins, outs = fg.toposort(), list(fg.inputs), list(fg.outputs)
    const = T.constant(np.arange(20.0))
    a = sk.segment_key(nodes, ins, outs, [(const, np.arange(20.0))], TARGET)
    b = sk.segment_key(nodes, ins, outs, [(const, np.arange(20.0) * 2)], TARGET)
    c = sk.segment_key(nodes, ins, outs, [(const, np.arange(20.0).reshape(4, 5))], TARGET)
    assert a == b != c


def _warm_script(tmp):
    return (
        "import json, numpy as np, symgraph as sg, symgraph.tensor as T\n"
        "from symgraph.backends.llvm import jit\n"
        f"sg.config.compiledir = {str(tmp)!r}\n"
        "x, y = T.dmatrix('x'), T.dvector('y')\n"
        "f = sg.function([x, y], [T.tanh(x) * 2 + y, T.sum(x * x, axis=0)], mode=sg.Mode(backend='llvm'))\n"
        "a = np.arange(6.0).reshape(2, 3) / 7\n"
        "out = f(a, np.array([1.0, 2.0, 3.0]))\n"
        "print(json.dumps({'times': jit.compile_times, 'out': [o.tolist() for o in out]}))\n"
    )


def test_a_warm_process_loads_object_code_without_emitting_ir(tmp_path):
    script = _warm_script(tmp_path)
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                      timeout=120, check=True).stdout) for _ in range(2)]
    cold, warm = runs
    assert cold["times"]["ir"] > 0 and cold["times"]["llvm"] > 0
    assert warm["times"]["ir"] == 0 and warm["times"]["llvm"] == 0 and warm["times"]["load"] > 0
    a = np.arange(6.0).reshape(2, 3) / 7
    for run in runs:
        np.testing.assert_allclose(run["out"][0], np.tanh(a) * 2 + [1.0, 2.0, 3.0])
        np.testing.assert_allclose(run["out"][1], (a * a).sum(axis=0))


def test_an_entry_naming_other_functions_is_reported_and_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setattr(sg.config, "compiledir", str(tmp_path))
    cache = object_cache()
    key = "ab" * 32
    # A payload whose checksum is fine but which does not define what the linker looks up.
    cache.store(key, jit._pack(["symgraph_other"], b"not object code"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert jit.load_cached(key, ["symgraph_wanted"]) is None
    assert any(issubclass(w.category, CacheCorruptionWarning) for w in caught)
    assert not os.path.exists(cache.path(key))


def test_identical_elementwise_kernels_are_emitted_once():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    a, b = sg.shared(np.ones((2, 3)), name="a"), sg.shared(np.ones((2, 3)), name="b")
    # Two SGD-like updates of the same form: one kernel function serves both.
    f = sg.function([x, y], [], updates=[(a, a - 0.5 * x), (b, b - 0.5 * y)], mode=LLVM)
    fg = f.fgraph
    ir_text = build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), [])
    assert ir_text.count('define internal void @"kernel.') == 1
    f(np.full((2, 3), 2.0), np.full((2, 3), 4.0))
    np.testing.assert_allclose(a.get_value(), 0.0)
    np.testing.assert_allclose(b.get_value(), -1.0)


def test_glue_entry_points_skip_optimisation_but_hot_loops_keep_it():
    x = T.dmatrix("x")
    glue = sg.function([x], T.exp(x) * 2, mode=LLVM).fgraph
    hot = sg.function([x], T.argmax(x, axis=1), mode=LLVM).fgraph
    for fg, optnone in ((glue, True), (hot, False)):
        ir_text = build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), [])
        entry = next(line for line in ir_text.splitlines() if line.startswith('define i32 @"probe"'))
        assert ("optnone" in entry) == optnone, entry


def test_intermediates_reuse_their_buffers_across_calls_and_outputs_stay_fresh():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = sg.function([x, y], [T.dot(T.exp(x), y), T.sum(T.dot(x, y) ** 2)], mode=LLVM)
    fg = f.fgraph
    ir_text = build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), [])
    # exp(x) and dot(x, y) are intermediates: buffers of the workspace, not new NumPy arrays.
    assert ir_text.count('call ptr @"symgraph.workspace_grow"') == 2
    rng = np.random.default_rng(3)
    kept = []
    for n, k, m in [(3, 4, 2), (30, 20, 10), (2, 2, 2), (3, 4, 2), (40, 30, 5)]:  # grow, shrink, grow
        a, b = rng.standard_normal((n, k)), rng.standard_normal((k, m))
        first, second = f(a, b)
        np.testing.assert_allclose(first, np.exp(a) @ b, rtol=1e-12)
        np.testing.assert_allclose(second, np.sum((a @ b) ** 2), rtol=1e-12)
        kept.append((first, np.exp(a) @ b))
    for got, want in kept:  # later calls did not write into earlier results
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_intermediates_whose_lives_do_not_overlap_share_a_buffer():
    x, w1, w2 = T.dmatrix("x"), T.dmatrix("w1"), T.dmatrix("w2")
    out = T.dot(T.tanh(T.dot(T.exp(x), w1)), w2)  # exp(x), dot1 and tanh(dot1) each die at the next node
    f = sg.function([x, w1, w2], out, mode=LLVM)
    fg = f.fgraph
    meta = {}
    ir_text = build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), [], meta)
    assert ir_text.count('call ptr @"symgraph.workspace_grow"') == 3 and meta["workspace"] == 2
    rng = np.random.default_rng(5)
    for n in (3, 40, 7):
        a, b, c = rng.standard_normal((n, 6)), rng.standard_normal((6, n)), rng.standard_normal((n, 2))
        np.testing.assert_allclose(f(a, b, c), np.tanh(np.exp(a) @ b) @ c, rtol=1e-12)


def test_a_segment_without_a_structural_key_is_keyed_by_its_ir(monkeypatch, tmp_path):
    from symgraph.backends.llvm import linker

    monkeypatch.setattr(sg.config, "compiledir", str(tmp_path))
    monkeypatch.setattr(linker, "segment_key", lambda *args: None)  # as for a prop with no stable rendering
    x = T.dvector("x")
    f = sg.function([x], T.sin(x) * 5 - 0.25, mode=LLVM)
    np.testing.assert_allclose(f(np.arange(4.0)), np.sin(np.arange(4.0)) * 5 - 0.25)
    assert [name for _, _, files in os.walk(tmp_path) for name in files if name.endswith(".o")]


def test_an_edit_beside_an_ops_module_changes_the_key_part_for_that_package(tmp_path):
    from symgraph.backends.llvm import segment_key

    (tmp_path / "ops.py").write_text("class Op: pass\n")
    (tmp_path / "helper.py").write_text("A = 1\n")
    before = segment_key._package_hash(str(tmp_path / "ops.py"))
    (tmp_path / "helper.py").write_text("A = 2\n")
    segment_key._file_hashes.clear()
    assert segment_key._package_hash(str(tmp_path / "ops.py")) != before
