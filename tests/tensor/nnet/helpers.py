"""Shared helpers of the T.nnet tests: symbolic inputs, compiled runs and shape checks."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T
from symgraph.graph.traversal import toposort
from symgraph.tensor.shape_inference import infer_shape


def var(dtype, shape, name=None):
    """A symbolic input whose static shape keeps only the length-1 (broadcastable) axes."""
    return T.TensorType(dtype, tuple(1 if s == 1 else None for s in shape))(name)


def run(fn, *values, mode=None):
    """Build ``fn`` on symbolic inputs shaped like ``values``, compile it and call it."""
    inputs = [var(np.asarray(v).dtype, np.shape(v)) for v in values]
    out = fn(*inputs)
    return sg.function(inputs, out, mode=mode)(*values)


def assert_shape_inferred(fn, *values, op_type=None):
    """``infer_shape`` of ``fn``'s output gives its run-time shape without running ``op_type``."""
    inputs = [var(np.asarray(v).dtype, np.shape(v)) for v in values]
    out = fn(*inputs)
    shape = list(infer_shape(out))
    if op_type is not None:
        ops = [n.op for n in toposort(shape)]
        assert not any(isinstance(op, op_type) for op in ops), f"the shape graph computes {op_type.__name__}"
    got = sg.function(inputs, shape, on_unused_input="ignore")(*values) if shape else []
    want = sg.function(inputs, out, on_unused_input="ignore")(*values).shape
    assert tuple(int(g) for g in got) == want


def rand(rng, shape, dtype="float64", low=None):
    """Standard normal data; with ``low``, uniform in [low, low + 1)."""
    if low is not None:
        return (rng.random(shape) + low).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def distinct(rng, shape, dtype="float64"):
    """Values spaced at least 0.05 apart (no ties for max pooling, kinks kept away from 0)."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2 + 0.5) * 0.05).reshape(shape).astype(dtype)
