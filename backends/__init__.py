"""Backends that turn a rewritten graph into an executable (installed as symgraph.backends)."""

import os

from symgraph.graph.sourceinfo import register_internal_package

register_internal_package(os.path.dirname(os.path.abspath(__file__)))
