"""Paper 4: the episodic memory, kNN retrieval and batched MbPA adaptation against NumPy, and the quick run."""

import json

import numpy as np
import pytest
from symgraph.models.memory import KNN, EpisodicMemory, MbPA

from symgraph import cli

EPS = 1e-3


def _brute_force(q, keys, k):
    d = ((q[:, None, :] - keys[None, :, :]) ** 2).sum(axis=2)
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    dist = np.take_along_axis(d, idx, axis=1)
    w = 1.0 / (EPS + dist)
    return idx, dist, w / w.sum(axis=1, keepdims=True)


def _numpy_adapt(near_keys, near_values, weights, W0, b0, steps, alpha, beta):
    """One query at a time: gradient steps on sum_k w_k CE(h_k W + b, v_k) + beta/2 |theta - theta0|^2."""
    Ws, bs = [], []
    for hk, vk, wk in zip(near_keys, near_values, weights):
        W, b = W0.copy(), b0.copy()
        for _ in range(steps):
            z = hk @ W + b
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            G = wk[:, None] * (p - np.eye(W.shape[1])[vk])
            W, b = W - alpha * (hk.T @ G + beta * (W - W0)), b - alpha * (G.sum(axis=0) + beta * (b - b0))
        Ws.append(W)
        bs.append(b)
    return np.array(Ws), np.array(bs)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(5)
    keys = rng.normal(size=(40, 6))
    values = rng.integers(0, 4, 40).astype("int32")
    queries = rng.normal(size=(8, 6))
    W0, b0 = rng.normal(size=(6, 4)) * 0.5, rng.normal(size=4) * 0.1
    return keys, values, queries, W0, b0


@pytest.fixture(scope="module")
def mbpa():
    return MbPA(6, 4, k=5, steps=3, alpha=0.2, beta=0.1)


def test_memory_appends_and_overwrites_oldest_when_full():
    mem = EpisodicMemory(key_dim=2, capacity=3)
    mem.append(np.arange(4).reshape(2, 2), [7, 8])
    assert len(mem) == 2 and mem.values.tolist() == [7, 8]
    mem.append(np.full((2, 2), 9.0), [1, 2])
    assert len(mem) == 3
    assert mem.values.tolist() == [2, 8, 1]            # slot 0 (the oldest, value 7) was overwritten
    np.testing.assert_array_equal(mem.keys[0], [9.0, 9.0])
    with pytest.raises(ValueError, match="2 keys but 1 values"):
        mem.append(np.zeros((2, 2)), [1])


def test_memory_set_keys_checks_the_shape():
    mem = EpisodicMemory(key_dim=2, capacity=5).append(np.zeros((3, 2)), [0, 1, 2])
    mem.set_keys(np.ones((3, 2)))
    np.testing.assert_array_equal(mem.keys, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        mem.set_keys(np.ones((4, 2)))


def test_knn_matches_numpy_brute_force(problem):
    keys, values, queries, _, _ = problem
    nb = KNN(5, eps=EPS)(queries, keys, values)
    idx, dist, w = _brute_force(queries, keys, 5)
    np.testing.assert_array_equal(nb.indices, idx)
    np.testing.assert_allclose(nb.distances, dist, rtol=1e-12)
    np.testing.assert_allclose(nb.weights, w, rtol=1e-12)
    np.testing.assert_array_equal(nb.values, values[idx])
    np.testing.assert_array_equal(nb.keys, keys[idx])


def test_knn_vote_sums_weights_per_class(problem):
    keys, values, queries, _, _ = problem
    idx, _, w = _brute_force(queries, keys, 5)
    expected = np.zeros((len(queries), 4))
    for i in range(len(queries)):
        np.add.at(expected[i], values[idx[i]], w[i])
    np.testing.assert_allclose(KNN(5, eps=EPS, n_classes=4).vote(queries, keys, values), expected, rtol=1e-12)


def test_knn_refuses_a_memory_smaller_than_k(problem):
    keys, values, queries, _, _ = problem
    with pytest.raises(ValueError, match="fewer than k"):
        KNN(5)(queries, keys[:3], values[:3])


def test_batched_adaptation_matches_per_query_numpy_loop(problem, mbpa):
    keys, values, queries, W0, b0 = problem
    idx, _, w = _brute_force(queries, keys, 5)
    W, b = mbpa.adapt(keys[idx], values[idx], w, W0, b0)
    W_ref, b_ref = _numpy_adapt(keys[idx], values[idx], w, W0, b0, steps=3, alpha=0.2, beta=0.1)
    assert W.shape == (8, 6, 4) and b.shape == (8, 4)
    np.testing.assert_allclose(W, W_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b, b_ref, rtol=1e-10, atol=1e-12)
    assert not np.allclose(W, W0)                     # the steps moved every query's copy


def test_mbpa_logits_use_each_querys_adapted_layer(problem, mbpa):
    keys, values, queries, W0, b0 = problem
    idx, _, w = _brute_force(queries, keys, 5)
    for alpha, beta in ((0.2, 0.1), (0.05, 0.0)):     # alpha and beta are inputs of the one compiled function
        W_ref, b_ref = _numpy_adapt(keys[idx], values[idx], w, W0, b0, steps=3, alpha=alpha, beta=beta)
        expected = np.einsum("bd,bdc->bc", queries, W_ref) + b_ref
        np.testing.assert_allclose(mbpa(queries, keys, values, W0, b0, alpha=alpha, beta=beta), expected,
                                   rtol=1e-10, atol=1e-12)


def test_quick_mbpa_experiment_writes_a_verdict_per_criterion(tmp_path):
    cli.main(["run", "mbpa", "--quick", "--seeds", "0", "--out", str(tmp_path), "--backend", "numpy"])
    record = json.loads((tmp_path / "results.json").read_text())
    assert {v["name"] for v in record["verdicts"]} == {"MbPA beats parametric", "MbPA vs kNN"}
    assert len(record["metrics"]["test_accuracy"]["parametric"][0]) == 3
    assert "knn_margin" in record["metrics"]
    assert (tmp_path / "task_accuracy.png").exists()
