"""The symgraph command."""

import subprocess
import sys

from symgraph.cli import main


def test_info_prints_version_and_backends(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    import symgraph

    assert f"symgraph {symgraph.__version__}" in out
    assert "numpy  available" in out
    # every registered backend is listed, with a reason when missing
    for name in ("llvm", "cuda"):
        line = next(line for line in out.splitlines() if line.strip().startswith(name))
        assert "available" in line or "missing" in line


def test_info_ops_lists_what_each_backend_lowers(capsys):
    assert main(["info", "--ops"]) == 0
    assert "lowers" in capsys.readouterr().out


def test_console_script_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "symgraph.cli", "info"], capture_output=True, text=True)
    assert out.returncode == 0 and "backends:" in out.stdout
