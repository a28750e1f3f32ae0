"""The experiment registry: ``@experiment(...)`` records a ``run(config) -> Result`` function by name."""

import importlib
import pkgutil
from dataclasses import dataclass

_REGISTRY: dict = {}

# Modules imported to find experiments: the harness's own demo and every module of
# symgraph.models.experiments (one per paper), so registering is just defining.
_EXPERIMENT_PACKAGES = ("symgraph.models.experiments",)
_EXTRA_MODULES = ("symgraph.models.harness.demo",)


@dataclass(frozen=True)
class Experiment:
    name: str
    paper: str
    claim: str
    runtime: str        # the expected full-size wall time, e.g. "2 min"
    fn: callable
    seeds: tuple = (0, 1, 2)    # the paper's seed count: what ``symgraph run NAME`` uses without --seeds

    def __call__(self, config):
        return self.fn(config)


def experiment(name: str, paper: str, claim: str, runtime: str, seeds=(0, 1, 2)):
    """Register the decorated ``run(config) -> Result`` as experiment ``name``."""
    def register(fn):
        if name in _REGISTRY and _REGISTRY[name].fn.__module__ != fn.__module__:
            raise ValueError(f"experiment {name!r} is registered twice "
                             f"({_REGISTRY[name].fn.__module__} and {fn.__module__})")
        _REGISTRY[name] = Experiment(name, paper, claim, runtime, fn, tuple(seeds))
        return fn
    return register


def experiments() -> dict:
    """Every registered experiment, by name, after importing the experiment modules."""
    _discover()
    return dict(sorted(_REGISTRY.items()))


def get(name: str) -> Experiment:
    found = experiments()
    if name not in found:
        import difflib

        close = difflib.get_close_matches(name, list(found), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(found)}"
        raise KeyError(f"no experiment named {name!r}{hint}")
    return found[name]


def _discover():
    for mod in _EXTRA_MODULES:
        importlib.import_module(mod)
    for pkg_name in _EXPERIMENT_PACKAGES:
        try:
            pkg = importlib.import_module(pkg_name)
        except ModuleNotFoundError:
            continue
        for info in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{pkg_name}.{info.name}")
