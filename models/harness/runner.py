"""Running one experiment: configuration, progress bars, the report, results.json and plots."""

import json
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .registry import get
from .result import Result, format_table


@dataclass
class Config:
    """What ``symgraph run`` passes to an experiment.

    ``quick`` asks for the CI size (a minute or less); ``seeds`` are the
    seeds to average over; ``out`` is where the runner writes results.
    """

    seeds: list = field(default_factory=lambda: [0, 1, 2])
    quick: bool = False
    out: Path = Path("results")
    backend: str = None
    progress_bars: bool = True
    # The experiments' matrices are small (tens to hundreds wide): threaded BLAS only adds contention on
    # a 2-core machine (products measured 3-10x slower with two busy cores), so runs pin it to one thread.
    blas_threads: int = 1

    def size(self, full, quick):
        """``quick`` when running at CI size, else ``full``."""
        return quick if self.quick else full

    def progress(self, iterable=None, desc="", total=None, leave=False):
        """A tqdm bar (stderr); call ``bar.set_postfix(metric=..., refresh=False)`` to show the current metric."""
        from tqdm.auto import tqdm

        return tqdm(iterable, desc=desc, total=total, leave=leave, disable=not self.progress_bars,
                    dynamic_ncols=True, mininterval=0.5, file=sys.stderr)


def run_experiment(name, seeds=None, quick=False, out=None, backend=None, progress_bars=True,
                   stream=None) -> tuple:
    """Run experiment ``name``, print its report, write ``results.json`` and plots.

    Returns ``(result, exit_code)``; the exit code is 0 only when every criterion passes.
    """
    import symgraph as sg

    stream = stream or sys.stdout
    exp = get(name)
    out = Path(out) if out is not None else Path("results") / name
    out.mkdir(parents=True, exist_ok=True)
    config = Config(seeds=list(seeds) if seeds is not None else list(exp.seeds), quick=quick, out=out,
                    backend=backend, progress_bars=progress_bars)
    previous_backend = sg.config.backend
    if backend:
        sg.config.backend = backend
    print(f"{exp.name} -- {exp.paper}\nclaim: {exp.claim}\n"
          f"seeds {config.seeds}, {'quick' if quick else 'full'} size, backend {sg.config.backend}", file=stream)
    start = time.perf_counter()
    try:
        with _blas_threads(config.blas_threads):
            result = exp(config)
    finally:
        sg.config.backend = previous_backend
    wall = time.perf_counter() - start
    if not isinstance(result, Result):
        raise TypeError(f"experiment {name!r} returned {type(result).__name__}, expected a harness Result")

    print(file=stream)
    if result.table:
        print(format_table(result.table), file=stream)
        print(file=stream)
    for note in result.notes:
        print(f"note: {note}", file=stream)
    for c in result.criteria:
        print(f"{c.verdict}  {c.name}: {c.detail}", file=stream)
    if not result.criteria:
        print("FAIL  the experiment defined no criteria", file=stream)
    plots = _save_figures(result.figures, out)
    record = {
        "experiment": exp.name, "paper": exp.paper, "claim": exp.claim,
        "config": {"seeds": config.seeds, "quick": quick, "backend": backend or sg.config.backend,
                   "floatX": sg.config.floatX},
        "seeds": config.seeds,
        "budget": result.budget,
        "metrics": result.metrics,
        "table": result.table,
        "verdicts": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in result.criteria],
        "passed": result.passed,
        "notes": result.notes,
        "plots": plots,
        "versions": {"symgraph": sg.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
        "wall_time_s": wall,
    }
    (out / "results.json").write_text(json.dumps(record, indent=2, default=_jsonable))
    print(f"\n{'PASS' if result.passed else 'FAIL'}  {exp.name} ({wall:.1f} s); results in {out}/results.json",
          file=stream)
    return result, 0 if result.passed else 1


def list_experiments(stream=None):
    from .registry import experiments

    stream = stream or sys.stdout
    for exp in experiments().values():
        print(f"{exp.name:24s} {exp.paper:40.40s} {exp.runtime:>8s}  {exp.claim}", file=stream)


def _save_figures(figures, out):
    if not figures:
        return []
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    saved = []
    for stem, fig in figures.items():
        path = out / f"{stem}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        saved.append(path.name)
    return saved


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"results.json: cannot store {type(v).__name__}")


def _blas_threads(n):
    # threadpoolctl (it comes with scikit-learn, a models dependency) limits the BLAS libraries loaded
    # when it is called: the llvm backend's BLAS (NumPy's, or else SciPy's) is loaded first.
    from symgraph.backends.llvm.blas_library import blas_library
    from threadpoolctl import threadpool_limits

    blas_library()

    return threadpool_limits(n, user_api="blas")
