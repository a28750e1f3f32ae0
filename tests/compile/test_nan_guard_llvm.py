"""``Mode(nan_guard=True)`` on every CPU backend: the first node to make a NaN or Inf is named."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.compile.backend import backend_status
from symgraph.graph import Apply, Op

AVAILABLE = {name for name, ok, _ in backend_status() if ok}
BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(b not in AVAILABLE, reason=f"{b} unavailable"))
            for b in ("numpy", "llvm")]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def guarded(inputs, outputs, backend):
    return sg.function(inputs, outputs, mode=sg.Mode(backend=backend, nan_guard=True))


def chain(x, y):
    """An elementwise chain fused into one kernel without the guard."""
    q = x / y  # Inf where y == 0
    r = T.log(x)  # NaN where x < 0
    return T.exp(q) * 2 + r


def test_guard_names_the_log_that_made_a_nan_inside_an_elementwise_chain(backend):
    x, y = T.dvector("x"), T.dvector("y")
    f = guarded([x, y], chain(x, y), backend)
    with pytest.raises(FloatingPointError, match=r"nan_guard: log produced NaN in output 0") as info:
        f(np.array([1.0, -2.0]), np.array([1.0, 1.0]))
    assert "r = T.log(x)" in str(info.value)


def test_guard_names_the_division_that_made_an_inf_before_later_ops_see_it(backend):
    x, y = T.dvector("x"), T.dvector("y")
    f = guarded([x, y], chain(x, y), backend)
    # exp(inf) and inf * 2 are Inf too: only the first producer is named.
    with pytest.raises(FloatingPointError, match=r"nan_guard: true_div produced Inf in output 0") as info:
        f(np.array([1.0, 2.0]), np.array([0.0, 1.0]))
    assert "q = x / y" in str(info.value)


def test_guarded_results_match_the_unguarded_fused_function_on_finite_inputs(backend):
    x, y = T.fmatrix("x"), T.fmatrix("y")
    out = [chain(x, y), (T.sqrt(x) * y).sum(axis=0)]
    f = guarded([x, y], out, backend)
    g = sg.function([x, y], out, mode=sg.Mode(backend=backend))
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 2.0, (5, 4)).astype("float32")
    b = rng.uniform(0.5, 2.0, (4, 5)).astype("float32").T  # not contiguous
    for got, want in zip(f(a, b), g(a, b)):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)
    if backend == "llvm":
        assert f._run.fallback_nodes == []
    # Without the guard a NaN is just a value.
    assert np.isnan(g(-a, b)[0]).all()


def test_guard_checks_scalar_results_and_leaves_integer_results_alone(backend):
    s, n = T.dscalar("s"), T.lscalar("n")
    f = guarded([s, n], [T.log(s) * 2, n // 2], backend)
    assert f(4.0, 7)[1] == 3
    with pytest.raises(FloatingPointError, match=r"nan_guard: log produced NaN"):
        f(-4.0, 7)


class NaNWhereNegative(Op):
    """A test Op with no native lowering: NaN where its input is negative."""

    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        x = inputs[0]
        output_storage[0][0] = np.where(x < 0, np.nan, x)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]


def test_guard_checks_the_outputs_of_nodes_run_through_perform(backend):
    x = T.dvector("x")
    f = guarded([x], NaNWhereNegative()(x + 1) * 3, backend)
    if backend == "llvm":
        assert [type(n.op) for n in f._run.fallback_nodes] == [NaNWhereNegative]
    np.testing.assert_allclose(f(np.array([0.0, 1.0])), [3.0, 6.0])
    with pytest.raises(FloatingPointError, match=r"nan_guard: NaNWhereNegative.* produced NaN"):
        f(np.array([-2.0, 1.0]))


def test_guard_checks_a_scans_outputs(backend):
    x0 = T.dscalar("x0")
    # The body is not guarded node by node; the loop's results are.
    xs, _ = sg.scan(lambda c: T.sqrt(c - 1.0), outputs_info=[x0], n_steps=3)
    f = guarded([x0], xs[-1], backend)
    np.testing.assert_allclose(f(10.0), np.sqrt(np.sqrt(np.sqrt(9.0) - 1.0) - 1.0))
    with pytest.raises(FloatingPointError, match=r"nan_guard: .*[Ss]can.* produced NaN"):
        f(1.5)
