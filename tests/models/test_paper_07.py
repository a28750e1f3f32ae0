"""Paper 7: Sobolev losses, the added 2-D test functions, and the quick sobolev experiment."""

import json

import numpy as np
import pytest
from symgraph.models.data import functions2d as F
from symgraph.models.experiments import sobolev as S

import symgraph as sg
import symgraph.tensor as T
from symgraph import cli

NEW = ("ackley", "styblinski_tang", "mccormick")


def _points(f, n=6, seed=0):
    pts = f.sample(n, np.random.default_rng(seed))
    return pts[:, 0], pts[:, 1]


@pytest.mark.parametrize("name", NEW)
def test_new_function_gradients_and_hessians_match_finite_differences(name):
    f, h = F.FUNCTIONS[name], 1e-5
    x, y = _points(f)
    g = f.grad(x, y)
    fd = np.stack([(f.value(x + h, y) - f.value(x - h, y)) / (2 * h),
                   (f.value(x, y + h) - f.value(x, y - h)) / (2 * h)], axis=-1)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)
    for i, (xi, yi) in enumerate(zip(x, y)):
        H = np.asarray(f.hessian(xi, yi), dtype=float)
        fdh = np.stack([(f.grad(xi + h, yi) - f.grad(xi - h, yi)) / (2 * h),
                        (f.grad(xi, yi + h) - f.grad(xi, yi - h)) / (2 * h)])
        np.testing.assert_allclose(H, fdh, rtol=1e-5, atol=1e-5, err_msg=f"point {i}")


def test_new_functions_match_sympy_and_their_symbolic_twins():
    sp = pytest.importorskip("sympy")
    X, Y = sp.symbols("x y")
    exprs = {
        "ackley": -20 * sp.exp(-sp.Rational(1, 5) * sp.sqrt((X ** 2 + Y ** 2) / 2))
        - sp.exp((sp.cos(2 * sp.pi * X) + sp.cos(2 * sp.pi * Y)) / 2) + sp.E + 20,
        "styblinski_tang": (X ** 4 - 16 * X ** 2 + 5 * X + Y ** 4 - 16 * Y ** 2 + 5 * Y) / 2,
        "mccormick": sp.sin(X + Y) + (X - Y) ** 2 - sp.Rational(3, 2) * X + sp.Rational(5, 2) * Y + 1,
    }
    p, (a, b) = F.symbolic_point()
    for name, e in exprs.items():
        f = F.FUNCTIONS[name]
        x, y = _points(f, seed=1)
        grad = sp.lambdify((X, Y), [sp.diff(e, X), sp.diff(e, Y)], "numpy")
        np.testing.assert_allclose(f.value(x, y), sp.lambdify((X, Y), e, "numpy")(x, y), rtol=1e-12)
        np.testing.assert_allclose(f.grad(x, y), np.stack(grad(x, y), axis=-1), rtol=1e-10, atol=1e-10)
        sym = sg.function([p], f.symbolic(a, b))
        np.testing.assert_allclose([sym(np.array([u, v])) for u, v in zip(x, y)], f.value(x, y), rtol=1e-12)


def test_known_minima_are_stationary():
    for name in NEW:
        f = F.FUNCTIONS[name]
        (x0, y0), = f.critical_points
        assert np.linalg.norm(f.grad(x0, y0)) < 1e-3, name
    assert np.isclose(F.ACKLEY.value(0.0, 0.0), 0.0, atol=1e-12)
    assert np.isclose(F.MCCORMICK.value(-0.54719, -1.54719), -1.9133, atol=1e-4)


def _tiny_net(rng):
    return rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=(3, 1)), rng.normal(size=1)


def test_sobolev_penalty_matches_numpy_input_gradients():
    rng = np.random.default_rng(0)
    W1, b1, W2, b2 = _tiny_net(rng)
    X, G = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    x, g = T.matrix("x"), T.matrix("g")
    out = T.dot(T.tanh(T.dot(x, W1) + b1), W2)[:, 0] + b2[0]
    pen = sg.function([x, g], [S.input_gradient(out, x), S.sobolev_penalty(out, x, g)])
    grad_np = ((1 - np.tanh(X @ W1 + b1) ** 2) * W2[:, 0]) @ W1.T
    gx, p = pen(X, G)
    np.testing.assert_allclose(gx, grad_np, rtol=1e-12)
    np.testing.assert_allclose(p, np.mean(np.sum((grad_np - G) ** 2, axis=1)), rtol=1e-12)


def test_sobolev_penalty_parameter_gradient_matches_finite_differences():
    # second-order symbolic differentiation: d/dW of a loss built from d(out)/dx
    rng = np.random.default_rng(1)
    W1, b1, W2, b2 = _tiny_net(rng)
    X, G = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))

    def penalty(w1):
        x = T.constant(X)
        out = T.dot(T.tanh(T.dot(x, w1) + b1), W2)[:, 0] + b2[0]
        return S.sobolev_penalty(out, x, T.constant(G))

    sg.gradient.verify_grad(penalty, [W1], abs_tol=1e-6, rel_tol=1e-6, rng=np.random.default_rng(0))


def test_projection_penalty_is_exact_for_given_directions():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(4, 3))
    X, V, P = rng.normal(size=(6, 4)), rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    x, v, p = T.matrix("x"), T.matrix("v"), T.matrix("p")
    out = T.tanh(T.dot(x, A))
    got = sg.function([x, v, p], S.projection_penalty(out, x, v, p))(X, V, P)
    jv = (1 - np.tanh(X @ A) ** 2) * (V @ A)            # row n: J(x_n) v_n
    np.testing.assert_allclose(got, np.mean(np.sum((jv - P) ** 2, axis=1)), rtol=1e-12)


def test_stochastic_projection_expectation_is_frobenius_over_dimension():
    # E_v ||(J_m - J_f) v||^2 = ||J_m - J_f||_F^2 / d for v uniform on the unit sphere
    rng = np.random.default_rng(3)
    d, c, n = 5, 3, 40000
    Jm, Jf = rng.normal(size=(d, c)), rng.normal(size=(d, c))
    x, v, p = T.matrix("x"), T.matrix("v"), T.matrix("p")
    out = T.dot(x, Jm)                                      # a linear model: J_m everywhere
    f = sg.function([x, v, p], S.projection_penalty(out, x, v, p), on_unused_input="ignore")
    V = S.random_unit_vectors(rng, n, d)
    np.testing.assert_allclose(np.linalg.norm(V, axis=1), 1.0)
    estimate = f(np.zeros((n, d)), V, V @ Jf)
    np.testing.assert_allclose(estimate, np.sum((Jm - Jf) ** 2) / d, rtol=0.03)


def test_function_data_scales_gradients_with_the_normalisation():
    d = S._function_data("beale", 30, seed=0)
    f = F.BEALE
    lo = np.array([f.domain[0][0], f.domain[1][0]])
    half = 0.5 * np.array([np.diff(f.domain[0])[0], np.diff(f.domain[1])[0]])

    def normalised(z):                                      # the target in the net's units
        raw = (z + 1) * half + lo
        return (f.value(raw[:, 0], raw[:, 1]) - d["mu"]) / d["sd"]

    h = 1e-6
    fd = np.stack([(normalised(d["x"] + h * e) - normalised(d["x"] - h * e)) / (2 * h)
                   for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(d["g"], fd, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(normalised(d["x"]), d["y"], atol=1e-12)
    assert np.abs(d["grid_x"]).max() <= 1 + 1e-12 and d["grid_x"].shape == (10000, 2)


def test_quick_experiment_writes_metrics_and_verdicts(tmp_path):
    cli.main(["run", "sobolev", "--quick", "--seeds", "0", "--out", str(tmp_path), "--backend", "numpy"])
    record = json.loads((tmp_path / "results.json").read_text())
    verdicts = {v["name"] for v in record["verdicts"]}
    assert verdicts == {"(a) Sobolev <= 0.3x value-only MSE at N = 100", "(b) Sobolev student more accurate"}
    assert len(record["metrics"]["function_ratio_n100"]) == 5
    assert len(record["metrics"]["digits_teacher_valid_accuracy"]) == 1
    assert set(record["budget"]["temperatures"]) == {"value", "Sobolev"}
    assert (tmp_path / "functions.png").exists()
