"""W8: a Hessian-vector product of W4's MLP loss with respect to all its parameters.

Each framework's fastest documented form: symgraph's
``sg.gradient.hessian_vector_product`` (forward over reverse, a graph
compiled like any other), ``torch.func.jvp`` of ``torch.func.grad``,
TensorFlow's ``ForwardAccumulator`` around a ``GradientTape``, JAX's
``jvp`` of ``grad``, and PyTensor's ``hessian_vector_product`` (reverse
over reverse).  The limit assumes twice the GEMM flops of a W4 step.
"""

import numpy as np

from . import w4_mlp
from .adapters import (
    jax_function,
    pt_function,
    sg_function,
    tf_function,
    torch_maybe_compile,
)
from .base import Case, Impl

WORKLOAD = "W8"
TITLE = "Hessian-vector product of the W4 MLP loss w.r.t. all parameters"


def cases(size):
    layers, batch = w4_mlp.SIZES[size]
    params, data = w4_mlp.make_data(layers, batch, seed=8)
    rng = np.random.default_rng(80)
    vs = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
    name = f"HVP MLP {'-'.join(map(str, layers))} b={batch}"
    flops = 2 * w4_mlp.step_flops(layers, batch)
    return [Case(WORKLOAD, name, "ms", _builders(params, vs, data), work=("flop", flops), tol=5e-3)]


def _builders(params, vs, data):
    x, y = data

    def build_symgraph(variant):
        import symgraph as sg
        import symgraph.tensor as T

        shared = [sg.shared(p.copy(), name=f"p{i}") for i, p in enumerate(params)]
        xs, ys = T.fmatrix("x"), T.ivector("y")
        v_in = [T.fmatrix(f"v{i}") if p.ndim == 2 else T.fvector(f"v{i}") for i, p in enumerate(params)]
        hvp = sg.gradient.hessian_vector_product(w4_mlp.symgraph_loss(shared, xs, ys), shared, v_in)
        f, note = sg_function(variant, [xs, ys, *v_in], hvp)
        return Impl(run=lambda: f(x, y, *vs), note=note)

    def build_pytensor(variant):
        import pytensor
        import pytensor.tensor as pt
        from pytensor.gradient import hessian_vector_product

        shared = [pytensor.shared(p.copy(), name=f"p{i}") for i, p in enumerate(params)]
        xs, ys = pt.matrix("x", dtype="float32"), pt.vector("y", dtype="int32")
        v_in = [pt.tensor(f"v{i}", dtype="float32", shape=(None,) * p.ndim) for i, p in enumerate(params)]
        hvp = hessian_vector_product(w4_mlp.pytensor_loss(shared, xs, ys), shared, v_in)
        f = pt_function(variant, [xs, ys, *v_in], hvp)
        return Impl(run=lambda: f(x, y, *vs))

    def build_torch(variant):
        import torch
        from torch.func import grad, jvp

        tp = tuple(torch.from_numpy(p.copy()) for p in params)
        tv = tuple(torch.from_numpy(v.copy()) for v in vs)
        xt, yt = torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64))

        def hvp(ps, vv, xb, yb):
            return jvp(lambda q: grad(lambda r: w4_mlp.torch_loss(list(r), xb, yb))(q), (ps,), (vv,))[1]

        f = torch_maybe_compile(hvp, variant)
        return Impl(run=lambda: f(tp, tv, xt, yt))

    def build_tensorflow(variant):
        import tensorflow as tf

        variables = [tf.Variable(p) for p in params]
        tv = [tf.constant(v) for v in vs]

        def hvp(xb, yb, *vv):
            with tf.autodiff.ForwardAccumulator(variables, list(vv)) as acc:
                with tf.GradientTape() as tape:
                    loss = w4_mlp.tf_loss(variables, xb, yb)
                grads = tape.gradient(loss, variables)
            return acc.jvp(grads)

        f = tf_function(hvp, variant)
        xt, yt = tf.constant(x), tf.constant(y)
        return Impl(run=lambda: f(xt, yt, *tv))

    def build_jax(variant):
        import jax
        import jax.numpy as jnp

        def hvp(ps, vv, xb, yb):
            return jax.jvp(lambda q: jax.grad(w4_mlp.jax_loss)(q, xb, yb), (ps,), (vv,))[1]

        f = jax_function(hvp)
        jp, jv = [jnp.asarray(p) for p in params], [jnp.asarray(v) for v in vs]
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        return Impl(run=lambda: f(jp, jv, xj, yj))

    return {"symgraph": build_symgraph, "torch": build_torch, "tensorflow": build_tensorflow,
            "jax": build_jax, "pytensor": build_pytensor}
