"""A segment's disk-cache key, computed from its nodes without generating any IR.

The IR of a segment is a function of: each node's Op (class and props), the
types of every variable, how nodes are wired to each other, to the segment's
inputs and to constants (embedded constants by value, table constants by
shape and layout), which variables leave the segment, and the code that
lowers them.  ``segment_key`` renders all of that canonically and hashes it
with the target and toolchain (``jit.target_description``) and a hash of the
source files of this backend and of the packages defining the Ops involved, so
an edit to a lowering (or to an Op) invalidates what was cached.

A value it cannot render stably (an unknown prop type whose repr may name a
memory address) makes the key None: that segment is then keyed by its IR.
"""

import hashlib
import os
import sys

import numpy as np

from symgraph.graph.basic import Constant, Type
from symgraph.graph.op import Op
from symgraph.scalar.composite import Composite

from .lowering import find


class Unkeyable(Exception):
    pass


_BACKEND_DIR = os.path.dirname(os.path.abspath(__file__))
_file_hashes = {}


def _file_hash(path):
    digest = _file_hashes.get(path)
    if digest is None:
        try:
            with open(path, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
        except OSError:
            digest = "?"
        _file_hashes[path] = digest
    return digest


def backend_version():
    """A hash of this backend's source files (every lowering included)."""
    paths = []
    for root, dirs, files in os.walk(_BACKEND_DIR):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        paths += [os.path.join(root, f) for f in sorted(files) if f.endswith(".py")]
    text = "".join(f"{os.path.relpath(p, _BACKEND_DIR)}:{_file_hash(p)}\n" for p in paths)
    return hashlib.sha256(text.encode()).hexdigest()


_version = []


def _backend_version_once():
    if not _version:
        _version.append(backend_version())
    return _version[0]


class _Renderer:
    """Canonical text of props, types and constants; remembers the modules of the classes it met."""

    def __init__(self):
        self.modules = set()

    def cls(self, obj):
        t = type(obj)
        self.modules.add(t.__module__)
        return f"{t.__module__}.{t.__qualname__}"

    def value(self, v):
        if v is None or isinstance(v, (bool, int, str, bytes)):
            return repr(v)
        if isinstance(v, float):
            return v.hex()
        if isinstance(v, np.generic):
            return f"{v.dtype}:{np.asarray(v).tobytes().hex()}"
        if isinstance(v, np.dtype):
            return f"dtype:{v.str}"
        if isinstance(v, np.ndarray):
            return self.array(v)
        if isinstance(v, tuple):
            return "(" + ",".join(self.value(x) for x in v) + ",)"
        if isinstance(v, list):
            return "[" + ",".join(self.value(x) for x in v) + "]"
        if isinstance(v, (set, frozenset)):
            return "{" + ",".join(sorted(self.value(x) for x in v)) + "}"
        if isinstance(v, dict):
            return "{" + ",".join(sorted(f"{self.value(k)}:{self.value(x)}" for k, x in v.items())) + "}"
        if isinstance(v, slice):
            return f"slice({self.value(v.start)},{self.value(v.stop)},{self.value(v.step)})"
        if isinstance(v, Composite):
            self.cls(v)
            for op, _, _ in v.description[1]:
                self.cls(op)
            return f"Composite:{v.cache_key}"
        if isinstance(v, Op):
            return self.cls(v) + self.value(v._props())
        if isinstance(v, Type):
            return self.type(v)
        raise Unkeyable(type(v).__qualname__)

    def type(self, t):
        if hasattr(t, "shape") and hasattr(t, "dtype"):
            return f"{self.cls(t)}({t.dtype},{t.shape})"
        if hasattr(t, "dtype"):
            return f"{self.cls(t)}({t.dtype})"
        raise Unkeyable(type(t).__qualname__)

    def array(self, a):
        a = np.asarray(a)
        data = np.ascontiguousarray(a).tobytes()
        return f"array({a.dtype.str},{a.shape},{hashlib.sha256(data).hexdigest()})"


def segment_key(nodes, inputs, outputs, constants, target, updates=()):
    """The hex key of the segment's object code, or None when some prop cannot be rendered stably."""
    r = _Renderer()
    refs = {}
    for k, var in enumerate(inputs):
        refs[var] = f"i{k}"
    for k, (var, _) in enumerate(constants):
        refs[var] = f"c{k}"
    lines = [target, _backend_version_once()]
    try:
        lines.append("in " + ";".join(r.type(v.type) for v in inputs))
        # The table holds a contiguous copy: its shape and strides are compiled in.
        lines.append("const " + ";".join(f"{r.type(v.type)}{arr.shape}{arr.strides}" for v, arr in constants))

        def ref_of(var):
            ref = refs.get(var)
            if ref is None:
                if not isinstance(var, Constant):
                    raise Unkeyable(f"{var} is not available in the segment")
                # Small constants are compiled in as immediates: their values are part of the code.
                ref = f"e{r.type(var.type)}{r.array(var.data)}"
            return ref

        def render(nodes, prefix):
            for n, node in enumerate(nodes):
                args = ",".join(ref_of(i) for i in node.inputs)
                inner = getattr(find(node), "inner_graph", None)
                if inner is None:
                    op = r.value(node.op)
                else:
                    # The graph the lowering emits (a Scan's body as rewritten for this backend) stands
                    # for the prop holding it.
                    graph = inner(node)
                    props = tuple("<inner>" if v is getattr(node.op, "body", None) else v
                                  for v in node.op._props())
                    op = r.cls(node.op) + r.value(props)
                    sub = f"{prefix}n{n}:"
                    for k, v in enumerate(graph.inputs):
                        refs[v] = f"{sub}i{k}"
                    lines.append(f"inner {sub} " + ";".join(r.type(v.type) for v in graph.inputs))
                    render(graph.toposort(), sub)
                    lines.append(f"inner out {sub} " + ",".join(ref_of(v) for v in graph.outputs))
                lines.append(f"{op}({args})->" + ",".join(r.type(o.type) for o in node.outputs))
                for j, o in enumerate(node.outputs):
                    refs[o] = f"{prefix}n{n}.{j}"

        render(nodes, "")
        lines.append("out " + ",".join(ref_of(v) for v in outputs))
        lines.append("updates " + ",".join(f"{ref_of(o)}<-{ref_of(i)}" for o, i in updates))
    except Unkeyable:
        return None
    for name in sorted(r.modules):
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        lines.append(f"{name}:{_package_hash(path) if path else '?'}")
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _package_hash(path):
    """A hash of every source file beside ``path``: an Op's helpers (its ``perform``'s arithmetic,
    which a lowering may share, e.g. random/boxmuller.py) live in its package, not always its module."""
    folder = os.path.dirname(path)
    digest = _file_hashes.get(folder)
    if digest is None:
        names = sorted(f for f in os.listdir(folder) if f.endswith(".py")) if os.path.isdir(folder) else []
        text = "".join(f"{f}:{_file_hash(os.path.join(folder, f))}\n" for f in names) or _file_hash(path)
        digest = _file_hashes[folder] = hashlib.sha256(text.encode()).hexdigest()
    return digest
