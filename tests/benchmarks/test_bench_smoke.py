"""The benchmark suite runs end to end and writes its table, JSON and plot (no timing is asserted)."""

import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)  # benchmarks/ is not installed: it is found next to the package


def test_quick_run_writes_table_json_and_plot(tmp_path):
    # jax is the one peer cheap enough to import here: present, it is timed; absent, skipped with a line.
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "W1,W2", "--frameworks", "symgraph,jax",
         "--repeats", "2", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    data = json.loads((tmp_path / "results.json").read_text())
    labels = [r["label"] for r in data["results"]]
    assert any(label.startswith("W1 ") for label in labels) and any(label.startswith("W2 ") for label in labels)
    for result in data["results"]:
        timed = {k: row for k, row in result["rows"].items() if "median_s" in row}
        assert "symgraph[numpy]" in timed, result
        assert result["symgraph_best"] in timed
        assert timed[result["symgraph_best"]]["ratio"] == 1.0
    if "jax" in data["meta"]["versions"]:
        assert "jax.jit" in data["meta"]["variants"]
    else:
        assert "jax: skipped" in out.stdout
    table = (tmp_path / "results.md").read_text()
    assert "| workload | symgraph[numpy]" in table and "W2 fused elemwise" in table
    assert (tmp_path / "ratios.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "W1 call overhead" in out.stdout  # the table is printed too


def test_symgraph_bench_forwards_to_the_suite(capsys):
    from symgraph.cli import main

    assert main(["bench", "--help"]) == 0


def test_a_framework_that_disagrees_is_named_against_the_consensus():
    from benchmarks.runner import _disagreeing

    good = [np.array([1.0, 2.0, 3.0])]
    built = {"symgraph[numpy]": (None, good), "torch": (None, [good[0] * (1 + 1e-7)]),
             "jax.jit": (None, [good[0] + 1.0])}
    (key, error, ref), = _disagreeing(built, tol=1e-4)
    assert key == "jax.jit" and ref == "symgraph[numpy]" and error > 0.3


def test_unknown_framework_is_a_usage_error():
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--frameworks", "symgraph,caffe"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and "caffe" in out.stderr
