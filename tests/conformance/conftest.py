"""The ``backend`` fixture: every backend the registry reports available."""

import os

import pytest

from symgraph.compile.backend import BACKENDS, BackendUnavailable, backend_status, get_backend


def _status():
    """``(rows, broken)``: backend_status()'s rows, and the backends whose module is broken.

    A backend whose module fails in a way the registry does not expect (a
    half-written module) is listed as broken rather than stopping the suite
    for every other backend; ``test_every_backend_loads_or_says_why`` fails on it.
    """
    try:
        return backend_status(), []
    except Exception:  # noqa: BLE001 - probe each backend to find the broken one
        rows, broken = [], []
        for name in BACKENDS:
            try:
                get_backend(name)
                rows.append((name, True, "available"))
            except BackendUnavailable as e:
                rows.append((name, False, str(e)))
            except Exception as e:  # noqa: BLE001
                rows.append((name, False, f"broken: {type(e).__name__}: {e}"))
                broken.append((name, e))
        return rows, broken


STATUS, BROKEN = _status()
AVAILABLE = [name for name, ok, _ in STATUS if ok]
# SYMGRAPH_CONFORMANCE_BACKENDS=llvm,cuda runs only those (a backend's own check-in loop).
_ONLY = os.environ.get("SYMGRAPH_CONFORMANCE_BACKENDS")
if _ONLY:
    AVAILABLE = [name for name in AVAILABLE if name in _ONLY.split(",")]


def pytest_report_header(config):
    rows = [f"{name}: {'available' if ok else 'skipped'} ({reason})" for name, ok, reason in STATUS]
    return "conformance backends: " + "; ".join(rows)


@pytest.fixture(params=AVAILABLE)
def backend(request):
    """The name of a backend under test (``sg.Mode(backend=name)``)."""
    return request.param
