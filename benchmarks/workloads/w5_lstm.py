"""W5: an LSTM language-model training step (Zaremba et al.'s small PTB model).

Vocabulary 10000, embedding and 2 LSTM layers of 200 units, 35 unrolled
steps, batch 20, softmax over the vocabulary, plain SGD.  The output softmax
(700 x 200 x 10000) is most of the flops; the recurrence is many small GEMMs
in a loop, which is where per-step overhead shows.  symgraph and PyTensor
loop with ``scan``.
"""

import numpy as np

from .adapters import (
    jax_sgd_step,
    pt_sgd_step,
    pt_shared,
    sg_sgd_step,
    sg_shared,
    tf_sgd_step,
    torch_sgd_step,
)
from .base import Case, dense_init
from .lstm import (
    init_stack,
    jax_stack,
    keras_lstms,
    keras_stack,
    keras_variables,
    pytensor_stack,
    stack_flops,
    symgraph_stack,
    torch_lstm,
)

WORKLOAD = "W5"
TITLE = "LSTM language model training step (vocab 10000, 2x200 units, 35 steps, batch 20)"
# vocab, hidden, layers, steps, batch
SIZES = {"quick": (500, 32, 2, 8, 4), "default": (10000, 200, 2, 35, 20), "full": (10000, 200, 2, 35, 20)}
LR = 0.5


def cases(size):
    vocab, hidden, layers, steps, batch = SIZES[size]
    rng = np.random.default_rng(5)
    params = ([(rng.standard_normal((vocab, hidden)) * 0.1).astype(np.float32)]
              + init_stack(rng, hidden, hidden, layers)
              + [dense_init(rng, hidden, vocab), np.zeros(vocab, np.float32)])
    x = rng.integers(0, vocab, (steps, batch)).astype(np.int32)
    y = rng.integers(0, vocab, (steps, batch)).astype(np.int32)
    flops = 3 * (stack_flops(steps, batch, hidden, hidden, layers) + 2 * steps * batch * hidden * vocab)
    name = f"LSTM LM step V={vocab} H={hidden}x{layers} T={steps} B={batch}"
    return [Case(WORKLOAD, name, "ms", builders(params, x, y, hidden), work=("flop", flops), tol=2e-3)]


def builders(params, x, y, hidden):
    """The cross-check compares the loss and the output projection after one step."""
    check = (len(params) - 2,)

    def build_symgraph(variant):
        import symgraph.tensor as T

        shared = sg_shared(params, [f"p{i}" for i in range(len(params))])
        xs, ys = T.imatrix("x"), T.imatrix("y")
        hs, _ = symgraph_stack(shared[0][xs], shared[1:-2], hidden)
        logits = T.dot(hs.reshape((-1, hidden)), shared[-2]) + shared[-1]
        loss = T.nnet.categorical_crossentropy(T.nnet.softmax(logits), ys.flatten()).mean()
        return sg_sgd_step(variant, [xs, ys], loss, shared, LR, (x, y), check)

    def build_pytensor(variant):
        import pytensor.tensor as pt
        from pytensor.tensor.special import log_softmax

        shared = pt_shared(params, [f"p{i}" for i in range(len(params))])
        xs, ys = pt.matrix("x", dtype="int32"), pt.matrix("y", dtype="int32")
        hs, _ = pytensor_stack(shared[0][xs], shared[1:-2], hidden)
        logp = log_softmax(pt.dot(hs.reshape((-1, hidden)), shared[-2]) + shared[-1], axis=-1)
        flat = ys.flatten()
        loss = -logp[pt.arange(flat.shape[0]), flat].mean()
        return pt_sgd_step(variant, [xs, ys], loss, shared, LR, (x, y), check)

    def build_torch(variant):
        import torch
        import torch.nn.functional as F

        lstm = torch_lstm(params[1:-2], hidden, hidden)
        emb = torch.tensor(params[0], requires_grad=True)
        out_w = torch.tensor(params[-2], requires_grad=True)
        out_b = torch.tensor(params[-1], requires_grad=True)
        tparams = [emb, *lstm.parameters(), out_w, out_b]

        def loss_fn(ps, xt, yt):
            hs, _ = lstm(F.embedding(xt, ps[0]))
            return F.cross_entropy(torch.addmm(ps[-1], hs.reshape(-1, hidden), ps[-2]), yt.reshape(-1))

        batch = (torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y.astype(np.int64)))
        return torch_sgd_step(variant, loss_fn, tparams, LR, batch, check=(len(tparams) - 2,),
                              layout=lambda i, a: a)

    def build_tensorflow(variant):
        import tensorflow as tf

        layers = keras_lstms(params[1:-2], hidden, hidden)
        emb, out_w, out_b = (tf.Variable(params[i]) for i in (0, -2, -1))
        tparams = [emb, *keras_variables(layers), out_w, out_b]

        def loss_fn(ps, xt, yt):
            hs, _ = keras_stack(layers, tf.nn.embedding_lookup(emb, tf.transpose(xt)))
            logits = tf.matmul(tf.reshape(hs, (-1, hidden)), out_w) + out_b
            labels = tf.reshape(tf.transpose(yt), (-1,))
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))

        return tf_sgd_step(variant, loss_fn, tparams, LR, (tf.constant(x), tf.constant(y)),
                           check=(len(tparams) - 2,))

    def build_jax(variant):
        import jax
        import jax.numpy as jnp

        def loss_fn(ps, xt, yt):
            hs, _ = jax_stack(ps[0][xt], ps[1:-2], hidden)
            logp = jax.nn.log_softmax(hs.reshape(-1, hidden) @ ps[-2] + ps[-1])
            return -jnp.take_along_axis(logp, yt.reshape(-1, 1), axis=1).mean()

        return jax_sgd_step(loss_fn, params, LR, (jnp.asarray(x), jnp.asarray(y)), check)

    return {"symgraph": build_symgraph, "torch": build_torch, "tensorflow": build_tensorflow,
            "jax": build_jax, "pytensor": build_pytensor}
