"""W1: call overhead, ``f(x) = x + 1`` on 10 float32 elements (microseconds per call).

Arithmetic is nothing here: the time is each framework's dispatch from Python
(argument checks, the trip into native code, output allocation).  Every
framework gets its own array type as input, made once before timing.
"""

import numpy as np

from .adapters import (
    jax_function,
    pt_function,
    sg_function,
    tf_function,
    torch_function,
)
from .base import Case, Impl

WORKLOAD = "W1"
TITLE = "call overhead f(x)=x+1, 10 elements"


def cases(size):
    x = np.linspace(-1, 1, 10, dtype=np.float32)
    return [Case(WORKLOAD, "call overhead x+1 n=10", "us", _builders(x), tol=1e-6)]


def _builders(x):
    def build_symgraph(variant):
        import symgraph.tensor as T

        v = T.fvector("x")
        f, note = sg_function(variant, [v], v + np.float32(1))
        return Impl(run=lambda: f(x), note=note)

    def build_pytensor(variant):
        import pytensor.tensor as pt

        v = pt.vector("x", dtype="float32")
        f = pt_function(variant, [v], v + np.float32(1))
        return Impl(run=lambda: f(x))

    def build_torch(variant):
        import torch

        xt = torch.from_numpy(x.copy())
        f = torch_function(lambda a: a + 1, variant)
        return Impl(run=lambda: f(xt))

    def build_tensorflow(variant):
        import tensorflow as tf

        xt = tf.constant(x)
        f = tf_function(lambda a: a + 1, variant)
        return Impl(run=lambda: f(xt))

    def build_jax(variant):
        import jax.numpy as jnp

        xj = jnp.asarray(x)
        f = jax_function(lambda a: a + 1)
        return Impl(run=lambda: f(xj))

    return {"symgraph": build_symgraph, "torch": build_torch, "tensorflow": build_tensorflow,
            "jax": build_jax, "pytensor": build_pytensor}
