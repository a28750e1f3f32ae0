"""Each optimizer against a NumPy re-implementation of its rule on a convex quadratic."""

import numpy as np
import pytest
from symgraph.models import optim

import symgraph as sg
import symgraph.tensor as T

RNG = np.random.default_rng(0)
A_MAT = RNG.normal(size=(5, 5))
A = A_MAT @ A_MAT.T / 5 + np.eye(5)       # SPD, so the loss is convex
C = RNG.normal(size=5)
P0 = {"u": RNG.normal(size=3), "w": RNG.normal(size=(2, 1))}
STEPS = 6


def _loss_np(u, w):
    z = np.concatenate([u, w.ravel()]) - C
    return 0.5 * z @ A @ z


def _grad_np(u, w):
    z = np.concatenate([u, w.ravel()]) - C
    g = A @ z
    return [g[:3], g[3:].reshape(2, 1)]


def _setup():
    u = sg.shared(P0["u"].copy(), name="u")
    w = sg.shared(P0["w"].copy(), name="w")
    z = T.concatenate([u, T.flatten(w)]) - C
    loss = 0.5 * T.dot(z, T.dot(A, z))
    return u, w, loss


def _run(opt, params_fn=None, steps=STEPS):
    u, w, loss = _setup()
    params = params_fn(u, w) if params_fn else [u, w]
    f = sg.function([], loss, updates=opt.updates(loss, params))
    losses = [float(f()) for _ in range(steps)]
    return [u.get_value(), w.get_value()], losses


def _reference(rule, steps=STEPS, clip=None):
    ps = [P0["u"].copy(), P0["w"].copy()]
    state = [{} for _ in ps]
    for t in range(1, steps + 1):
        gs = _grad_np(*ps)
        if clip is not None:
            norm = np.sqrt(sum((g ** 2).sum() for g in gs))
            gs = [g * clip / max(norm, clip) for g in gs]
        ps = rule(ps, gs, state, t)
    return ps


def _sgd(lr):
    return lambda ps, gs, st, t: [p - lr * g for p, g in zip(ps, gs)]


def _momentum(lr, mu, nesterov=False):
    def rule(ps, gs, st, t):
        out = []
        for p, g, s in zip(ps, gs, st):
            v = mu * s.get("v", 0 * p) - lr * g
            s["v"] = v
            out.append(p + mu * v - lr * g if nesterov else p + v)
        return out
    return rule


def _rmsprop(lr, rho, eps):
    def rule(ps, gs, st, t):
        out = []
        for p, g, s in zip(ps, gs, st):
            a = rho * s.get("a", 0 * p) + (1 - rho) * g ** 2
            s["a"] = a
            out.append(p - lr * g / np.sqrt(a + eps))
        return out
    return rule


def _adam(lr, b1, b2, eps):
    def rule(ps, gs, st, t):
        out = []
        for p, g, s in zip(ps, gs, st):
            m = b1 * s.get("m", 0 * p) + (1 - b1) * g
            v = b2 * s.get("v", 0 * p) + (1 - b2) * g ** 2
            s["m"], s["v"] = m, v
            out.append(p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps))
        return out
    return rule


def _adagrad(lr, eps):
    def rule(ps, gs, st, t):
        out = []
        for p, g, s in zip(ps, gs, st):
            a = s.get("a", 0 * p) + g ** 2
            s["a"] = a
            out.append(p - lr * g / (np.sqrt(a) + eps))
        return out
    return rule


def _full_adagrad(lr, eps):
    def rule(ps, gs, st, t):
        g = np.concatenate([x.ravel() for x in gs])
        G = st[0].get("G", np.zeros((g.size, g.size))) + np.outer(g, g)
        st[0]["G"] = G
        w, V = np.linalg.eigh(G)
        step = V @ ((1 / (np.sqrt(np.maximum(w, 0)) + eps)) * (V.T @ g))
        return [ps[0] - lr * step[:3], ps[1] - lr * step[3:].reshape(2, 1)]
    return rule


CASES = {
    "sgd": (lambda: optim.SGD(lr=0.05), _sgd(0.05)),
    "momentum": (lambda: optim.Momentum(lr=0.05, momentum=0.8), _momentum(0.05, 0.8)),
    "nesterov": (lambda: optim.Nesterov(lr=0.05, momentum=0.8), _momentum(0.05, 0.8, nesterov=True)),
    "rmsprop": (lambda: optim.RMSProp(lr=0.01, rho=0.9, eps=1e-6), _rmsprop(0.01, 0.9, 1e-6)),
    "adam": (lambda: optim.Adam(lr=0.05), _adam(0.05, 0.9, 0.999, 1e-8)),
    "adagrad": (lambda: optim.AdaGrad(lr=0.3), _adagrad(0.3, 1e-8)),
    "full_adagrad": (lambda: optim.FullMatrixAdaGrad(lr=0.3), _full_adagrad(0.3, 1e-8)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_optimizer_matches_numpy_rule_and_reduces_loss(name):
    make, rule = CASES[name]
    got, losses = _run(make())
    want = _reference(rule)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-10)
    assert _loss_np(*got) < losses[0]


def test_clip_by_global_norm_scales_all_gradients_together():
    got, _ = _run(optim.SGD(lr=0.05, clip_norm=0.5))
    want = _reference(_sgd(0.05), clip=0.5)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-10)


def test_parameter_groups_use_their_own_hyperparameters():
    opt = optim.Momentum(lr=0.05, momentum=0.8)
    got, _ = _run(opt, lambda u, w: [{"params": [u]}, {"params": [w], "lr": 0.0}])
    np.testing.assert_allclose(got[1], P0["w"])               # frozen by lr = 0
    assert not np.allclose(got[0], P0["u"])
    assert set(opt.state) and all(p.name in ("u", "w") for p in opt.state)


def test_unknown_hyperparameter_is_rejected():
    with pytest.raises(TypeError, match="momentm"):
        optim.Momentum(lr=0.1, momentm=0.9)


@pytest.mark.parametrize("schedule", [
    optim.Constant(0.1),
    optim.StepDecay(0.1, step_size=2, gamma=0.5),
    optim.ExponentialDecay(0.1, gamma=0.7),
    optim.CosineDecay(0.1, total_steps=4, lr_min=0.01),
])
def test_schedule_drives_sgd_step_sizes(schedule):
    x = sg.shared(np.array(0.0), name="x")
    opt = optim.SGD(lr=schedule)
    f = sg.function([], x, updates=opt.updates(-x, [x]))   # gradient -1: x grows by lr each step
    xs = [float(f()) for _ in range(7)] + [float(x.get_value())]
    rates = np.diff(xs)
    np.testing.assert_allclose(rates, [schedule.value(t) for t in range(7)], rtol=0, atol=1e-12)
    assert int(opt.step.get_value()) == 7


def test_reset_zeroes_state_and_step():
    opt = optim.Adam(lr=0.1)
    _run(opt)
    opt.reset()
    assert int(opt.step.get_value()) == 0
    assert all(not s.get_value().any() for slots in opt.state.values() for s in slots.values())
