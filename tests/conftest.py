import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import symgraph  # noqa: E402

# The suite runs its API, gradient and model tests on the numpy reference
# backend (compiling is cheap there); the conformance suite runs every Op on
# every available backend, and tests/backends/ exercise each backend directly.
# SYMGRAPH_FLAGS=backend=llvm runs everything on llvm instead.
if "backend" not in os.environ.get("SYMGRAPH_FLAGS", ""):
    symgraph.config.backend = "numpy"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running experiments (run with -m slow)")
