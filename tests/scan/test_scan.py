"""scan against explicit NumPy loops, and differentiated through."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.gradient import verify_grad, verify_rop
from symgraph.scan import Scan, until

RNG = np.random.default_rng(1234)


def _scan_nodes(f):
    return [n for n in f.fgraph.toposort() if isinstance(n.op, Scan)]


def test_running_sum_matches_cumsum():
    x = T.dvector("x")
    out, updates = sg.scan(lambda v, acc: acc + v, sequences=x, outputs_info=T.constant(0.0))
    assert not updates
    f = sg.function([x], out)
    data = RNG.standard_normal(7)
    np.testing.assert_allclose(f(data), np.cumsum(data))


def test_fibonacci_with_two_taps():
    init = T.dvector("init")
    n = T.iscalar("n")
    fib, _ = sg.scan(lambda a, b: a + b, outputs_info=dict(initial=init, taps=[-1, -2]), n_steps=n)
    f = sg.function([init, n], fib)
    expected, a, b = [], 1.0, 0.0
    for _ in range(10):
        a, b = a + b, a
        expected.append(a)
    np.testing.assert_allclose(f(np.array([0.0, 1.0]), 10), expected)


def test_polynomial_evaluation_from_the_theano_tutorial():
    coefficients = T.dvector("coefficients")
    x = T.dscalar("x")
    max_power = 100
    components, _ = sg.scan(lambda c, power, x: c * (x ** power),
                            sequences=[coefficients, T.arange(max_power)], non_sequences=x)
    poly = components.sum()
    f = sg.function([coefficients, x], poly)
    c = np.array([1.0, 0.0, 2.0])
    assert f(c, 3.0) == pytest.approx(1.0 + 2.0 * 9.0)


def _numpy_rnn(xs, W, U, h0):
    h, hs = h0, []
    for x in xs:
        h = np.tanh(W @ h + U @ x)
        hs.append(h)
    return np.array(hs)


def _rnn(xs, W, U, h0):
    hs, _ = sg.scan(lambda x_t, h, W, U: T.tanh(T.dot(W, h) + T.dot(U, x_t)),
                    sequences=xs, outputs_info=h0, non_sequences=[W, U])
    return hs


def test_vanilla_rnn_forward_matches_numpy():
    xs, W, U, h0 = T.dmatrix("xs"), T.dmatrix("W"), T.dmatrix("U"), T.dvector("h0")
    f = sg.function([xs, W, U, h0], _rnn(xs, W, U, h0))
    args = [RNG.standard_normal((6, 3)), RNG.standard_normal((4, 4)) * 0.5, RNG.standard_normal((4, 3)),
            RNG.standard_normal(4)]
    np.testing.assert_allclose(f(*args), _numpy_rnn(*args), rtol=1e-12)


def test_rnn_gradient_and_rop_match_finite_differences():
    points = [RNG.standard_normal((5, 3)), RNG.standard_normal((4, 4)) * 0.5, RNG.standard_normal((4, 3)),
              RNG.standard_normal(4)]
    cost = lambda *a: (_rnn(*a) ** 2).sum()  # noqa: E731
    verify_grad(cost, points, rng=RNG)
    verify_rop(lambda *a: _rnn(*a), points, rng=RNG)


def _numpy_lstm(xs, W, U, b, h0, c0):
    h, c, hs = h0, c0, []
    n = h0.shape[0]
    for x in xs:
        z = W @ x + U @ h + b
        i, f, o = (1 / (1 + np.exp(-z[k * n:(k + 1) * n])) for k in range(3))
        g = np.tanh(z[3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return np.array(hs)


def _lstm(xs, W, U, b, h0, c0, n):
    def step(x, h, c, W, U, b):
        z = T.dot(W, x) + T.dot(U, h) + b
        i, f, o = (T.sigmoid(z[k * n:(k + 1) * n]) for k in range(3))
        g = T.tanh(z[3 * n:])
        c_new = f * c + i * g
        return o * T.tanh(c_new), c_new

    (hs, cs), _ = sg.scan(step, sequences=xs, outputs_info=[h0, c0], non_sequences=[W, U, b])
    return hs


def test_lstm_forward_matches_numpy_and_its_gradient_is_right():
    n, d = 3, 2
    args = [RNG.standard_normal((4, d)), RNG.standard_normal((4 * n, d)) * 0.5,
            RNG.standard_normal((4 * n, n)) * 0.5, RNG.standard_normal(4 * n) * 0.1,
            RNG.standard_normal(n), RNG.standard_normal(n)]
    syms = [T.dmatrix(), T.dmatrix(), T.dmatrix(), T.dvector(), T.dvector(), T.dvector()]
    f = sg.function(syms, _lstm(*syms, n))
    np.testing.assert_allclose(f(*args), _numpy_lstm(*args), rtol=1e-10)
    verify_grad(lambda *a: _lstm(*a, n).sum(), args, rng=RNG)


def test_until_stops_the_loop():
    x = T.dscalar("x")
    values, _ = sg.scan(lambda v: (v * 2, sg.scan.until(v * 2 > 100)), outputs_info=x, n_steps=50)
    f = sg.function([x], values)
    np.testing.assert_allclose(f(3.0), [6, 12, 24, 48, 96, 192])
    assert until is sg.scan.until


def test_gradient_through_an_until_loop():
    x = T.dscalar("x")
    values, _ = sg.scan(lambda v: (v * 1.5, until(v > 10)), outputs_info=x, n_steps=20)
    g = sg.function([x], sg.grad(values[-1], x))
    f = sg.function([x], values[-1])
    eps = 1e-6
    assert g(1.0) == pytest.approx((f(1.0 + eps) - f(1.0 - eps)) / (2 * eps), rel=1e-6)


def test_go_backwards_reads_sequences_from_the_end():
    xs = T.dvector("xs")
    out, _ = sg.scan(lambda a, acc: acc * 10 + a, sequences=xs, outputs_info=T.constant(0.0),
                     go_backwards=True)
    np.testing.assert_allclose(sg.function([xs], out)(np.array([1.0, 2.0, 3.0])), [3, 32, 321])


def test_sequence_taps():
    xs = T.dvector("xs")
    out, _ = sg.scan(lambda prev, cur: cur - prev, sequences=dict(input=xs, taps=[-1, 0]))
    np.testing.assert_allclose(sg.function([xs], out)(np.array([1.0, 4.0, 9.0, 16.0])), [3, 5, 7])


def test_nested_scan_and_its_gradient():
    def row_norm(row):
        s, _ = sg.scan(lambda v, acc: acc + v * v, sequences=row, outputs_info=T.constant(0.0))
        return s[-1]

    M = T.dmatrix("M")
    out, _ = sg.scan(row_norm, sequences=M)
    data = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(sg.function([M], out)(data), (data ** 2).sum(1))
    verify_grad(lambda M: sg.scan(row_norm, sequences=M)[0].sum(), [data], rng=RNG)


def test_hessian_vector_product_through_scan_both_methods():
    W, v, xs = T.dmatrix("W"), T.dmatrix("v"), T.dmatrix("xs")
    cost = (_rnn(xs, W, T.constant(np.ones((4, 3))), T.constant(np.zeros(4))) ** 2).sum()
    grad_fn = sg.function([xs, W], sg.grad(cost, W))
    xv, Wv, vv = RNG.standard_normal((5, 3)), RNG.standard_normal((4, 4)) * 0.3, RNG.standard_normal((4, 4))
    eps = 1e-6
    fd = (grad_fn(xv, Wv + eps * vv) - grad_fn(xv, Wv - eps * vv)) / (2 * eps)
    for method in ("rop", "lop"):
        hv = sg.gradient.hessian_vector_product(cost, W, v, method=method)
        np.testing.assert_allclose(sg.function([xs, W, v], hv)(xv, Wv, vv), fd, rtol=1e-5, atol=1e-7)


def test_scan_over_shared_variables_and_free_variables():
    w = sg.shared(np.array([1.0, 2.0]), name="w")
    scale = T.dscalar("scale")
    out, _ = sg.scan(lambda acc: acc * w * scale, outputs_info=T.constant(np.ones(2)), n_steps=3)
    f = sg.function([scale], out[-1])
    np.testing.assert_allclose(f(2.0), (np.array([1.0, 2.0]) * 2) ** 3)
    g = sg.function([scale], sg.grad(out[-1].sum(), w))
    np.testing.assert_allclose(g(1.0), [3.0, 12.0])


def test_loop_invariant_computations_are_hoisted_out_of_the_body():
    W = T.dmatrix("W")
    xs = T.dmatrix("xs")
    out, _ = sg.scan(lambda x, h, W: T.tanh(T.dot(T.exp(W) * 2, h) + x), sequences=xs,
                     outputs_info=T.constant(np.zeros(3)), non_sequences=W)
    (node,) = [n for n in sg.graph.toposort([out]) if isinstance(n.op, Scan)]
    inner_ops = {str(n.op) for n in sg.graph.toposort(node.op.body.outputs)}
    assert "exp" not in inner_ops
    f = sg.function([xs, W], out)
    data, Wv = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 3))
    h, hs = np.zeros(3), []
    for x in data:
        h = np.tanh((np.exp(Wv) * 2) @ h + x)
        hs.append(h)
    np.testing.assert_allclose(f(data, Wv), hs)


def test_state_dtype_mismatch_is_a_clear_error():
    x = T.dvector("x")
    with pytest.raises(sg.SymgraphError, match="same dtype and rank"):
        sg.scan(lambda v, acc: acc + v, sequences=x, outputs_info=T.constant(0, dtype="int64"))


def test_truncated_gradient_only_reaches_the_last_steps():
    xs = T.dvector("xs")
    out, _ = sg.scan(lambda v, acc: acc * 0.5 + v, sequences=xs, outputs_info=T.constant(0.0),
                     truncate_gradient=2)
    g = sg.function([xs], sg.grad(out[-1], xs))(np.ones(5))
    np.testing.assert_allclose(g, [0, 0, 0, 0.5, 1.0])


def test_zero_steps_give_empty_outputs():
    xs = T.dmatrix("xs")
    out, _ = sg.scan(lambda x: x * 2, sequences=xs)
    assert sg.function([xs], out)(np.zeros((0, 3))).shape == (0, 3)


def test_scan_graphs_pickle():
    import pickle

    x = T.dvector("x")
    out, _ = sg.scan(lambda v, acc: acc + v, sequences=x, outputs_info=T.constant(0.0))
    f = pickle.loads(pickle.dumps(sg.function([x], out)))
    np.testing.assert_allclose(f(np.ones(3)), [1, 2, 3])


def test_only_the_final_state_is_stored_when_only_the_last_row_is_used():
    x = T.dmatrix("x")
    hs, _ = sg.scan(lambda xt, h: T.tanh(h + xt), sequences=x, outputs_info=T.constant(np.zeros(3)))
    f = sg.function([x], hs[-1])
    (node,) = _scan_nodes(f)
    assert node.op.keep_history == (False,)
    data = RNG.standard_normal((5, 3))
    h = np.zeros(3)
    for row in data:
        h = np.tanh(h + row)
    np.testing.assert_allclose(f(data), h)
    g = sg.function([x], [hs[-1], hs.sum()])
    (node,) = _scan_nodes(g)
    assert node.op.keep_history == (True,)
