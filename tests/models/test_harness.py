"""The experiment harness end to end: registry, runner, results.json, plots, verdicts, CLI."""

import json

import pytest
from symgraph.models import harness
from symgraph.models.harness import registry

from symgraph import cli


@pytest.fixture
def failing_experiment():
    @harness.experiment("test-always-fails", paper="none", claim="nothing", runtime="0 s")
    def run(config):
        return harness.Result(metrics={"x": 1.0, "seeds": config.seeds},
                              criteria=[harness.check("x small", 1.0, "<", 0.5), harness.check("ok", 1, "==", 1)])
    yield "test-always-fails"
    registry._REGISTRY.pop("test-always-fails")


def test_check_reports_both_numbers_and_verdict():
    c = harness.check("acc", 0.97, ">=", 0.95)
    assert c.passed and c.verdict == "PASS" and "0.97" in c.detail and "0.95" in c.detail
    assert not harness.check("acc", 0.9, ">=", 0.95).passed


def test_result_without_criteria_does_not_pass():
    assert not harness.Result().passed


def test_format_table_aligns_columns():
    text = harness.format_table([{"a": 1, "bb": 0.123456}, {"a": "long", "bb": 2.0}])
    lines = text.splitlines()
    assert lines[0].split() == ["a", "bb"] and "0.1235" in lines[2] and lines[3].startswith("long")


def test_unknown_experiment_suggests_close_names():
    with pytest.raises(KeyError, match="logreg-demo"):
        harness.get("logreg-dem")


def test_models_lists_each_experiment_on_one_line(capsys):
    assert cli.main(["models"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("logreg-demo")]
    assert len(lines) == 1 and "harness demo" in lines[0]


def test_logreg_demo_runs_end_to_end_and_passes(tmp_path, capsys):
    code = cli.main(["run", "logreg-demo", "--quick", "--seeds", "0,1", "--out", str(tmp_path),
                     "--backend", "numpy"])
    out = capsys.readouterr().out
    assert code == 0
    assert "PASS  accuracy" in out and "PASS  beats majority" in out and "majority acc" in out
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["seeds"] == [0, 1] and record["config"]["quick"] and record["config"]["backend"] == "numpy"
    assert len(record["metrics"]["accuracy"]) == 2 and record["passed"]
    assert all(v["passed"] for v in record["verdicts"])
    assert set(record["versions"]) == {"symgraph", "numpy", "python"} and record["wall_time_s"] > 0
    png = tmp_path / "loss.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failing_criterion_gives_exit_code_one(failing_experiment, tmp_path, capsys):
    result, code = harness.run_experiment(failing_experiment, seeds=[3], out=tmp_path, progress_bars=False)
    out = capsys.readouterr().out
    assert code == 1 and not result.passed
    assert "FAIL  x small" in out and "PASS  ok" in out
    assert json.loads((tmp_path / "results.json").read_text())["metrics"]["seeds"] == [3]


def test_cli_run_unknown_name_exits_with_usage_error(capsys):
    assert cli.main(["run", "no-such-experiment"]) == 2
    assert "no experiment named" in capsys.readouterr().err


def test_cli_rejects_malformed_seeds(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "logreg-demo", "--seeds", "0,x"])
    assert exc.value.code == 2 and "comma-separated integers" in capsys.readouterr().err
