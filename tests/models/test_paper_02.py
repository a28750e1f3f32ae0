"""Paper 2: the block mean approximation's k x k route, the optimizer, and the quick experiment."""

import json

import numpy as np
from symgraph.models import block_mean as bm
from symgraph.models.linalg import np_inverse_sqrt

import symgraph as sg
import symgraph.tensor as T
from symgraph import cli

SIZES = [5, 1, 7, 3]


def _psd(rng, d):
    A = rng.normal(size=(d, 2 * d))
    return A @ A.T


def test_block_mean_dense_has_block_constant_structure():
    G = _psd(np.random.default_rng(0), sum(SIZES))
    M = bm.block_mean_dense(G, SIZES)
    a, b = slice(0, 5), slice(6, 13)
    assert np.allclose(M[a, b], G[a, b].mean())
    assert np.allclose(np.diag(M)[a], np.diag(G)[a].mean())
    off = G[a, a][~np.eye(5, dtype=bool)].mean()
    assert np.allclose(M[a, a][~np.eye(5, dtype=bool)], off)
    assert np.isclose(M[5, 5], G[5, 5])


def test_k_by_k_inverse_sqrt_matches_dense_eigh():
    rng = np.random.default_rng(1)
    G = _psd(rng, sum(SIZES))
    lam, C = bm.block_mean_stats(G, SIZES)
    v = rng.normal(size=sum(SIZES))
    ref = np_inverse_sqrt(bm.block_mean_dense(G, SIZES)) @ v
    assert np.allclose(bm.block_mean_apply(lam, C, SIZES, v, bm.inverse_sqrt_function()), ref, atol=1e-10)
    assert np.allclose(bm.symbolic_block_mean_inverse_sqrt(SIZES)(lam, C, v), ref, atol=1e-10)


def test_block_mean_adagrad_steps_match_numpy_reference():
    rng = np.random.default_rng(2)
    d = sum(SIZES)
    scale = np.arange(1, d + 1, dtype=float)
    w = sg.shared(rng.normal(size=d), name="w")
    x = T.vector("x")
    loss = T.sum(T.sqr(w - x) * scale)
    train = sg.function([x], loss, updates=bm.BlockMeanAdaGrad(lr=0.1, groups=[SIZES]).updates(loss, [w]))
    ref, G = w.get_value().copy(), np.zeros((d, d))
    for _ in range(4):
        xv = rng.normal(size=d)
        train(xv)
        g = 2 * (ref - xv) * scale
        G += np.outer(g, g)
        lam, C = bm.block_mean_stats(G, SIZES)
        ref = ref - 0.1 * bm.block_mean_apply(lam, C, SIZES, g, lambda z: 1 / (np.sqrt(np.maximum(z, 0)) + 1e-8))
    assert np.allclose(w.get_value(), ref, rtol=1e-5, atol=1e-6)


def test_groups_that_do_not_cover_a_parameter_are_rejected():
    import pytest

    w = sg.shared(np.zeros(4), name="w")
    with pytest.raises(ValueError, match="do not cover"):
        bm.BlockMeanAdaGrad(lr=0.1, groups=[[3]]).updates(T.sum(T.sqr(w)), [w])


def test_quick_experiment_writes_metrics_and_verdicts(tmp_path, capsys):
    cli.main(["run", "block-mean-adagrad", "--quick", "--seeds", "0", "--out", str(tmp_path), "--backend", "numpy"])
    out = capsys.readouterr().out
    record = json.loads((tmp_path / "results.json").read_text())
    names = [v["name"] for v in record["verdicts"]]
    assert names == ["BMA^-1/2 exact", "BMA closer than diag", "(a) block-mean vs diag", "(b) block-mean no worse"]
    assert record["metrics"]["bma_inverse_sqrt_rel_error"] < 1e-6 and record["verdicts"][0]["passed"]
    assert set(record["metrics"]["least_squares_median_loss"]) == {"SGD", "diag AdaGrad", "block-mean AdaGrad",
                                                                   "full AdaGrad"}
    assert "block-mean AdaGrad" in out and (tmp_path / "least_squares.png").exists()
