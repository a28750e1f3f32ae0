"""Paper 16: the diagonal Fisher against a NumPy per-example loop, and the quick EWC experiment."""

import json

import numpy as np
import pytest
from symgraph.models.experiments import ewc
from symgraph.models.fisher import DenseDiagonalFisher, DiagonalFisher

import symgraph as sg
import symgraph.tensor as T
from symgraph import cli


def _tiny_net(rng):
    W1 = rng.normal(size=(3, 4))
    b1 = rng.normal(size=4) * 0.1
    W2 = rng.normal(size=(4, 5))
    b2 = rng.normal(size=5) * 0.1
    return [W1, b1, W2, b2]


def _numpy_fisher(values, X, labels):
    """Mean over examples of the squared analytic gradient of log p(y|x) for a tanh 3-4-5 net."""
    W1, b1, W2, b2 = values
    acc = [np.zeros_like(v) for v in values]
    for x, y in zip(X, labels):
        h = np.tanh(x @ W1 + b1)
        z = h @ W2 + b2
        p = np.exp(z - z.max())
        p /= p.sum()
        dz = np.eye(len(p))[y] - p                      # d log p_y / dz
        dh = W2 @ dz
        da = dh * (1 - h ** 2)
        for a, g in zip(acc, [np.outer(x, da), da, np.outer(h, dz), dz]):
            a += g ** 2
    return [a / len(X) for a in acc]


def _numpy_probs(values, X):
    W1, b1, W2, b2 = values
    z = np.tanh(X @ W1 + b1) @ W2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture
def tiny():
    rng = np.random.default_rng(3)
    values = _tiny_net(rng)
    params = [sg.shared(v.copy(), name=n) for v, n in zip(values, ["W1", "b1", "W2", "b2"])]
    x = T.matrix("x")
    logits = T.dot(T.tanh(T.dot(x, params[0]) + params[1]), params[2]) + params[3]
    X = rng.normal(size=(9, 3))
    return values, DiagonalFisher(logits, params, x), X


@pytest.fixture
def tiny_dense():
    """The same tanh 3-4-5 net, its layers spelled out for ``DenseDiagonalFisher``."""
    rng = np.random.default_rng(3)
    values = _tiny_net(rng)
    W1, b1, W2, b2 = [sg.shared(v.copy(), name=n) for v, n in zip(values, ["W1", "b1", "W2", "b2"])]
    x = T.matrix("x")
    z1 = T.dot(x, W1) + b1
    h1 = T.tanh(z1)
    z2 = T.dot(h1, W2) + b2
    X = rng.normal(size=(9, 3))
    return values, DenseDiagonalFisher(z2, x, [(x, z1, W1, b1), (h1, z2, W2, b2)]), X


def test_sampled_label_fisher_matches_numpy_per_example_loop(tiny):
    values, fisher, X = tiny
    F = fisher(X, rng=np.random.default_rng(7))
    # the same Generator state draws the same uniforms, so the same inverse-CDF labels
    u = np.random.default_rng(7).random(len(X))
    labels = (u[:, None] >= np.cumsum(_numpy_probs(values, X), axis=1)).sum(axis=1)
    expected = _numpy_fisher(values, X, labels)
    for got, want in zip(F, expected):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_empirical_fisher_uses_the_given_labels(tiny):
    values, fisher, X = tiny
    y = np.array([0, 1, 2, 3, 4, 0, 1, 2, 3], dtype="int32")
    expected = _numpy_fisher(values, X, y)
    for got, want in zip(fisher(X, y=y), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_fisher_in_chunks_equals_one_call(tiny):
    _, fisher, X = tiny
    whole = fisher(X, rng=np.random.default_rng(1))
    chunked = fisher(X, rng=np.random.default_rng(1), batch_size=4)
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_sampled_labels_follow_the_predictive_distribution(tiny):
    values, fisher, X = tiny
    Xrep = np.repeat(X[:1], 20000, axis=0)
    labels = fisher.sample_labels(Xrep, np.random.default_rng(0))
    freq = np.bincount(labels, minlength=5) / len(labels)
    np.testing.assert_allclose(freq, _numpy_probs(values, X[:1])[0], atol=0.015)


def test_sampled_fisher_needs_an_rng(tiny):
    _, fisher, X = tiny
    with pytest.raises(ValueError, match="rng"):
        fisher(X)


def test_dense_fisher_matches_numpy_per_example_loop(tiny_dense):
    values, fisher, X = tiny_dense
    F = fisher(X, rng=np.random.default_rng(7))
    u = np.random.default_rng(7).random(len(X))
    labels = (u[:, None] >= np.cumsum(_numpy_probs(values, X), axis=1)).sum(axis=1)
    for got, want in zip(F, _numpy_fisher(values, X, labels)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_dense_fisher_in_chunks_with_given_labels(tiny_dense):
    values, fisher, X = tiny_dense
    y = np.array([4, 3, 2, 1, 0, 4, 3, 2, 1], dtype="int32")
    for got, want in zip(fisher(X, y=y, batch_size=2), _numpy_fisher(values, X, y)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _numpy_relu_mlp_grads(values, X, y):
    """Mean cross-entropy gradients of a ReLU MLP, [W1, b1, W2, b2, ...], by hand."""
    hs, h = [X], X
    pairs = list(zip(values[::2], values[1::2]))
    for i, (W, b) in enumerate(pairs):
        z = h @ W + b
        h = np.maximum(z, 0) if i < len(pairs) - 1 else z
        hs.append(h)
    p = np.exp(h - h.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = (p - np.eye(p.shape[1])[y]) / len(X)
    grads = []
    for i in range(len(pairs) - 1, -1, -1):
        grads = [hs[i].T @ dz, dz.sum(axis=0)] + grads
        dz = (dz @ pairs[i][0].T) * (hs[i] > 0)
    return grads


def test_ewc_step_is_the_proximal_step_of_the_anchored_loss():
    """One training step solves (u - (theta - lr g)) / lr + lambda sum_t F_t (u - a_t) = 0 exactly."""
    rng = np.random.default_rng(5)
    net = ewc._Net([4, 6, 3])
    theta = [rng.normal(size=p.get_value().shape) for p in net.params]
    for p, v in zip(net.params, theta):
        p.set_value(v.copy())
    anchors = [[rng.normal(size=v.shape) for v in theta] for _ in net.anchors]
    weights = [[rng.random(size=v.shape) * 10 for v in theta] for _ in net.weights]
    for slots, vals in [(net.anchors, anchors), (net.weights, weights)]:
        for slot, vs in zip(slots, vals):
            for s, v in zip(slot, vs):
                s.set_value(v)
    lr, lam = 0.1, 3.0
    net.lr.set_value(np.asarray(lr))
    net.lam.set_value(np.asarray(lam))
    X, y = rng.normal(size=(7, 4)), np.array([0, 1, 2, 0, 1, 2, 0], dtype="int32")
    g = _numpy_relu_mlp_grads(theta, X, y)
    net.train(X, y)
    for i, (p, v, gi) in enumerate(zip(net.params, theta, g)):
        u = p.get_value()
        residual = (u - (v - lr * gi)) / lr + lam * sum(w[i] * (u - a[i]) for w, a in zip(weights, anchors))
        np.testing.assert_allclose(residual, 0, atol=1e-10)


def test_ewc_fisher_is_the_scan_fisher_of_the_trained_mlp():
    """The experiment's fast Fisher equals the generic per-example-scan one on its own MLP."""
    rng = np.random.default_rng(2)
    net = ewc._Net([5, 7, 4])
    net.reset(1)
    x = T.matrix("x")
    slow = DiagonalFisher(net.model(x), net.params, x)
    X = rng.random(size=(11, 5))
    for a, b in zip(net.fisher(X, rng=np.random.default_rng(0)), slow(X, rng=np.random.default_rng(0))):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_task3_headroom_bounds_the_gap_by_the_best_ewc_setting():
    """Seed-mean task-3 accuracy after the last task: best EWC and SGD settings against the chosen L2."""
    def stages(task3):
        return {"test": [[0.9, 0.1, 0.1], [0.5, 0.9, 0.1], [0.4, 0.6, task3]]}

    task3 = {("SGD", 0.1, 0.0): (0.90, 0.94), ("SGD", 0.3, 0.0): (0.95, 0.97),
             ("L2", 0.1, 1.0): (0.70, 0.80), ("L2", 0.1, 2.0): (0.60, 0.62),
             ("EWC", 0.1, 10.0): (0.85, 0.87), ("EWC", 0.3, 10.0): (0.80, 0.82)}
    runs = {s: [stages(a) for a in accs] for s, accs in task3.items()}
    best = {"SGD": ("SGD", 0.1, 0.0), "L2": ("L2", 0.1, 1.0), "EWC": ("EWC", 0.3, 10.0)}
    room = ewc._task3_headroom(runs, list(task3), best)
    assert room["l2_chosen"] == pytest.approx(0.75)
    assert room["ewc_best"] == pytest.approx(0.86)
    assert room["ewc_best_setting"] == "EWC lr=0.1 lam=10"
    assert room["sgd_best"] == pytest.approx(0.96)
    assert room["largest_gap"] == pytest.approx(0.11)


def test_quick_ewc_experiment_writes_a_verdict_per_criterion(tmp_path):
    cli.main(["run", "ewc", "--quick", "--seeds", "0", "--out", str(tmp_path), "--backend", "numpy"])
    record = json.loads((tmp_path / "results.json").read_text())
    verdicts = {v["name"] for v in record["verdicts"]}
    assert verdicts == {"EWC keeps task 1", "EWC mean", "SGD forgets task 1", "EWC learns task 3 better than L2"}
    runs = record["metrics"]["test_accuracy_after_each_task"]
    assert len(runs) == len(ewc.LRS) * sum(len(g) for g in ewc.LAMBDAS.values())
    acc = runs[f"SGD lr={ewc.LRS[0]:g} lam=0"][0]
    assert np.array(acc).shape == (3, 3)
    # task 1 is trained once per learning rate and shared: identical first-stage accuracy for every method
    for lr in ewc.LRS:
        firsts = {json.dumps(v[0][0]) for k, v in runs.items() if k.split()[1] == f"lr={lr:g}"}
        assert len(firsts) == 1
    assert set(record["metrics"]["chosen"]) == {"SGD", "L2", "EWC"}
    assert set(record["metrics"]["task3_headroom"]) == {"l2_chosen", "ewc_best_setting", "ewc_best", "sgd_best",
                                                        "largest_gap"}
    assert (tmp_path / "task_accuracy.png").exists()
