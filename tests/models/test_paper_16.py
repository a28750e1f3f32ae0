"""Paper 16: the diagonal Fisher against a NumPy per-example loop, and the quick EWC experiment."""

import json

import numpy as np
import pytest
from symgraph.models.fisher import DiagonalFisher

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


def test_quick_ewc_experiment_writes_a_verdict_per_criterion(tmp_path):
    cli.main(["run", "ewc", "--quick", "--seeds", "0", "--out", str(tmp_path), "--backend", "numpy"])
    record = json.loads((tmp_path / "results.json").read_text())
    verdicts = {v["name"] for v in record["verdicts"]}
    assert verdicts == {"EWC keeps task 1", "EWC mean", "SGD forgets task 1", "EWC learns task 3 better than L2"}
    acc = record["metrics"]["test_accuracy_after_each_task"]["SGD lam=0"][0]
    assert np.array(acc).shape == (3, 3)
    assert (tmp_path / "task_accuracy.png").exists()
