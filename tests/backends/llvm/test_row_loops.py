"""Elementwise loops over views with unit-stride rows (column slices, broadcasts): the vectorised row path."""

import re

import numpy as np
import pytest

import symgraph as sg
from symgraph import tensor as T

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")
RNG = np.random.default_rng(5)


def _both(inputs, outputs):
    f, g = sg.function(inputs, outputs, mode=LLVM), sg.function(inputs, outputs, mode=NUMPY)
    assert not f._run.fallback_nodes, f._run.fallback_nodes
    return f, g


def _assert_same(f, g, *args, exact=False):
    for got, want in zip(f(*args), g(*args)):
        assert got.dtype == want.dtype and got.shape == want.shape
        if exact:
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def _values(dtype, shape):
    if dtype == "bool":
        return RNG.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(0, 50, shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def _layouts(big):
    """(name, view) pairs of one (8, 16) shape from ``big`` (at least 16 x 32), in every layout class."""
    return [
        ("contiguous", big[:8, :16].copy()),
        ("column slice", big[:8, :16]),          # rows apart, each unit-stride: the row path
        ("offset column slice", big[::2, 3:19][:8]),
        ("negative inner stride", big[:8, 16:0:-1]),   # reversed rows: the general path
        ("inner stride 2", big[:8, :32:2]),
        ("transposed", big[:16, :8].T),
    ]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_elemwise_with_row_and_column_broadcasts_matches_numpy_on_every_layout(dtype):
    x, y = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype)
    r, c = T.row("r", dtype=dtype), T.col("c", dtype=dtype)
    f, g = _both([x, y, r, c], [x * y + r - c, (x - r) * c])
    big_x, big_y = _values(dtype, (20, 40)), _values(dtype, (20, 40))
    for (_, xv), (_, yv) in zip(_layouts(big_x), _layouts(big_y)):
        rv = _values(dtype, (4, 40))[:1, 5:5 + xv.shape[1]]
        cv = _values(dtype, (xv.shape[0], 3))[:, 1:2]    # a column whose rows are apart
        _assert_same(f, g, xv, yv, rv, cv)
        # Mixed layouts: one operand contiguous, one reversed.
        _assert_same(f, g, xv, np.ascontiguousarray(yv[:, ::-1]), rv, cv)


def test_lstm_gate_kernel_over_column_slices_of_the_preactivation_matches_numpy():
    z, c = T.fmatrix("z"), T.fmatrix("c")
    h = 24
    i, fg, o, u = (z[:, k * h:(k + 1) * h] for k in range(4))
    c_new = T.nnet.sigmoid(fg) * c + T.nnet.sigmoid(i) * T.tanh(u)
    f, g = _both([z, c], [c_new, T.nnet.sigmoid(o) * T.tanh(c_new)])
    zv, cv = _values("float32", (20, 4 * h)), _values("float32", (20, h))
    for zz, cc in [(zv, cv), (zv[::2], cv[::2]), (zv[:, ::-1], cv[:, ::-1]), (zv[:0], cv[:0])]:
        for got, want in zip(f(zz, cc), g(zz, cc)):
            np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64"])
def test_integer_elemwise_on_column_slices_and_broadcasts_matches_numpy(dtype):
    x, y, c = T.matrix("x", dtype=dtype), T.matrix("y", dtype=dtype), T.col("c", dtype=dtype)
    f, g = _both([x, y, c], [x * y + c, T.maximum(x, y) - c])
    big_x, big_y = _values(dtype, (20, 40)), _values(dtype, (20, 40))
    for (_, xv), (_, yv) in zip(_layouts(big_x), _layouts(big_y)):
        _assert_same(f, g, xv, yv, _values(dtype, (xv.shape[0], 2))[:, :1], exact=True)


def test_bool_elemwise_on_column_slices_and_reversed_views_matches_numpy():
    x, y, c = T.matrix("x", dtype="bool"), T.matrix("y", dtype="bool"), T.col("c", dtype="bool")
    f, g = _both([x, y, c], [(x & ~y) | c, T.xor(x, y)])
    big_x, big_y = _values("bool", (20, 40)), _values("bool", (20, 40))
    for (_, xv), (_, yv) in zip(_layouts(big_x), _layouts(big_y)):
        _assert_same(f, g, xv, yv, _values("bool", (xv.shape[0], 2))[:, 1:], exact=True)


def test_three_dimensional_views_with_a_broadcast_middle_axis_match_numpy():
    x = T.ftensor3("x")
    m = T.TensorType("float32", (None, 1, None))("m")
    f, g = _both([x, m], [x * m + 1])
    big = _values("float32", (6, 10, 50))
    mv = _values("float32", (6, 1, 50))
    for xv, mm in [(big[:, :7, :20], mv[:, :, 30:]), (big[:, ::3, 40:20:-1], mv[:, :, :20]),
                   (big[::2, :, :20], mv[::2, :, ::-1][:, :, :20]), (big[:, :0, :20], mv[:, :, :20]),
                   (big[:, :7, :0], mv[:, :, :0]), (big[:, :7, :1], mv[:, :, :1])]:
        _assert_same(f, g, xv, mm)


def test_empty_column_slices_give_empty_results():
    x = T.fmatrix("x")
    f, g = _both([x], [T.exp(x) * 2])
    big = _values("float32", (5, 8))
    for xv in (big[:, :0], big[:0, 2:6], big[:0, ::-1]):
        _assert_same(f, g, xv)
    assert f(big[:, 3:3])[0].shape == (5, 0)


def _optimised_kernels(inputs, outputs):
    import llvmlite.binding as llvm
    from symgraph.backends.llvm import jit
    from symgraph.backends.llvm.segment import build_segment

    fg = sg.function(inputs, outputs, mode=LLVM).fgraph
    module = llvm.parse_assembly(build_segment("probe", fg.toposort(), list(fg.inputs), list(fg.outputs), []))
    module.triple = llvm.get_process_triple()
    module.data_layout = str(jit.target_machine().target_data)
    jit.optimize(module)
    return [str(f) for f in module.functions if f.name.startswith("kernel.")]


def _successors(kernel):
    """Control-flow graph of a function's IR text: {block: names of the blocks it may branch to}."""
    graph, block = {}, "entry"
    for line in kernel.splitlines():
        label = re.match(r"^([\w.]+):", line)
        if label:
            block = label.group(1)
        graph.setdefault(block, set()).update(re.findall(r"label %([\w.]+)", line))
    return graph


def _reaches(graph, start, goal):
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def _assert_rows_vectorised(kernel, op):
    assert re.search(rf"{op}[^\n]*<(?:[4-9]|\d\d+) x float>", kernel), f"no vector {op}"
    # One vectorised loop, nested in the loop over rows (a flat loop over all elements has no outer
    # loop); the general strided nest stays scalar.
    assert len(re.findall(r"^vector\.body:", kernel, re.MULTILINE)) == 1
    graph = _successors(kernel)
    assert _reaches(graph, "vector.body", "r0.body") and _reaches(graph, "r0.body", "vector.body")


def test_row_path_inner_loop_is_vectorised_for_a_column_broadcast():
    x, c = T.fmatrix("x"), T.fcol("c")
    (kernel,) = _optimised_kernels([x, c], [x * c])
    _assert_rows_vectorised(kernel, "fmul")


def test_row_path_inner_loop_is_vectorised_for_column_slices():
    z = T.fmatrix("z")
    (kernel,) = _optimised_kernels([z], [z[:, :16] + z[:, 16:32]])
    _assert_rows_vectorised(kernel, "fadd")
