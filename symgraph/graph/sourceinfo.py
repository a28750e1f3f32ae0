"""Where in the user's code a variable was made.

Every Variable records the first stack frame outside symgraph's own packages,
so errors raised in any phase (building, rewriting, running) can name the
user's line.  Rewrites and gradients run under :func:`source_override`, which
makes every node they create inherit the location of the node they replace or
differentiate.
"""

import contextlib
import linecache
import os
import sys
from typing import NamedTuple

_HERE = os.path.dirname(os.path.abspath(__file__))
_SYMGRAPH_ROOT = os.path.dirname(_HERE) + os.sep
_INTERNAL = [_SYMGRAPH_ROOT]
_override = []


def register_internal_package(path):
    """Treat frames from files under ``path`` as internal (e.g. backends/)."""
    path = os.path.abspath(path) + os.sep
    if path not in _INTERNAL:
        _INTERNAL.append(path)


class SourceInfo(NamedTuple):
    filename: str
    lineno: int
    function: str

    @property
    def code(self):
        return linecache.getline(self.filename, self.lineno).strip()

    def __str__(self):
        text = f'File "{self.filename}", line {self.lineno}, in {self.function}'
        code = self.code
        return f"{text}\n    {code}" if code else text


def user_source_info():
    """The innermost frame that is not symgraph's own code."""
    if _override:
        return _override[-1]
    internal = tuple(_INTERNAL)
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(internal) and not filename.startswith("<frozen"):
            return SourceInfo(filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


@contextlib.contextmanager
def source_override(info):
    """Make every variable created inside the block carry ``info``."""
    if info is None:
        yield
        return
    _override.append(info)
    try:
        yield
    finally:
        _override.pop()
