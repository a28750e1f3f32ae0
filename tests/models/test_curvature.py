"""HVPs against the dense Hessian, Lanczos/power iteration against eigvalsh, per-example gradients."""

import numpy as np
import pytest
from symgraph.models import curvature as cv
from symgraph.models import nn

import symgraph as sg
import symgraph.tensor as T


@pytest.fixture(scope="module")
def small_net():
    rng = np.random.default_rng(0)
    x, y = T.matrix("x"), T.ivector("y")
    mlp = nn.MLP([3, 4, 3], activation=T.tanh, rng=rng)
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(mlp(x)), y).mean()
    xv = rng.normal(size=(8, 3))
    yv = rng.integers(0, 3, size=8).astype("int32")
    curv = cv.Curvature(loss, mlp.params.list(), [x, y])
    return curv, xv, yv, mlp, loss, (x, y)


def test_flat_parameters_round_trip(small_net):
    curv = small_net[0]
    theta = curv.get_flat()
    assert theta.size == curv.size == 3 * 4 + 4 + 4 * 3 + 3
    curv.set_flat(theta * 2)
    np.testing.assert_array_equal(curv.get_flat(), theta * 2)
    curv.set_flat(theta)


def test_flat_loss_equals_the_model_loss(small_net):
    curv, xv, yv, _, loss, (x, y) = small_net
    np.testing.assert_allclose(curv.loss(xv, yv), sg.function([x, y], loss)(xv, yv), rtol=1e-13)


def test_hessian_is_symmetric_and_hvp_matches_dense_hessian(small_net):
    curv, xv, yv = small_net[:3]
    H = curv.hessian(xv, yv)
    assert H.shape == (curv.size, curv.size)
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    v = np.random.default_rng(1).normal(size=curv.size)
    np.testing.assert_allclose(curv.hvp(v, xv, yv), H @ v, atol=1e-12)


def test_hessian_matches_finite_differences_of_the_gradient(small_net):
    curv, xv, yv = small_net[:3]
    theta = curv.get_flat()
    H = curv.hessian(xv, yv)
    e = 1e-6
    for i in (0, 7, curv.size - 1):
        d = np.zeros_like(theta)
        d[i] = e
        col = (curv.grad(xv, yv, theta=theta + d) - curv.grad(xv, yv, theta=theta - d)) / (2 * e)
        np.testing.assert_allclose(H[:, i], col, atol=1e-7)


def test_lanczos_and_power_iteration_find_the_top_eigenvalue(small_net):
    curv, xv, yv = small_net[:3]
    eig = np.linalg.eigvalsh(curv.hessian(xv, yv))
    top, vec = cv.lanczos_top_eigenvalue(lambda v: curv.hvp(v, xv, yv), curv.size, k=curv.size)
    np.testing.assert_allclose(top, eig[-1], rtol=1e-8)
    np.testing.assert_allclose(curv.hvp(vec, xv, yv), top * vec, atol=1e-6)
    lam, _ = cv.power_iteration(lambda v: curv.hvp(v, xv, yv), curv.size, iters=500)
    big = eig[np.argmax(np.abs(eig))]
    np.testing.assert_allclose(lam, big, rtol=1e-4)


def test_lanczos_full_spectrum_of_a_known_matrix():
    A = np.diag(np.arange(1.0, 11.0))
    vals, _ = cv.lanczos(lambda v: A @ v, 10, k=10)
    np.testing.assert_allclose(vals, np.arange(1.0, 11.0), atol=1e-10)


def test_epsilon_sharpness_grows_with_the_box_and_matches_a_quadratic():
    w = sg.shared(np.zeros(2), name="w")
    A = np.diag([10.0, 1.0])
    loss = 0.5 * T.dot(w, T.dot(A, w))
    curv = cv.Curvature(loss, [w])
    small, big = cv.epsilon_sharpness(curv, eps=1e-2), cv.epsilon_sharpness(curv, eps=1e-1)
    assert big.value > small.value > 0
    # At the minimum the worst point of the box |y_i| <= eps is a corner: 0.5 eps^2 (10 + 1).
    np.testing.assert_allclose(big.increase, 0.5 * 0.1 ** 2 * 11, rtol=1e-12)


def test_certify_classifies_minimum_saddle_and_non_critical_points():
    p = sg.shared(np.zeros(2), name="p")
    saddle = cv.Curvature(p[0] ** 2 - p[1] ** 2, [p])
    bowl = cv.Curvature(p[0] ** 2 + 3 * p[1] ** 2, [p])
    flat = cv.Curvature(p[0] ** 2, [p])
    rep = cv.certify_critical_point(saddle)
    assert rep.kind == "saddle" and (rep.n_positive, rep.n_negative) == (1, 1) and rep.index == 0.5
    assert cv.certify_critical_point(bowl).kind == "minimum"
    assert cv.certify_critical_point(bowl, theta=np.array([1.0, 0.0])).kind == "not critical"
    assert cv.certify_critical_point(flat).kind == "degenerate"
    assert cv.certify_critical_point(flat, n_perturb=5).kind == "minimum"


def test_per_example_gradients_match_a_loop(small_net):
    curv, xv, yv, mlp, loss, (x, y) = small_net
    params = mlp.params.list()
    G = sg.function([x, y], cv.per_example_gradients(loss, params, [x, y]))(xv, yv)
    assert G.shape == (len(yv), curv.size)
    for i in (0, 5):
        np.testing.assert_allclose(G[i], curv.grad(xv[i:i + 1], yv[i:i + 1]), atol=1e-12)
    np.testing.assert_allclose(G.mean(axis=0), curv.grad(xv, yv), atol=1e-12)


def test_dense_per_example_trick_matches_a_loop():
    rng = np.random.default_rng(0)
    x, t = T.matrix("x"), T.matrix("t")
    layer = nn.Dense(3, 2, rng=rng)
    z = layer(x)
    total = T.sum(T.sqr(T.tanh(z) - t))
    gW, gb = cv.dense_per_example_gradients(total, x, z)
    xv, tv = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    GW, Gb = sg.function([x, t], [gW, gb])(xv, tv)
    loop = sg.function([x, t], sg.grad(total, [layer.W, layer.b]))
    for i in range(4):
        w_i, b_i = loop(xv[i:i + 1], tv[i:i + 1])
        np.testing.assert_allclose(GW[i], w_i, atol=1e-12)
        np.testing.assert_allclose(Gb[i], b_i, atol=1e-12)


def test_curvature_reaches_parameters_used_inside_scan():
    rng = np.random.default_rng(0)
    x, t = T.tensor3("x"), T.matrix("t")
    lstm = nn.LSTM(2, 2, rng=rng)
    curv = cv.Curvature(T.sum(T.sqr(lstm(x)[-1] - t)), lstm.params.list(), [x, t])
    xv, tv = rng.normal(size=(3, 2, 2)), rng.normal(size=(2, 2))
    H = curv.hessian(xv, tv)
    v = rng.normal(size=curv.size)
    np.testing.assert_allclose(curv.hvp(v, xv, tv), H @ v, atol=1e-12)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def test_saddle_free_direction_descends_along_negative_curvature():
    H = np.diag([2.0, -2.0])
    g = np.array([0.2, -0.1])                              # gradient of x^2 - y^2 at (0.1, 0.05)
    step = cv.saddle_free_direction(H, g)
    np.testing.assert_allclose(step, [-0.1, 0.05])         # Newton would be [-0.1, -0.05]: back to the saddle
    np.testing.assert_allclose(cv.krylov_saddle_free_direction(lambda v: H @ v, g, k=2), step, atol=1e-12)


def test_krylov_saddle_free_equals_exact_with_a_full_subspace():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    H = A + A.T
    g = rng.normal(size=6)
    np.testing.assert_allclose(cv.krylov_saddle_free_direction(lambda v: H @ v, g, k=6, damping=0.1),
                               cv.saddle_free_direction(H, g, damping=0.1), atol=1e-10)
