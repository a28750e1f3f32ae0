"""The backend registry: names to lazily imported backend modules.

symgraph never imports a backend at import time; ``function()`` asks for one by
name.  A backend module exposes ``compile(fgraph, mode) -> callable`` taking
the list of input values and returning the list of output values, and
``availability() -> (bool, reason)``.
"""

import importlib

from ..errors import SymgraphError

BACKENDS = {
    "numpy": "symgraph.backends.numpy",
    "llvm": "symgraph.backends.llvm",
    "cuda": "symgraph.backends.cuda",
}


class BackendUnavailable(SymgraphError, RuntimeError):
    pass


class InputMismatch(Exception):
    """Raised by a backend that checks inputs itself when one needs converting first."""


def get_backend(name):
    """The backend module called ``name``, or a clear error saying why it is missing."""
    try:
        path = BACKENDS[name]
    except KeyError:
        raise BackendUnavailable(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}") from None
    try:
        module = importlib.import_module(path)
    except ImportError as e:
        raise BackendUnavailable(f"backend {name!r} cannot be imported: {e}") from None
    ok, reason = module.availability()
    if not ok:
        raise BackendUnavailable(f"backend {name!r} is not available: {reason}")
    return module


def backend_status():
    """``[(name, available, reason)]`` for every registered backend."""
    rows = []
    for name, path in BACKENDS.items():
        try:
            module = importlib.import_module(path)
            ok, reason = module.availability()
        except ImportError as e:
            ok, reason = False, f"not importable ({e})"
        except Exception as e:  # noqa: BLE001  (a broken backend is reported, not fatal)
            ok, reason = False, f"broken: {type(e).__name__}: {e}"
        rows.append((name, ok, reason))
    return rows
