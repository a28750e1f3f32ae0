"""Paper 14: dead-ReLU blind spots and the quick local-minima experiment."""

import json

import numpy as np
from symgraph.models.experiments import local_minima as lm

from symgraph import cli


def test_all_dead_init_is_certified_minimum_with_constant_prediction():
    X, y = lm._dataset(0)
    # hidden units with a large negative bias never fire: the net predicts b2 = mean(y), a flat minimum
    theta = np.concatenate([np.zeros(4), [-5.0, -5.0], [1.0, 1.0], [y.mean()]])
    (report,) = lm._certify(X, y, 2, theta[None, :])
    assert report.kind == "minimum" and report.grad_norm < 1e-12
    assert np.isclose(report.loss, 0.5 * np.var(y)) and report.loss >= 0.1


def test_batched_training_matches_one_net_at_a_time():
    X, y = lm._dataset(0)
    theta, losses = lm._train_many(X, y, 2, 3, steps=50, lr=0.05, seed=1)
    W1, b1, w2, b2 = theta[1, :4].reshape(2, 2), theta[1, 4:6], theta[1, 6:8], theta[1, 8]
    pred = np.maximum(X @ W1 + b1, 0) @ w2 + b2
    assert np.isclose(losses[1], 0.5 * np.mean((pred - y) ** 2))


def test_quick_experiment_writes_metrics_and_verdicts(tmp_path):
    cli.main(["run", "local-minima", "--quick", "--seeds", "0", "--out", str(tmp_path), "--backend", "numpy"])
    record = json.loads((tmp_path / "results.json").read_text())
    verdicts = {v["name"]: v["passed"] for v in record["verdicts"]}
    assert set(verdicts) == {"(a) stuck in bad minima", "(a) global reached", "(b) dead init blind",
                             "(b) standard init learns"}
    assert verdicts["(b) dead init blind"]
    assert len(record["metrics"]["part_a"]["2"]["losses"]) == 12
    assert (tmp_path / "final_losses.png").exists()
