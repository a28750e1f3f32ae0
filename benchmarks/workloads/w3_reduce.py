"""W3: reductions, ``sum(exp(x))`` over 1e7 elements and a row-wise logsumexp of a 1000x1000 matrix.

Both read their input once and write almost nothing: the limit is memory
bandwidth at 4 bytes per element.  logsumexp also needs the row maximum
first (for stability), so an unfused version reads the matrix three times.
"""

import numpy as np

from .adapters import (
    jax_function,
    pt_function,
    sg_function,
    tf_function,
    torch_function,
)
from .base import Case, Impl, fmt_count

WORKLOAD = "W3"
TITLE = "reductions: sum(exp(x)) and row-wise logsumexp"
SIZES = {"quick": (10**5, 100), "default": (10**7, 1000), "full": (10**7, 1000)}


def cases(size):
    n, rows = SIZES[size]
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, n).astype(np.float32)
    m = (rng.standard_normal((rows, rows)) * 3).astype(np.float32)
    return [Case(WORKLOAD, f"sum(exp(x)) n={fmt_count(n)}", "ms", _sum_exp(x), work=("byte", 4 * n), tol=1e-3),
            Case(WORKLOAD, f"logsumexp rows {rows}x{rows}", "ms", _logsumexp(m), work=("byte", 4 * m.size),
                 tol=1e-5)]


def _sum_exp(x):
    def build_symgraph(variant):
        import symgraph.tensor as T

        v = T.fvector("x")
        f, note = sg_function(variant, [v], T.exp(v).sum())
        return Impl(run=lambda: f(x), note=note)

    def build_pytensor(variant):
        import pytensor.tensor as pt

        v = pt.vector("x", dtype="float32")
        f = pt_function(variant, [v], pt.exp(v).sum())
        return Impl(run=lambda: f(x))

    def build_torch(variant):
        import torch

        xt = torch.from_numpy(x.copy())
        f = torch_function(lambda a: torch.exp(a).sum(), variant)
        return Impl(run=lambda: f(xt))

    def build_tensorflow(variant):
        import tensorflow as tf

        xt = tf.constant(x)
        f = tf_function(lambda a: tf.reduce_sum(tf.exp(a)), variant)
        return Impl(run=lambda: f(xt))

    def build_jax(variant):
        import jax.numpy as jnp

        xj = jnp.asarray(x)
        f = jax_function(lambda a: jnp.exp(a).sum())
        return Impl(run=lambda: f(xj))

    return {"symgraph": build_symgraph, "torch": build_torch, "tensorflow": build_tensorflow,
            "jax": build_jax, "pytensor": build_pytensor}


def _logsumexp(m):
    def build_symgraph(variant):
        import symgraph.tensor as T

        v = T.fmatrix("m")
        f, note = sg_function(variant, [v], T.logsumexp(v, axis=1))
        return Impl(run=lambda: f(m), note=note)

    def build_pytensor(variant):
        import pytensor.tensor as pt

        v = pt.matrix("m", dtype="float32")
        f = pt_function(variant, [v], pt.logsumexp(v, axis=1))
        return Impl(run=lambda: f(m))

    def build_torch(variant):
        import torch

        mt = torch.from_numpy(m.copy())
        f = torch_function(lambda a: torch.logsumexp(a, dim=1), variant)
        return Impl(run=lambda: f(mt))

    def build_tensorflow(variant):
        import tensorflow as tf

        mt = tf.constant(m)
        f = tf_function(lambda a: tf.reduce_logsumexp(a, axis=1), variant)
        return Impl(run=lambda: f(mt))

    def build_jax(variant):
        import jax
        import jax.numpy as jnp

        mj = jnp.asarray(m)
        f = jax_function(lambda a: jax.nn.logsumexp(a, axis=1))
        return Impl(run=lambda: f(mj))

    return {"symgraph": build_symgraph, "torch": build_torch, "tensorflow": build_tensorflow,
            "jax": build_jax, "pytensor": build_pytensor}
