"""Shared helpers of the T.linalg tests: inputs, compiling, shape and gradient checks."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T
from symgraph.gradient import verify_grad, verify_rop
from symgraph.graph.traversal import toposort
from symgraph.tensor.shape_inference import infer_shape

L = T.linalg


def var(dtype, shape, static=False):
    """A symbolic input like an array of ``shape``: fully static, or keeping only its
    length-1 (broadcastable) axes."""
    return T.TensorType(dtype, shape if static else tuple(1 if s == 1 else None for s in shape))()


def run(fn, *values, static=False):
    """``fn`` applied to symbolic inputs, compiled and called on ``values``."""
    inputs = [var(v.dtype, v.shape, static) for v in values]
    out = fn(*inputs)
    return sg.function(inputs, out)(*values)


def well_conditioned(rng, shape, dtype="float64"):
    """A random matrix (or stack) whose square part is safely invertible."""
    x = rng.standard_normal(shape)
    if shape[-1] == shape[-2]:
        x = x / np.sqrt(max(shape[-1], 1)) + 2 * np.eye(shape[-1])
    return x.astype(dtype)


def spd_value(rng, shape, dtype="float64"):
    x = rng.standard_normal(shape)
    return (x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])).astype(dtype)


def spd(x):
    """``x x^T + n I``: symmetric positive definite for any square ``x`` (symbolic)."""
    n = x.shape[-1]
    return T.matmul(x, mT(x)) + T.cast(n, x.dtype) * T.eye(n, dtype=x.dtype)


def mT(x):
    order = list(range(x.ndim))
    order[-2], order[-1] = order[-1], order[-2]
    return x.dimshuffle(*order)


def sign_fixed(v):
    """Columns of ``v`` with their first entry made positive: removes the sign
    ambiguity of eigen- and singular vectors, so costs of it are differentiable."""
    first = T.sgn(v[..., 0, :])
    return v * first.dimshuffle(*range(first.ndim - 1), "x", first.ndim - 1)


def check_grads(fn, points, rop=True, **kwargs):
    """verify_grad (and verify_rop) of ``fn`` at ``points``."""
    points = [np.asarray(p) for p in points]
    verify_grad(fn, [p.copy() for p in points], rng=np.random.default_rng(7), **kwargs)
    if rop:
        verify_rop(fn, [p.copy() for p in points], rng=np.random.default_rng(8), **kwargs)


def check_infer_shape(fn, values, op_class):
    """Each output's shape from infer_shape equals its run-time shape, and is computed
    without running ``op_class``."""
    inputs = [var(v.dtype, v.shape) for v in values]
    outs = fn(*inputs)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    got = sg.function(inputs, outs)(*values)
    for out, value in zip(outs, got):
        shape = infer_shape(out)
        assert not any(isinstance(n.op, op_class) for n in toposort(list(shape))), \
            f"the shape of {out} needs {op_class.__name__} to run"
        if not shape:
            assert np.ndim(value) == 0
            continue
        f = sg.function(inputs, list(shape), on_unused_input="ignore")
        assert tuple(int(s) for s in f(*values)) == np.shape(value)


def assert_close(got, want, dtype=None, rtol=None, atol=None):
    want = np.asarray(want)
    dtype = np.dtype(dtype or want.dtype)
    assert got.dtype == dtype, f"dtype {got.dtype} != {dtype}"
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    single = dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=rtol or (2e-4 if single else 1e-9),
                               atol=atol or (2e-4 if single else 1e-10))
