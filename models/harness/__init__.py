"""The experiment harness: a registry, a runner (``symgraph run``), results and verdicts.

    from symgraph.models.harness import experiment, Result, check

    @experiment("my-exp", paper="...", claim="...", runtime="2 min")
    def run(config):
        ...
        return Result(metrics=..., table=rows, criteria=[check("acc", acc, ">=", 0.9)], figures={...})
"""

from .registry import Experiment, experiment, experiments, get
from .result import Criterion, Result, check, format_table
from .runner import Config, list_experiments, run_experiment

__all__ = [
    "Config", "Criterion", "Experiment", "Result", "check", "experiment", "experiments", "format_table", "get",
    "list_experiments", "run_experiment",
]
