"""Second-order differentiation: Hessians against sympy and finite differences,
Hessian-vector products by both methods, gradients of gradient penalties, and the
gradient of every Op's gradient."""

import numpy as np
import pytest
import sympy
from test_gradient_ops import ELEMWISE, REDUCTIONS

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GradientError
from symgraph.gradient import hessian, hessian_vector_product, verify_grad


def dot(x, w):
    """x @ w: T.dot where it exists, else a broadcast product summed over the shared axis."""
    if hasattr(T, "dot"):
        return T.dot(x, w)
    return (x.dimshuffle(0, 1, "x") * w.dimshuffle("x", 0, 1)).sum(axis=1)  # pragma: no cover


def vector(name, n):
    return T.tensor(dtype="float64", shape=(n,), name=name)


def numeric_jacobian(fn, theta, eps=1e-6):
    cols = []
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = eps
        cols.append((np.asarray(fn(theta + e)) - np.asarray(fn(theta - e))) / (2 * eps))
    return np.stack(cols, axis=-1)


# ---- Hessians against sympy ---------------------------------------------------------------------

def sympy_hessian(expr, symbols, point):
    h = sympy.hessian(expr, symbols)
    return np.array(h.subs(dict(zip(symbols, point))).evalf(), dtype="float64")


def test_hessian_of_a_two_variable_function_equals_sympys():
    a, b = sympy.symbols("x0 x1")
    expr = a ** 2 * b + sympy.sin(a * b) + sympy.exp(b) / (1 + a ** 2)
    x = vector("x", 2)
    x0, x1 = x[0], x[1]
    cost = x0 ** 2 * x1 + T.sin(x0 * x1) + T.exp(x1) / (1 + x0 ** 2)
    fn = sg.function([x], hessian(cost, x))
    rng = np.random.default_rng(0)
    for point in rng.uniform(-1.5, 1.5, (4, 2)):
        np.testing.assert_allclose(fn(point), sympy_hessian(expr, [a, b], point), rtol=1e-10, atol=1e-12)


def test_hessian_of_logsumexp_equals_sympys():
    syms = sympy.symbols("x0:4")
    expr = sympy.log(sum(sympy.exp(s) for s in syms))
    x = vector("x", 4)
    fn = sg.function([x], hessian(T.logsumexp(x), x))
    rng = np.random.default_rng(1)
    for point in rng.uniform(-3, 3, (3, 4)):
        np.testing.assert_allclose(fn(point), sympy_hessian(expr, syms, point), rtol=1e-9, atol=1e-12)


def test_hessian_of_several_vectors_gives_each_diagonal_block():
    x, y = vector("x", 2), vector("y", 3)
    cost = (T.exp(x) ** 2).sum() * (y ** 3).sum()
    hx, hy = hessian(cost, [x, y])
    xv, yv = np.array([0.1, -0.3]), np.array([1.0, 2.0, -1.0])
    hxv, hyv = sg.function([x, y], [hx, hy])(xv, yv)
    np.testing.assert_allclose(hxv, np.diag(4 * np.exp(2 * xv)) * (yv ** 3).sum())
    np.testing.assert_allclose(hyv, np.diag(6 * yv) * (np.exp(2 * xv)).sum())


def test_hessian_needs_vectors_and_accepts_symbolic_lengths():
    with pytest.raises(GradientError, match="vector"):
        hessian(T.dmatrix("m").sum(), T.dmatrix("m"))
    x = T.dvector("x")
    xv = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(hessian((x ** 3).sum(), x).eval({x: xv}), np.diag(6 * xv))


# ---- a small MLP --------------------------------------------------------------------------------

N_IN, N_HID, N_OUT, BATCH = 2, 3, 2, 5
SIZES = [N_IN * N_HID, N_HID, N_HID * N_OUT, N_OUT]
SHAPES = [(N_IN, N_HID), (N_HID,), (N_HID, N_OUT), (N_OUT,)]
N_PARAMS = sum(SIZES)


def unpack(theta):
    """W1, b1, W2, b2 as slices of one flat parameter vector."""
    out, start = [], 0
    for size, shape in zip(SIZES, SHAPES):
        piece = theta[start:start + size]
        out.append(piece.reshape(shape, ndim=len(shape)) if len(shape) > 1 else piece)
        start += size
    return out


def mlp_loss(x, y, w1, b1, w2, b2):
    """Two layers, tanh then softplus, squared error."""
    h = T.tanh(dot(x, w1) + b1)
    out = T.softplus(dot(h, w2) + b2)
    return ((out - y) ** 2).sum(axis=1).mean()


def mlp_data(seed):
    rng = np.random.default_rng(seed)
    data = [rng.standard_normal((BATCH, N_IN)), rng.uniform(0, 1, (BATCH, N_OUT))]
    theta = np.concatenate([rng.standard_normal(N_IN * N_HID) * 0.7, rng.standard_normal(N_HID) * 0.1,
                            rng.standard_normal(N_HID * N_OUT) * 0.7, rng.standard_normal(N_OUT) * 0.1])
    return data, theta


@pytest.fixture(scope="module")
def mlp():
    """The symbolic loss of a flat parameter vector, its compiled gradient and its Hessian at a point."""
    x, y, theta = T.dmatrix("x"), T.dmatrix("y"), vector("theta", N_PARAMS)
    cost = mlp_loss(x, y, *unpack(theta))
    f_g = sg.function([x, y, theta], sg.grad(cost, theta))
    f_h = sg.function([x, y, theta], hessian(cost, theta))
    data, theta_value = mlp_data(0)
    return {"x": x, "y": y, "theta": theta, "cost": cost, "f_g": f_g, "data": data,
            "theta_value": theta_value, "h": f_h(*data, theta_value)}


def test_mlp_hessian_matches_finite_differences_of_the_gradient(mlp):
    h = mlp["h"]
    numeric = numeric_jacobian(lambda t: mlp["f_g"](*mlp["data"], t), mlp["theta_value"])
    np.testing.assert_allclose(h, numeric, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(h, h.T, atol=1e-12)


def test_hessian_of_several_parameters_gives_the_diagonal_blocks(mlp):
    params = [vector(n, s) for n, s in zip(["w1", "b1", "w2", "b2"], SIZES)]
    shaped = [p.reshape(shape, ndim=len(shape)) if len(shape) > 1 else p for p, shape in zip(params, SHAPES)]
    cost = mlp_loss(mlp["x"], mlp["y"], *shaped)
    blocks = sg.function([mlp["x"], mlp["y"]] + params, hessian(cost, params))(
        *mlp["data"], *np.split(mlp["theta_value"], np.cumsum(SIZES)[:-1]))
    starts = np.concatenate([[0], np.cumsum(SIZES)])
    for k, blk in enumerate(blocks):
        np.testing.assert_allclose(blk, mlp["h"][starts[k]:starts[k + 1], starts[k]:starts[k + 1]],
                                   rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", ["rop", "lop"])
def test_hessian_vector_product_equals_hessian_times_v(mlp, method):
    v = vector("v", N_PARAMS)
    hvp = hessian_vector_product(mlp["cost"], mlp["theta"], v, method=method)
    vv = np.random.default_rng(2).standard_normal(N_PARAMS)
    got = sg.function([mlp["x"], mlp["y"], mlp["theta"], v], hvp)(*mlp["data"], mlp["theta_value"], vv)
    np.testing.assert_allclose(got, mlp["h"] @ vv, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["rop", "lop"])
def test_hessian_vector_product_of_a_parameter_list(mlp, method):
    params = [T.dmatrix("W1"), T.dvector("b1"), T.dmatrix("W2"), T.dvector("b2")]
    vs = [p.type("v_" + p.name) for p in params]
    cost = mlp_loss(mlp["x"], mlp["y"], *params)
    hvp = hessian_vector_product(cost, params, vs, method=method)
    assert [h.type for h in hvp] == [p.type for p in params]
    rng = np.random.default_rng(3)
    vv = rng.standard_normal(N_PARAMS)
    split = np.cumsum(SIZES)[:-1]
    values = [a.reshape(s) for a, s in zip(np.split(mlp["theta_value"], split), SHAPES)]
    v_values = [a.reshape(s) for a, s in zip(np.split(vv, split), SHAPES)]
    got = sg.function([mlp["x"], mlp["y"]] + params + vs, hvp)(*mlp["data"], *values, *v_values)
    np.testing.assert_allclose(np.concatenate([g.reshape(-1) for g in got]), mlp["h"] @ vv,
                               rtol=1e-9, atol=1e-12)


def test_hessian_through_set_subtensor_is_zero_for_the_overwritten_entries(mlp):
    # The output bias is pinned to constants: its rows and columns of the Hessian vanish,
    # and the rest is the Hessian of the loss at the pinned point.
    theta = mlp["theta"]
    pinned = np.array([0.3, -0.2])
    cost = mlp_loss(mlp["x"], mlp["y"], *unpack(T.set_subtensor(theta[-N_OUT:], pinned)))
    h = sg.function([mlp["x"], mlp["y"], theta], hessian(cost, theta))(
        *mlp["data"], mlp["theta_value"])
    np.testing.assert_array_equal(h[-N_OUT:], 0.0)
    np.testing.assert_array_equal(h[:, -N_OUT:], 0.0)
    at_pinned = np.concatenate([mlp["theta_value"][:-N_OUT], pinned])
    numeric = numeric_jacobian(lambda t: mlp["f_g"](*mlp["data"], t), at_pinned)
    np.testing.assert_allclose(h[:-N_OUT, :-N_OUT], numeric[:-N_OUT, :-N_OUT], rtol=1e-5, atol=1e-7)


def test_hessian_vector_product_of_a_single_variable_and_bad_method():
    w, v = T.dvector("w"), T.dvector("v")
    cost = (T.exp(w) * w).sum()
    wv, vv = np.array([0.1, 0.5]), np.array([1.0, -2.0])
    for method in ("rop", "lop"):
        hv = hessian_vector_product(cost, w, v, method=method)
        np.testing.assert_allclose(sg.function([w, v], hv)(wv, vv), np.exp(wv) * (wv + 2) * vv)
    default = hessian_vector_product(cost, w, v)
    np.testing.assert_allclose(sg.function([w, v], default)(wv, vv), np.exp(wv) * (wv + 2) * vv)
    with pytest.raises(sg.SymgraphError, match="method"):
        hessian_vector_product(cost, w, v, method="fd")


def test_gradient_of_a_gradient_norm_penalty_matches_finite_differences(mlp):
    theta, cost = mlp["theta"], mlp["cost"]
    penalised = cost + (sg.grad(cost, theta) ** 2).sum()
    inputs = [mlp["x"], mlp["y"], theta]
    f_cost = sg.function(inputs, penalised)
    g2 = sg.function(inputs, sg.grad(penalised, theta))(*mlp["data"], mlp["theta_value"])
    numeric = numeric_jacobian(lambda t: f_cost(*mlp["data"], t), mlp["theta_value"])
    np.testing.assert_allclose(g2, numeric, rtol=1e-5, atol=1e-7)
    # The penalty's gradient is 2 H g.
    g = mlp["f_g"](*mlp["data"], mlp["theta_value"])
    np.testing.assert_allclose(g2, g + 2 * mlp["h"] @ g, rtol=1e-9, atol=1e-12)


def test_three_layer_mlp_gradient_compiles_runs_and_trains():
    rng = np.random.default_rng(4)
    x, y = T.dmatrix("x"), T.dmatrix("y")
    sizes = [(3, 8), (8, 8), (8, 2)]
    ws = [sg.shared(rng.standard_normal(s) * 0.5, name=f"W{k}") for k, s in enumerate(sizes)]
    bs = [sg.shared(np.zeros(s[1]), name=f"b{k}") for k, s in enumerate(sizes)]
    h = x
    for k, (w, b) in enumerate(zip(ws, bs)):
        h = dot(h, w) + b
        if k < len(ws) - 1:
            h = T.tanh(h) if k == 0 else T.nnet.relu(h)
    cost = ((h - y) ** 2).mean()
    grads = sg.grad(cost, ws + bs)
    step = sg.function([x, y], cost, updates=[(p, p - 0.1 * g) for p, g in zip(ws + bs, grads)])
    xv = rng.standard_normal((16, 3))
    yv = np.stack([np.sin(xv[:, 0]), xv[:, 1] * xv[:, 2]], axis=1)
    losses = [float(step(xv, yv)) for _ in range(60)]
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0]
    # The first layer's gradient agrees with finite differences of the cost.
    f_cost = sg.function([x, y], cost)
    f_g = sg.function([x, y], grads[0])
    w0 = ws[0].get_value()

    def cost_at(flat):
        ws[0].set_value(flat.reshape(w0.shape))
        return f_cost(xv, yv)

    numeric = numeric_jacobian(cost_at, w0.reshape(-1)).reshape(w0.shape)
    ws[0].set_value(w0)
    np.testing.assert_allclose(f_g(xv, yv), numeric, rtol=1e-5, atol=1e-8)


# ---- every Op's gradient is itself differentiable ------------------------------------------------

SECOND_ORDER_SKIP = {
    # Piecewise constant or piecewise linear: the second derivative is zero or undefined.
    "sgn", "floor", "ceil", "trunc", "round", "int_div", "identity",
}


def _grad_of(fn, n_inputs):
    def gradient_fn(*xs):
        out = fn(*xs)
        gs = sg.grad((out ** 2).sum(), list(xs))
        return sum(((k + 1.0) * g).sum() for k, g in enumerate(gs)) if len(gs) > 1 else gs[0]

    return gradient_fn


SECOND = [c for c in ELEMWISE if c[0] not in SECOND_ORDER_SKIP]


@pytest.mark.parametrize("name,fn,draw", SECOND, ids=[c[0] for c in SECOND])
def test_elemwise_gradient_is_differentiable(name, fn, draw):
    points = draw(np.random.default_rng(1))
    verify_grad(_grad_of(fn, len(points)), points, rng=np.random.default_rng(20), n_tests=1)


@pytest.mark.parametrize("name,fn,domain", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
def test_reduction_gradient_is_differentiable(name, fn, domain):
    verify_grad(_grad_of(fn, 1), [domain(np.random.default_rng(7))], rng=np.random.default_rng(21),
                n_tests=1)


def test_prod_hessian_with_one_zero_entry_is_exact():
    a = sympy.symbols("a0:4")
    expr = a[0] * a[1] * a[2] * a[3]
    x = vector("x", 4)
    point = np.array([1.5, 0.0, -2.0, 0.5])
    h = sg.function([x], hessian(T.prod(x), x))(point)
    np.testing.assert_allclose(h, sympy_hessian(expr, a, point), atol=1e-12)
