"""Paper 23 (saddle-free Newton): exact MLP Hessians, saddle-free / damped Newton steps, the experiment."""

import json

import numpy as np
import pytest
from symgraph.models import curvature, nn, saddle
from symgraph.models.experiments import saddle_free_newton as sfn_exp
from symgraph.models.mlp_hessian import MLPHessian

import symgraph.tensor as T
from symgraph import cli


def test_batched_mlp_hessian_matches_the_scan_hessian():
    import symgraph.tensor as T_
    rng = np.random.default_rng(0)
    net = nn.MLP([3, 4, 3], activation=T.tanh, rng=rng)
    x, y = T_.matrix("x"), T_.ivector("y")
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(net(x)), y).mean()
    curv = curvature.Curvature(loss, net.params.list(), [x, y])
    X, Y = rng.normal(size=(20, 3)), rng.integers(0, 3, 20).astype("int32")
    mh = MLPHessian([3, 4, 3], X, Y)
    theta = curv.get_flat()
    np.testing.assert_allclose(mh.hessian(theta), curv.hessian(X, Y), atol=1e-12)
    l1, g1 = mh.loss_and_grad(theta)
    l2, g2 = curv.loss_and_grad(X, Y)
    np.testing.assert_allclose([l1, *g1], [l2, *g2], atol=1e-12)


# ---- the saddle-free Newton pieces (models/saddle.py) and the experiment ---------------------------

@pytest.fixture(scope="module")
def small_net():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(25, 3)), rng.integers(0, 3, 25)
    return saddle.TanhMLP([3, 4, 3]), X, Y, np.eye(3)[Y], rng.normal(size=31)


def test_closed_form_hessian_equals_the_autodiff_hessian(small_net):
    net, X, Y, onehot, theta = small_net
    loss, g, H = net.loss_grad_hessian(theta, X, onehot)
    mh = MLPHessian([3, 4, 3], X, Y)
    np.testing.assert_allclose(H, mh.hessian(theta), atol=1e-12)
    ref_loss, ref_g = mh.loss_and_grad(theta)
    np.testing.assert_allclose([loss, *g], [ref_loss, *ref_g], atol=1e-12)


def test_decay_adds_half_squared_norm_and_identity(small_net):
    net, X, _, onehot, theta = small_net
    l0, g0, H0 = net.loss_grad_hessian(theta, X, onehot)
    l1, g1, H1 = net.loss_grad_hessian(theta, X, onehot, 0.1)
    assert np.isclose(l1, l0 + 0.05 * theta @ theta)
    np.testing.assert_allclose(g1, g0 + 0.1 * theta, atol=1e-12)
    np.testing.assert_allclose(H1, H0 + 0.1 * np.eye(31), atol=1e-12)


def test_rop_hessian_vector_product_and_batched_losses_agree_with_the_dense_hessian(small_net):
    net, X, _, onehot, theta = small_net
    _, g, H = net.loss_grad_hessian(theta, X, onehot)
    v = np.random.default_rng(2).normal(size=31)
    np.testing.assert_allclose(net.hvp(theta, v, X, onehot), H @ v, atol=1e-12)
    losses, G = net.loss_and_grad_many(np.stack([theta, 2 * theta]), X, onehot)
    assert np.isclose(losses[0], net.loss_grad_hessian(theta, X, onehot)[0])
    np.testing.assert_allclose(G[0], g, atol=1e-12)


def test_saddle_free_step_descends_along_negative_curvature_where_newton_ascends():
    H, g = np.diag([2.0, -4.0, 0.5]), np.array([1.0, 1.0, 1.0])
    np.testing.assert_allclose(saddle.sfn_direction(H, g), [-0.5, -0.25, -2.0])
    np.testing.assert_allclose(saddle.newton_direction(H, g), [-0.5, 0.25, -2.0])
    np.testing.assert_allclose(saddle.sfn_direction(H, g, damping=1.0), [-1 / 3, -0.2, -1 / 1.5])


def test_newton_direction_is_the_pseudo_inverse_on_a_null_direction():
    H, g = np.diag([2.0, 0.0]), np.array([1.0, 0.0])
    np.testing.assert_allclose(saddle.newton_direction(H, g), [-0.5, 0.0])


def test_full_krylov_subspace_gives_the_exact_saddle_free_step():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(6, 6))
    H, g = A + A.T, rng.normal(size=6)
    ritz = saddle.krylov_subspace(lambda v: H @ v, g, k=6)
    np.testing.assert_allclose(saddle.krylov_sfn_direction(g, ritz, 0.1), saddle.sfn_direction(H, g, 0.1),
                               atol=1e-8)


def test_newton_critical_point_search_converges_to_a_saddle():
    # f = x^2 - y^2 + x^3 / 3 has a saddle at the origin and a maximum at (-2, 0); no minimum to fall into
    def lgh(p):
        x, y = p
        return x * x - y * y + x ** 3 / 3, np.array([2 * x + x * x, -2 * y]), np.array([[2 + 2 * x, 0], [0, -2.0]])

    theta, history = saddle.find_critical_point(lgh, lambda ps: np.array([lgh(p)[1] for p in ps]),
                                                np.array([0.3, 0.4]))
    np.testing.assert_allclose(theta, [0.0, 0.0], atol=1e-10)
    assert history[-1] <= 1e-10 and saddle.index_of(np.linalg.eigvalsh(lgh(theta)[2])) == 0.5


def test_toy_saddles_newton_converges_and_saddle_free_newton_escapes():
    res = sfn_exp._part_a(4)
    for name in ("x^2 - y^2", "monkey x^3 - 3xy^2"):
        assert res[name]["newton_converged"] == 1.0 and res[name]["newton_dist50"] < 1e-6
        assert res[name]["sfn_median"] <= 5
    # Newton on x^2 - y^2 lands exactly on the saddle in one step
    assert res["x^2 - y^2"]["newton_ratio5"] < 1e-12


def test_quick_experiment_writes_a_verdict_for_every_criterion(tmp_path):
    cli.main(["run", "saddle-free-newton", "--quick", "--seeds", "0", "--out", str(tmp_path), "--backend", "numpy"])
    record = json.loads((tmp_path / "results.json").read_text())
    verdicts = {v["name"]: v["passed"] for v in record["verdicts"]}
    assert set(verdicts) == {"(a) SFN escapes the saddle", "(a) Newton converges to the saddle",
                             "(b) SFN loss <= 0.5x best baseline", "(c) index-error rank correlation"}
    assert verdicts["(a) SFN escapes the saddle"] and verdicts["(a) Newton converges to the saddle"]
    assert (tmp_path / "index_vs_error.png").exists()
