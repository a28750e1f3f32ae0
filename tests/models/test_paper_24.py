"""Paper 24 (Montufar et al. 2014): exact 1-D piece counts, the 2-D folding construction, the experiment."""

import json

import numpy as np
from symgraph.models.experiments import linear_regions as lr

from symgraph import cli


def test_tent_network_of_depth_L_has_exactly_2_pow_L_pieces():
    for L in (1, 3, 5):
        assert lr.exact_pieces_1d(lr.relu_net(lr.tent_network(L)), L) == 2 ** L


def test_tent_network_computes_the_sawtooth():
    xs = np.linspace(0, 1, 33)[:, None]
    out = lr.relu_net(lr.tent_network(2))(xs)[-1][:, 0]
    tent = lambda t: np.where(t < 0.5, 2 * t, 2 - 2 * t)
    np.testing.assert_allclose(out, tent(tent(xs[:, 0])), atol=1e-12)


def test_shallow_network_reaches_units_plus_one_pieces():
    assert lr.exact_pieces_1d(lr.relu_net(lr.shallow_network(6, rng=np.random.default_rng(1))), 1) == 7


def test_2d_folding_construction_meets_the_bound_at_depth_3():
    assert lr.bound_deep(3, 2, 4) == 16 * 11
    assert lr.count_regions_2d(lr.folding_network_2d(3), 256) == lr.bound_deep(3, 2, 4)


def test_shallow_maximum_is_sum_of_binomials():
    assert lr.shallow_max(8, 2) == 1 + 8 + 28


def test_linear_regions_quick_run_writes_results(tmp_path, capsys):
    code = cli.main(["run", "linear-regions", "--quick", "--seeds", "0", "--out", str(tmp_path),
                     "--backend", "numpy"])
    out = capsys.readouterr().out
    record = json.loads((tmp_path / "results.json").read_text())
    assert code == 0 and record["passed"]
    assert "PASS  1-D tent net has exactly 2^L pieces" in out
    assert record["metrics"]["1d"]["8"]["deep"] == 256
    assert {v["name"] for v in record["verdicts"]} >= {"2-D constructed counts >= bound"}
    assert (tmp_path / "regions.png").exists()
