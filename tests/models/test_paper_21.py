"""Paper 21 (PRONG): function-preserving whitening refreshes and the experiment end to end."""

import json

import numpy as np
from symgraph.models.experiments import prong

import symgraph as sg
import symgraph.tensor as T
from symgraph import cli


def _net_and_stats(seed=0):
    net = prong.WhitenedMLP([5, 4, 3], T.tanh, None, np.random.default_rng(seed))
    x = T.matrix("x")
    inputs, out = net(x)
    return net, sg.function([x], [*inputs, out])


def test_reparametrise_preserves_the_function_and_whitens_inputs():
    net, stats = _net_and_stats()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5)) + 3.0
    before = stats(x)[-1]
    change = prong.reparametrise(net, stats, x, eps=1e-8)
    np.testing.assert_allclose(stats(x)[-1], before, rtol=1e-9, atol=1e-10)
    assert change < 1e-9
    U, c = net.U[0].get_value(), net.c[0].get_value()
    np.testing.assert_allclose(np.cov((x - c) @ U, rowvar=False, bias=True), np.eye(5), atol=1e-5)
    np.testing.assert_allclose(c, x.mean(axis=0))


def test_layers_compute_whitened_affine_map_like_numpy():
    net, stats = _net_and_stats()
    rng = np.random.default_rng(3)
    for U, c in zip(net.U, net.c):
        n = U.get_value().shape[0]
        A = rng.normal(size=(n, n))
        U.set_value(A @ A.T + np.eye(n))
        c.set_value(rng.normal(size=n))
    x = rng.normal(size=(7, 5))
    h = x
    for i, (V, d, U, c) in enumerate(zip(net.V, net.d, net.U, net.c)):
        z = ((h - c.get_value()) @ U.get_value()) @ V.get_value() + d.get_value()
        h = np.tanh(z) if i < len(net.V) - 1 else z
    np.testing.assert_allclose(stats(x)[-1], h, rtol=1e-10, atol=1e-12)


def test_initial_values_are_the_seeded_construction():
    net = prong.WhitenedMLP([5, 4, 3], T.tanh, None, np.random.default_rng(4))
    fresh = net.initial_values(np.random.default_rng(4))
    for got, want in zip(net.values(), fresh):
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(fresh[2][1], np.eye(4))


def test_whitening_pair_is_inverse_square_root_and_its_inverse():
    A = np.random.default_rng(5).normal(size=(6, 6))
    sigma = A @ A.T
    U, U_inv = prong._whitening_pair(sigma, 0.1)
    np.testing.assert_allclose(U @ (sigma + 0.1 * np.eye(6)) @ U, np.eye(6), atol=1e-10)
    np.testing.assert_allclose(U @ U_inv, np.eye(6), atol=1e-10)


def test_whitened_input_condition_drops_to_one_after_exact_whitening():
    net, stats = _net_and_stats()
    x = np.random.default_rng(2).normal(size=(300, 5)) * np.array([1, 2, 5, 10, 20])
    assert prong.whitened_input_condition(net, stats, x)[0] > 100
    prong.reparametrise(net, stats, x, eps=1e-10)
    assert prong.whitened_input_condition(net, stats, x)[0] < 1.0 + 1e-6


def test_condition_after_refresh_is_sigma_condition_times_whitening_factor():
    net, stats = _net_and_stats()
    x = np.random.default_rng(6).normal(size=(400, 5)) * np.array([0.05, 0.2, 0.5, 1.0, 2.0])
    prong.reparametrise(net, stats, x, eps=0.1)
    l_max, l_min = prong.covariance_extremes(stats, x)[0]
    w = np.linalg.eigvalsh(np.cov(x, rowvar=False, bias=True))
    np.testing.assert_allclose((l_max, l_min), (w[-1], w[0]), rtol=1e-12)
    expected = (l_max / l_min) * (l_min + 0.1) / (l_max + 0.1)
    np.testing.assert_allclose(prong.whitened_input_condition(net, stats, x)[0], expected, rtol=1e-8)


def test_prong_quick_run_writes_metrics_and_verdicts(tmp_path):
    cli.main(["run", "prong", "--quick", "--seeds", "0", "--out", str(tmp_path), "--backend", "numpy"])
    record = json.loads((tmp_path / "results.json").read_text())
    names = [v["name"] for v in record["verdicts"]]
    assert names[0] == "function preserved at every reparametrisation" and len(names) == 5
    assert record["metrics"]["max_reparam_change"] < 1e-5
    assert set(record["metrics"]["mlp"]["summary"]) == {"sgd", "momentum", "prong"}
    layers = record["metrics"]["autoencoder"]["per_layer"]
    assert len(layers["cond_ratio"]) == 4 and all(0 < f <= 1 for f in layers["whitening_factor"])
    assert (tmp_path / "loss.png").exists()
