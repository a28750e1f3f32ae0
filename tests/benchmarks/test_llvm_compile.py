"""benchmarks/llvm_compile.py runs at tiny sizes and reports cold and warm compile phases (no timing asserted)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_tiny_run_prints_cold_and_warm_breakdown(tmp_path):
    pytest.importorskip("llvmlite")
    out = subprocess.run(
        [sys.executable, os.path.join("benchmarks", "llvm_compile.py"), "--tiny", "--repeats", "1",
         "--json", str(tmp_path / "times.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    data = json.loads((tmp_path / "times.json").read_text())
    assert set(data) == {"mlp", "lstm"}
    for runs in data.values():
        cold, warm = runs["cold"], runs["warm"]
        # A warm start reads object code from the cache: LLVM does not run again.
        assert cold["llvm"] > 0 and warm["llvm"] == 0
        assert warm["loss"] == pytest.approx(cold["loss"], rel=1e-6)
        assert cold["total"] >= cold["rewrite"] + cold["llvm"]
    assert "mlp       warm" in out.stdout and "lstm      cold" in out.stdout


def test_unknown_workload_is_a_usage_error():
    out = subprocess.run([sys.executable, os.path.join("benchmarks", "llvm_compile.py"), "--only", "cnn"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and "cnn" in out.stderr
