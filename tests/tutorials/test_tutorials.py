"""Each tutorial runs and shows what it promises."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2] / "tutorials"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_logistic_regression_loss_falls_and_it_learns(capsys):
    tutorial = _load("logistic_regression")
    losses, accuracy = tutorial.main(steps=60, report_every=20)
    assert losses[-1] < 0.5 * losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))
    assert accuracy > 0.85
    assert "loss" in capsys.readouterr().out
