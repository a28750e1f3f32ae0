"""W2: a fused elementwise expression, ``exp(-x*x)*sin(x) + tanh(x)*0.5 - log1p(x*x)``, at 1e6 and 1e7.

Ten elementwise operations on one input: a framework that fuses them reads
and writes memory once; one that does not makes ten passes.  The limit is the
memory bandwidth: 8 bytes (one read, one write) per element.
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

WORKLOAD = "W2"
TITLE = "fused elemwise exp(-x*x)*sin(x) + tanh(x)*0.5 - log1p(x*x)"
SIZES = {"quick": (10**5,), "default": (10**6, 10**7), "full": (10**6, 10**7)}


def cases(size):
    out = []
    for n in SIZES[size]:
        x = np.random.default_rng(2).uniform(-3, 3, n).astype(np.float32)
        out.append(Case(WORKLOAD, f"fused elemwise n={fmt_count(n)}", "ms", _builders(x),
                        work=("byte", 8 * n), tol=1e-5))
    return out


def expression(lib, x):
    """The one formula, for any library with NumPy's names (symgraph, PyTensor, JAX, torch)."""
    return lib.exp(-x * x) * lib.sin(x) + lib.tanh(x) * 0.5 - lib.log1p(x * x)


def _builders(x):
    def build_symgraph(variant):
        import symgraph.tensor as T

        v = T.fvector("x")
        f, note = sg_function(variant, [v], expression(T, v))
        return Impl(run=lambda: f(x), note=note)

    def build_pytensor(variant):
        import pytensor.tensor as pt

        v = pt.vector("x", dtype="float32")
        f = pt_function(variant, [v], expression(pt, v))
        return Impl(run=lambda: f(x))

    def build_torch(variant):
        import torch

        xt = torch.from_numpy(x.copy())
        f = torch_function(lambda a: expression(torch, a), variant)
        return Impl(run=lambda: f(xt))

    def build_tensorflow(variant):
        import tensorflow as tf

        xt = tf.constant(x)
        f = tf_function(lambda a: tf.exp(-a * a) * tf.sin(a) + tf.tanh(a) * 0.5 - tf.math.log1p(a * a), variant)
        return Impl(run=lambda: f(xt))

    def build_jax(variant):
        import jax.numpy as jnp

        xj = jnp.asarray(x)
        f = jax_function(lambda a: expression(jnp, a))
        return Impl(run=lambda: f(xj))

    return {"symgraph": build_symgraph, "torch": build_torch, "tensorflow": build_tensorflow,
            "jax": build_jax, "pytensor": build_pytensor}
