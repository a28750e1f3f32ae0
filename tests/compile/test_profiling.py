import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.compile.profiling import profile


def _step(backend):
    x = T.fmatrix("x")
    w = sg.shared(np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3), name="w")
    loss = T.tanh(T.dot(x, w)).sum()
    f = sg.function([x], loss, updates=[(w, w - 0.1 * sg.grad(loss, w))], mode=sg.Mode(backend=backend))
    return f, w, np.arange(20, dtype="float32").reshape(5, 4) / 20


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_profile_times_every_node_of_the_compiled_graph(backend):
    f, _, x = _step(backend)
    stats = profile(f, x, repeats=2)
    assert [n.node for n in stats.nodes] == f.fgraph.toposort()
    assert all(n.seconds > 0 for n in stats.nodes)
    assert stats.call_seconds > 0
    assert sum(c for _, _, c in stats.by_op()) == len(stats.nodes)
    assert stats.nodes[0].shapes == tuple(np.shape(v) for v in _input_values(f, stats.nodes[0].node, x))


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_profile_leaves_shared_variables_as_they_were(backend):
    f, w, x = _step(backend)
    before = w.get_value().copy()
    profile(f, x, repeats=3)
    np.testing.assert_array_equal(w.get_value(), before)


def test_summary_names_the_slowest_ops_with_their_shares():
    f, _, x = _step("llvm")
    stats = profile(f, x, repeats=2)
    text = stats.summary(top=3)
    rows = stats.by_op()
    assert rows == sorted(rows, key=lambda r: -r[1])
    assert "backend llvm" in text
    assert any(line.startswith(rows[0][0]) and line.rstrip().endswith(str(rows[0][2])) for line in text.splitlines())


def _input_values(f, node, x):
    values = dict(zip(f.fgraph.inputs, [x] + [s.get_value() for s in f.shared_inputs]))
    return [values[i] if i in values else getattr(i, "data", None) for i in node.inputs]
