"""Paper 22: the Lp unit (learned-norm pooling) and the quick lp-units experiment."""

import json

import numpy as np
from symgraph.models import nn
from symgraph.models.experiments import lp_units
from symgraph.models.nn.lp import lp_pool, np_lp_pool, p_from_rho, rho_from_p

import symgraph as sg
import symgraph.tensor as T
from symgraph import cli


def _z(seed=0, shape=(5, 3, 4)):
    z = np.random.default_rng(seed).normal(size=shape)
    z[0, 0, 1] = 0.0               # an exact zero: the |u|^p log|u| term of d/dp must not give NaN
    return z


def _pool_fn():
    z, p = T.tensor3("z"), T.vector("p")
    return sg.function([z, p], lp_pool(z, p))


def test_forward_matches_numpy_formula():
    z, p = _z(), np.array([1.3, 2.0, 5.5])
    exact = np.mean(np.abs(z) ** p[None, :, None], axis=2) ** (1 / p[None, :])
    # |u| is smoothed to sqrt(u^2 + 1e-16): at the exact zero that moves h by at most eps / N
    np.testing.assert_allclose(_pool_fn()(z, p), exact, rtol=1e-12, atol=1e-8)
    np.testing.assert_allclose(_pool_fn()(z, p), np_lp_pool(z, p), rtol=1e-12, atol=1e-14)


def test_p_one_is_mean_absolute_value():
    z = _z(1)
    np.testing.assert_allclose(_pool_fn()(z, np.ones(3)), np.mean(np.abs(z), axis=2), rtol=1e-12, atol=1e-8)


def test_large_p_approaches_max_of_absolute_values():
    z = _z(2) * 50                  # without the max factored out, 50^2000 would overflow
    out = _pool_fn()(z, np.full(3, 2000.0))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, np.max(np.abs(z), axis=2), rtol=1e-3)
    # and the gap to the max shrinks as p grows: (1/N)^(1/p) <= h / max <= 1
    near = _pool_fn()(z, np.full(3, 20.0)) / np.max(np.abs(z), axis=2)
    assert np.all(near >= 0.25 ** (1 / 20) - 1e-12) and np.all(near <= 1 + 1e-12)


def test_gradient_wrt_p_matches_finite_differences():
    z = _z(3)
    sg.gradient.verify_grad(lambda p: lp_pool(T.constant(z), p), [np.array([1.2, 2.5, 7.0])],
                            abs_tol=1e-5, rel_tol=1e-5, rng=np.random.default_rng(0))


def test_gradient_wrt_rho_and_inputs_matches_finite_differences():
    z = _z(4)
    sg.gradient.verify_grad(lambda rho: lp_pool(T.constant(z), p_from_rho(rho)), [np.array([-1.0, 0.3, 2.0])],
                            abs_tol=1e-5, rel_tol=1e-5, rng=np.random.default_rng(1))
    z[0, 0, 1] = 0.3                # inputs away from the smoothed kink at 0
    sg.gradient.verify_grad(lambda zz: lp_pool(zz, T.constant(np.array([1.5, 3.0, 6.0]))), [z],
                            abs_tol=1e-5, rel_tol=1e-5, rng=np.random.default_rng(2))


def test_gradients_are_finite_at_zero_projections():
    z, p = T.tensor3("z"), T.vector("p")
    g = sg.function([z, p], sg.grad(T.sum(lp_pool(z, p)), [z, p]))
    gz, gp = g(np.zeros((2, 3, 4)), np.array([1.5, 2.0, 9.0]))
    assert np.all(np.isfinite(gz)) and np.all(np.isfinite(gp))
    np.testing.assert_allclose(gz, 0.0, atol=1e-6)


def test_rho_parametrisation_and_layer_output():
    np.testing.assert_allclose(p_from_rho(rho_from_p(np.array([1.1, 2.0, 7.0]))), [1.1, 2.0, 7.0])
    layer = nn.Lp(4, 3, pieces=2, p_init=[1.5, 2.0, 4.0], rng=np.random.default_rng(0))
    layer.b.set_value(np.random.default_rng(1).normal(size=6))
    layer.c.set_value(np.random.default_rng(2).normal(size=6))
    x = np.random.default_rng(3).normal(size=(7, 4))
    xs = T.matrix("x")
    out = sg.function([xs], layer(xs))(x)
    z = (x @ layer.W.get_value() + layer.b.get_value() - layer.c.get_value()).reshape(7, 3, 2)
    np.testing.assert_allclose(out, np_lp_pool(z, layer.p_values()), rtol=1e-12)
    assert len(layer.params) == 4 and layer.params.count() == 4 * 6 + 6 + 6 + 3


def test_boundary_labels_match_the_shapes():
    X = np.array([[0.0, 0.0], [1.5, 0.0], [1.7, 0.0], [1.3, 1.3]])
    assert list(lp_units._inside("circle", X)) == [True, True, False, False]
    # the superellipse's semi-axes (1.6 and 1.1, rotated 30 degrees about (0.2, -0.1)): just in, just out
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    axes = np.array([[c, s], [-s, c]])
    centre = np.array([0.2, -0.1])
    inner = centre + np.array([1.58, 1.08])[:, None] * axes
    outer = centre + np.array([1.62, 1.12])[:, None] * axes
    assert lp_units._inside("superellipse", inner).all()
    assert not lp_units._inside("superellipse", outer).any()


def test_digits_widths_give_equal_parameter_counts():
    counts = [lp_units._DigitsNet(m).n_params for m in lp_units.MODELS_B]
    assert max(counts) - min(counts) <= 0.01 * max(counts)


def test_quick_experiment_writes_metrics_and_verdicts(tmp_path):
    cli.main(["run", "lp-units", "--quick", "--seeds", "0", "--out", str(tmp_path), "--backend", "numpy"])
    record = json.loads((tmp_path / "results.json").read_text())
    verdicts = {v["name"]: v["passed"] for v in record["verdicts"]}
    assert set(verdicts) == {"dL/dp matches finite differences", "(a) circle: learned-p vs maxout",
                             "(a) superellipse: learned-p vs maxout", "(b) Lp accuracy vs maxout",
                             "(b) learned p spread"}
    assert verdicts["dL/dp matches finite differences"]
    assert len(record["metrics"]["digits_learned_p"][0]) == lp_units.WIDTHS_B["Lp"]
    assert (tmp_path / "boundaries.png").exists()
