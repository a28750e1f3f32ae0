"""W4: an MLP training step, 784-512-512-10, ReLU, softmax cross-entropy, batch 128, plain SGD.

Three GEMMs forward and five backward dominate; the rest is bias, ReLU and
the softmax cross-entropy, which a good compiler fuses.  The limit is the
float32 GEMM rate over 6 * batch * (weights) flops.  W7 (compile time) and
W8 (Hessian-vector product) reuse this model.
"""

from itertools import pairwise

import numpy as np

from .adapters import (
    jax_sgd_step,
    pt_sgd_step,
    sg_sgd_step,
    sg_shared,
    tf_sgd_step,
    tf_variables,
    torch_params,
    torch_sgd_step,
)
from .base import Case, dense_init

WORKLOAD = "W4"
TITLE = "MLP training step 784-512-512-10, batch 128"
SIZES = {"quick": ((784, 128, 128, 10), 32), "default": ((784, 512, 512, 10), 128),
         "full": ((784, 512, 512, 10), 128)}
LR = 0.01


def cases(size):
    layers, batch = SIZES[size]
    params, data = make_data(layers, batch)
    name = f"MLP step {'-'.join(map(str, layers))} b={batch}"
    return [Case(WORKLOAD, name, "ms", builders(params, data), work=("flop", step_flops(layers, batch)), tol=2e-3)]


def step_flops(layers, batch):
    """GEMM flops of a step: forward, weight gradients, and input gradients of every layer but the first."""
    weights = sum(a * b for a, b in pairwise(layers))
    return 2 * batch * (3 * weights - layers[0] * layers[1])


def make_data(layers, batch, seed=4):
    """Initial parameters ``[W0, b0, W1, b1, ...]`` and a batch ``(x, labels)``, identical for all frameworks."""
    rng = np.random.default_rng(seed)
    params = []
    for a, b in pairwise(layers):
        params += [dense_init(rng, a, b), (rng.standard_normal(b) * 0.01).astype(np.float32)]
    x = rng.standard_normal((batch, layers[0])).astype(np.float32)
    y = rng.integers(0, layers[-1], batch).astype(np.int32)
    return params, (x, y)


def builders(params, data):
    """Training-step builders; the cross-check compares the loss and the last weight matrix after one step."""
    check = (len(params) - 2,)
    x, y = data

    def build_symgraph(variant):
        import symgraph.tensor as T

        shared = sg_shared(params, [f"p{i}" for i in range(len(params))])
        xs, ys = T.fmatrix("x"), T.ivector("y")
        loss = symgraph_loss(shared, xs, ys)
        return sg_sgd_step(variant, [xs, ys], loss, shared, LR, data, check)

    def build_pytensor(variant):
        import pytensor.tensor as pt

        from .adapters import pt_shared

        shared = pt_shared(params, [f"p{i}" for i in range(len(params))])
        xs, ys = pt.matrix("x", dtype="float32"), pt.vector("y", dtype="int32")
        return pt_sgd_step(variant, [xs, ys], pytensor_loss(shared, xs, ys), shared, LR, data, check)

    def build_torch(variant):
        import torch

        batch = (torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64)))
        return torch_sgd_step(variant, torch_loss, torch_params(params), LR, batch, check)

    def build_tensorflow(variant):
        import tensorflow as tf

        batch = (tf.constant(x), tf.constant(y))
        return tf_sgd_step(variant, tf_loss, tf_variables(params), LR, batch, check)

    def build_jax(variant):
        import jax.numpy as jnp

        return jax_sgd_step(jax_loss, params, LR, (jnp.asarray(x), jnp.asarray(y)), check)

    return {"symgraph": build_symgraph, "torch": build_torch, "tensorflow": build_tensorflow,
            "jax": build_jax, "pytensor": build_pytensor}


# ---- the model, once per framework --------------------------------------------------------------


def symgraph_loss(params, x, y):
    import symgraph.tensor as T

    h = x
    for i in range(0, len(params) - 2, 2):
        h = T.nnet.relu(T.dot(h, params[i]) + params[i + 1])
    p = T.nnet.softmax(T.dot(h, params[-2]) + params[-1])
    return T.nnet.categorical_crossentropy(p, y).mean()


def pytensor_loss(params, x, y):
    import pytensor.tensor as pt
    from pytensor.tensor.special import log_softmax

    h = x
    for i in range(0, len(params) - 2, 2):
        h = pt.maximum(pt.dot(h, params[i]) + params[i + 1], 0)
    logp = log_softmax(pt.dot(h, params[-2]) + params[-1], axis=-1)
    return -logp[pt.arange(y.shape[0]), y].mean()


def torch_loss(params, x, y):
    import torch
    import torch.nn.functional as F

    h = x
    for i in range(0, len(params) - 2, 2):
        h = torch.relu(torch.addmm(params[i + 1], h, params[i]))
    return F.cross_entropy(torch.addmm(params[-1], h, params[-2]), y)


def tf_loss(params, x, y):
    import tensorflow as tf

    h = x
    for i in range(0, len(params) - 2, 2):
        h = tf.nn.relu(tf.matmul(h, params[i]) + params[i + 1])
    logits = tf.matmul(h, params[-2]) + params[-1]
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))


def jax_loss(params, x, y):
    import jax
    import jax.numpy as jnp

    h = x
    for i in range(0, len(params) - 2, 2):
        h = jax.nn.relu(h @ params[i] + params[i + 1])
    logp = jax.nn.log_softmax(h @ params[-2] + params[-1])
    return -jnp.take_along_axis(logp, y[:, None], axis=1).mean()
