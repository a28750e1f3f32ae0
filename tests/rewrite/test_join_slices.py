"""join_slices: updates of disjoint slices of zeros that tile an axis become one join."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import SymgraphError
from symgraph.gradient import verify_grad
from symgraph.scan.op import Scan

from .helpers import AS_BUILT, applied, assert_same_values, compile_fn, op_types

rng = np.random.default_rng(11)
NO_JOIN = ("join_slices",)


def typed(shape, name, dtype="float64"):
    return T.TensorType(dtype, shape)(name)


def gate_pieces(z, widths):
    """``tanh`` of consecutive column blocks of ``z``: values of static widths."""
    out, start = [], 0
    for w in widths:
        out.append(T.tanh(z[:, start:start + w]))
        start += w
    return out


def summed_updates(zeros, pieces, bounds):
    return sum(T.inc_subtensor(zeros[:, lo:hi], p) for p, (lo, hi) in zip(pieces, bounds))


def assert_matches_unrewritten(inputs, out, values):
    """The rewritten graph agrees with the graph as built and with the rule switched off."""
    f = assert_same_values(inputs, out, values)
    without = compile_fn(inputs, out, excluding=NO_JOIN)
    np.testing.assert_allclose(f(*values), without(*values), rtol=1e-12)
    assert "join_slices_of_zeros" not in applied(without)
    assert "join_slices_of_summed_zeros" not in applied(without)
    return f


# ---- the rule fires ------------------------------------------------------------------------------

def test_summed_updates_of_tiling_slices_become_one_join():
    z = typed((None, 7), "z")
    pieces = gate_pieces(z, (2, 3, 2))
    out = summed_updates(T.zeros_like(z), pieces, [(0, 2), (2, 5), (5, 7)])
    f = assert_matches_unrewritten([z], out, [rng.normal(size=(4, 7))])
    assert "join_slices_of_summed_zeros" in applied(f)
    types = op_types(f)
    assert types.count("Join") == 1
    assert "IncSubtensor" not in types and "Alloc" not in types


def test_lstm_gate_gradient_form_with_open_last_slice_and_unknown_width():
    # The LSTM step's gradient: zeros(batch, 4H) from the shapes of two inputs, slices :H, H:2H,
    # 2H:3H, 3H: (the last open), pieces of static width H.  The width is checked at run time.
    x, w = T.dmatrix("x"), T.dmatrix("w")
    h = typed((None, 3), "h")
    zeros = T.zeros((x.shape[0], w.shape[1]))
    pieces = [T.tanh(h) * k for k in range(1, 5)]
    out = sum(T.inc_subtensor(zeros[:, s], p) for p, s in
              zip(pieces, [slice(None, 3), slice(3, 6), slice(6, 9), slice(9, None)]))
    values = [rng.normal(size=(5, 2)), rng.normal(size=(2, 12)), rng.normal(size=(5, 3))]
    f = assert_matches_unrewritten([x, w, h], out, values)
    types = op_types(f)
    assert types.count("Join") == 1 and "IncSubtensor" not in types and "Alloc" not in types
    for bad in ([rng.normal(size=(5, 2)), rng.normal(size=(2, 13)), rng.normal(size=(5, 3))],
                [rng.normal(size=(4, 2)), rng.normal(size=(2, 12)), rng.normal(size=(5, 3))]):
        with pytest.raises(SymgraphError):
            sg.function([x, w, h], out, mode=AS_BUILT)(*bad)
        with pytest.raises((SymgraphError, ValueError)):
            f(*bad)


def test_chain_of_set_and_inc_into_zeros_becomes_one_join():
    z = typed((3, 6), "z", "float32")
    a, b = T.exp(z[:, :4]), T.sin(z[:, 4:])
    first = T.set_subtensor(T.zeros((3, 6), dtype="float32")[:, 4:], b)
    out = T.inc_subtensor(first[:, :4], a)
    f = assert_matches_unrewritten([z], out, [rng.normal(size=(3, 6)).astype("float32")])
    assert "join_slices_of_zeros" in applied(f)
    assert f(rng.normal(size=(3, 6)).astype("float32")).dtype == np.float32
    types = op_types(f)
    assert types.count("Join") == 1 and "IncSubtensor" not in types


def test_a_last_piece_of_unknown_length_is_checked_against_the_static_axis():
    z = typed((3, 2), "z")
    v = T.dmatrix("v")
    zeros = T.zeros((3, 6))
    out = T.inc_subtensor(zeros[:, :2], T.exp(z)) + T.inc_subtensor(zeros[:, 2:], v)
    f = assert_matches_unrewritten([z, v], out, [rng.normal(size=(3, 2)), rng.normal(size=(3, 4))])
    assert op_types(f).count("Join") == 1 and "IncSubtensor" not in op_types(f)
    with pytest.raises(SymgraphError):
        sg.function([z, v], out, mode=AS_BUILT)(rng.normal(size=(3, 2)), rng.normal(size=(3, 5)))
    with pytest.raises(SymgraphError):
        f(rng.normal(size=(3, 2)), rng.normal(size=(3, 5)))


def test_gaps_of_static_length_become_zero_blocks():
    z = typed((4, 5), "z")
    out = (T.inc_subtensor(T.zeros((4, 10))[:, 1:3], T.exp(z[:, :2]))
           + T.inc_subtensor(T.zeros((4, 10))[:, 5:8], T.tanh(z[:, 2:])))
    f = assert_matches_unrewritten([z], out, [rng.normal(size=(4, 5))])
    assert op_types(f).count("Join") == 1 and "IncSubtensor" not in op_types(f)


def test_negative_bounds_on_an_axis_of_static_length_tile_rows():
    z = typed((5, 3), "z")
    zeros = T.zeros((5, 3))
    out = T.set_subtensor(zeros[-2:], z[:2] * 2) + T.set_subtensor(zeros[:-2], z[2:] + 1)
    f = assert_matches_unrewritten([z], out, [rng.normal(size=(5, 3))])
    assert op_types(f).count("Join") == 1 and "IncSubtensor" not in op_types(f)


def test_other_terms_of_the_sum_are_added_to_the_join():
    z = typed((None, 4), "z")
    v = typed((None, 4), "v")
    pieces = gate_pieces(z, (1, 3))
    out = summed_updates(T.zeros_like(z), pieces, [(0, 1), (1, 4)]) + v
    f = assert_matches_unrewritten([z, v], out, [rng.normal(size=(3, 4)), rng.normal(size=(3, 4))])
    assert "join_slices_of_summed_zeros" in applied(f)
    assert op_types(f).count("Join") == 1 and "IncSubtensor" not in op_types(f)


def test_mixed_dtypes_upcast_as_the_sum_does():
    z = typed((2, 4), "z")
    low = T.inc_subtensor(T.zeros((2, 4), dtype="float32")[:, :2], T.cast(z[:, :2], "float32"))
    high = T.inc_subtensor(T.zeros((2, 4))[:, 2:], z[:, 2:])
    f = assert_matches_unrewritten([z], low + high, [rng.normal(size=(2, 4))])
    assert f(rng.normal(size=(2, 4))).dtype == np.float64
    assert "IncSubtensor" not in op_types(f)


# ---- the rule declines ---------------------------------------------------------------------------

def declined(inputs, out, values):
    f = assert_same_values(inputs, out, values)
    assert "Join" not in op_types(f)
    assert not {"join_slices_of_zeros", "join_slices_of_summed_zeros"} & applied(f)


def test_overlapping_slices_are_left_alone():
    z = typed((3, 6), "z")
    zeros = T.zeros((3, 6))
    out = T.inc_subtensor(zeros[:, :4], z[:, :4]) + T.inc_subtensor(zeros[:, 3:], z[:, 3:])
    declined([z], out, [rng.normal(size=(3, 6))])


def test_strided_slices_are_left_alone():
    z = typed((3, 6), "z")
    zeros = T.zeros((3, 6))
    out = T.inc_subtensor(zeros[:, ::2], z[:, :3]) + T.inc_subtensor(zeros[:, 1::2], z[:, 3:])
    declined([z], out, [rng.normal(size=(3, 6))])


def test_symbolic_bounds_are_left_alone():
    z = typed((3, 6), "z")
    i = T.lscalar("i")
    zeros = T.zeros((3, 6))
    out = T.inc_subtensor(zeros[:, :i], z[:, :i]) + T.inc_subtensor(zeros[:, i:], z[:, i:])
    declined([z, i], out, [rng.normal(size=(3, 6)), 2])


def test_a_trailing_gap_of_unknown_length_is_left_alone():
    z = typed((None, 4), "z")
    w = T.dmatrix("w")
    zeros = T.zeros((z.shape[0], w.shape[1]))
    pieces = gate_pieces(z, (2, 2))
    declined([z, w], summed_updates(zeros, pieces, [(0, 2), (2, 4)]),
             [rng.normal(size=(3, 4)), rng.normal(size=(2, 6))])


def test_slices_along_different_axes_are_left_alone():
    z = typed((4, 4), "z")
    zeros = T.zeros((4, 4))
    out = T.inc_subtensor(zeros[:2], z[:2]) + T.inc_subtensor(zeros[:, 2:], z[:, 2:])
    declined([z], out, [rng.normal(size=(4, 4))])


def test_a_value_broadcast_along_the_other_axis_is_left_alone():
    z = typed((1, 4), "z")
    zeros = T.zeros((3, 4))
    out = T.inc_subtensor(zeros[:, :2], z[:, :2]) + T.inc_subtensor(zeros[:, 2:], z[:, 2:])
    declined([z], out, [rng.normal(size=(1, 4))])


def test_a_partial_update_used_elsewhere_is_left_alone():
    z = typed((3, 4), "z")
    first = T.set_subtensor(T.zeros((3, 4))[:, :2], T.exp(z[:, :2]))
    out = T.set_subtensor(first[:, 2:], z[:, 2:])
    f = assert_same_values([z], [out, first * 2], [rng.normal(size=(3, 4))])
    assert "Join" not in op_types(f)


def test_updates_of_a_nonzero_array_are_left_alone():
    z = typed((3, 4), "z")
    ones = T.ones((3, 4))
    out = T.inc_subtensor(ones[:, :2], z[:, :2]) + T.inc_subtensor(ones[:, 2:], z[:, 2:])
    declined([z], out, [rng.normal(size=(3, 4))])


# ---- the LSTM gradient ---------------------------------------------------------------------------

def tiny_lstm_cost(W, U, xs):
    hidden = 2
    batch = xs.shape[1]

    def step(x_t, h_prev, c_prev):
        z = T.dot(x_t, W) + T.dot(h_prev, U)
        i = T.nnet.sigmoid(z[:, :hidden])
        f = T.nnet.sigmoid(z[:, hidden:2 * hidden])
        g = T.tanh(z[:, 2 * hidden:3 * hidden])
        o = T.nnet.sigmoid(z[:, 3 * hidden:])
        c = f * c_prev + i * g
        return o * T.tanh(c), c

    zeros = T.zeros((batch, hidden))
    (hs, _), _ = sg.scan(step, sequences=xs, outputs_info=[zeros, zeros])
    return T.sum(hs ** 2)


def test_lstm_gradient_step_uses_one_join_and_passes_verify_grad():
    W, U, xs = T.dmatrix("W"), T.dmatrix("U"), T.tensor3("xs")
    cost = tiny_lstm_cost(W, U, xs)
    f = sg.function([W, U, xs], sg.grad(cost, [W, U]), mode=sg.Mode(backend="numpy"))
    bodies = [n.op.inner_graph("numpy") for n in f.fgraph.toposort() if isinstance(n.op, Scan)]
    gradient_body = max(bodies, key=lambda g: len(g.outputs))
    types = [type(n.op).__name__ for n in gradient_body.toposort()]
    assert types.count("Join") == 1 and "IncSubtensor" not in types

    points = [rng.normal(size=(3, 8)) * 0.5, rng.normal(size=(2, 8)) * 0.5, rng.normal(size=(4, 2, 3))]
    verify_grad(lambda W, U, xs: tiny_lstm_cost(W, U, xs), points, rng=np.random.default_rng(0))


def test_llvm_backend_runs_the_join_natively():
    x, w = T.fmatrix("x"), T.fmatrix("w")
    h = typed((None, 3), "h", "float32")
    zeros = T.zeros((x.shape[0], w.shape[1]), dtype="float32")
    out = sum(T.inc_subtensor(zeros[:, 3 * k:3 * k + 3 if k < 3 else None], T.tanh(h) * (k + 1))
              for k in range(4))
    values = [np.zeros((5, 1), "float32"), np.zeros((1, 12), "float32"),
              rng.normal(size=(5, 3)).astype("float32")]
    f = sg.function([x, w, h], out, mode="llvm")
    want = sg.function([x, w, h], out, mode=AS_BUILT)(*values)
    np.testing.assert_allclose(f(*values), want, rtol=1e-6)
    assert "Join" in op_types(f) and "IncSubtensor" not in op_types(f)
    assert not f._run.fallback_nodes
