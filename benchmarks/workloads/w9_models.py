"""W9: training steps of ImageNet-era convnets and a seq2seq LSTM, scaled down (``--full``: the papers' sizes).

The convnets follow the layer plans timed by the classic convnet benchmarks
(AlexNet "one weird trick", OverFeat fast, VGG-A, GoogLeNet v1), without
local response normalisation, with max pooling and ReLU; by default they are
shrunk (32x32 or 64x64 inputs, fewer channels, batch 16) so that all
frameworks finish in minutes on two cores.  ``--full`` uses 224x224 (231 for
OverFeat) inputs, the papers' channel counts and batch 128 (VGG 64): hours on
a laptop CPU.  The seq2seq model is Sutskever et al.'s encoder-decoder (an
LSTM encoder whose final states start an LSTM decoder, teacher forcing,
softmax over the target vocabulary); ``--full`` gives its 4 layers of 1000
units and 160k/80k vocabularies, which need tens of GiB.
"""

import numpy as np

from . import convnet
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

WORKLOAD = "W9"
TITLE = "AlexNet/OverFeat/VGG/GoogLeNet-style convnets and seq2seq (scaled; --full: papers' sizes)"
LR = 0.01


def _googlenet_full():
    stem = [("conv", 64, 7, 2, 3), ("pool", 2, 2), ("conv", 64, 1, 1, 0), ("conv", 192, 3, 1, 1), ("pool", 2, 2)]
    blocks3 = [("inception", 64, 96, 128, 16, 32, 32), ("inception", 128, 128, 192, 32, 96, 64), ("pool", 2, 2)]
    blocks4 = [("inception", 192, 96, 208, 16, 48, 64), ("inception", 160, 112, 224, 24, 64, 64),
               ("inception", 128, 128, 256, 24, 64, 64), ("inception", 112, 144, 288, 32, 64, 64),
               ("inception", 256, 160, 320, 32, 128, 128), ("pool", 2, 2)]
    blocks5 = [("inception", 256, 160, 320, 32, 128, 128), ("inception", 384, 192, 384, 48, 128, 128)]
    return stem + blocks3 + blocks4 + blocks5 + [("gap",), ("fc", 1000)]


# name -> size -> (spec, (C, H, W), batch)
CONVNETS = {
    "AlexNet": {
        "quick": ([("conv", 8, 5, 2, 2), ("pool", 2, 2), ("conv", 16, 3, 1, 1), ("pool", 2, 2), ("fc", 32),
                   ("fc", 10)], (3, 32, 32), 2),
        "default": ([("conv", 24, 7, 2, 3), ("pool", 2, 2), ("conv", 64, 5, 1, 2), ("pool", 2, 2),
                     ("conv", 96, 3, 1, 1), ("conv", 96, 3, 1, 1), ("conv", 64, 3, 1, 1), ("pool", 2, 2),
                     ("fc", 256), ("fc", 256), ("fc", 100)], (3, 64, 64), 16),
        "full": ([("conv", 64, 11, 4, 2), ("pool", 3, 2), ("conv", 192, 5, 1, 2), ("pool", 3, 2),
                  ("conv", 384, 3, 1, 1), ("conv", 256, 3, 1, 1), ("conv", 256, 3, 1, 1), ("pool", 3, 2),
                  ("fc", 4096), ("fc", 4096), ("fc", 1000)], (3, 224, 224), 128),
    },
    "OverFeat": {
        "quick": ([("conv", 8, 5, 2, 2), ("pool", 2, 2), ("conv", 16, 3, 1, 1), ("conv", 16, 3, 1, 1),
                   ("pool", 2, 2), ("fc", 32), ("fc", 10)], (3, 32, 32), 2),
        "default": ([("conv", 32, 7, 2, 3), ("pool", 2, 2), ("conv", 64, 5, 1, 2), ("pool", 2, 2),
                     ("conv", 128, 3, 1, 1), ("conv", 128, 3, 1, 1), ("conv", 128, 3, 1, 1), ("pool", 2, 2),
                     ("fc", 384), ("fc", 384), ("fc", 100)], (3, 64, 64), 16),
        "full": ([("conv", 96, 11, 4, 0), ("pool", 2, 2), ("conv", 256, 5, 1, 0), ("pool", 2, 2),
                  ("conv", 512, 3, 1, 1), ("conv", 1024, 3, 1, 1), ("conv", 1024, 3, 1, 1), ("pool", 2, 2),
                  ("fc", 3072), ("fc", 4096), ("fc", 1000)], (3, 231, 231), 128),
    },
    "VGG-A": {
        "quick": ([("conv", 8, 3, 1, 1), ("pool", 2, 2), ("conv", 16, 3, 1, 1), ("conv", 16, 3, 1, 1),
                   ("pool", 2, 2), ("fc", 32), ("fc", 10)], (3, 16, 16), 2),
        "default": ([("conv", 16, 3, 1, 1), ("pool", 2, 2), ("conv", 32, 3, 1, 1), ("pool", 2, 2),
                     ("conv", 64, 3, 1, 1), ("conv", 64, 3, 1, 1), ("pool", 2, 2),
                     ("conv", 128, 3, 1, 1), ("conv", 128, 3, 1, 1), ("pool", 2, 2),
                     ("conv", 128, 3, 1, 1), ("conv", 128, 3, 1, 1), ("pool", 2, 2),
                     ("fc", 256), ("fc", 256), ("fc", 100)], (3, 32, 32), 16),
        "full": ([("conv", 64, 3, 1, 1), ("pool", 2, 2), ("conv", 128, 3, 1, 1), ("pool", 2, 2),
                  ("conv", 256, 3, 1, 1), ("conv", 256, 3, 1, 1), ("pool", 2, 2),
                  ("conv", 512, 3, 1, 1), ("conv", 512, 3, 1, 1), ("pool", 2, 2),
                  ("conv", 512, 3, 1, 1), ("conv", 512, 3, 1, 1), ("pool", 2, 2),
                  ("fc", 4096), ("fc", 4096), ("fc", 1000)], (3, 224, 224), 64),
    },
    "GoogLeNet": {
        "quick": ([("conv", 8, 3, 1, 1), ("pool", 2, 2), ("inception", 4, 4, 8, 2, 4, 4), ("gap",), ("fc", 10)],
                  (3, 16, 16), 2),
        "default": ([("conv", 32, 3, 1, 1), ("pool", 2, 2), ("conv", 64, 1, 1, 0), ("conv", 96, 3, 1, 1),
                     ("pool", 2, 2), ("inception", 16, 24, 32, 4, 8, 8), ("inception", 32, 32, 48, 8, 24, 16),
                     ("pool", 2, 2), ("inception", 48, 24, 52, 4, 12, 16), ("gap",), ("fc", 100)],
                    (3, 32, 32), 16),
        "full": (_googlenet_full(), (3, 224, 224), 128),
    },
}

# src vocab, tgt vocab, hidden, layers, src steps, tgt steps, batch
SEQ2SEQ = {"quick": (100, 100, 16, 1, 5, 5, 4), "default": (2000, 2000, 128, 2, 20, 20, 32),
           "full": (160000, 80000, 1000, 4, 30, 30, 128)}


def cases(size):
    out = []
    for seed, (name, sizes) in enumerate(CONVNETS.items()):
        spec, shape, batch = sizes[size]
        rng = np.random.default_rng(90 + seed)
        params, flat_chw, flops = convnet.init(rng, spec, shape, batch)
        x = rng.standard_normal((batch, *shape)).astype(np.float32)
        y = rng.integers(0, spec[-1][1], batch).astype(np.int32)
        label = f"{name}-style step {shape[0]}x{shape[1]}x{shape[2]} b={batch}"
        out.append(Case(WORKLOAD, label, "ms", convnet.builders(spec, params, flat_chw, x, y, LR),
                        work=("flop", flops), tol=5e-3, missing={"pytensor": convnet.MISSING_PYTENSOR}))
    out.append(_seq2seq(*SEQ2SEQ[size]))
    return out


def _seq2seq(v_src, v_tgt, hidden, layers, t_src, t_tgt, batch):
    rng = np.random.default_rng(99)
    enc = init_stack(rng, hidden, hidden, layers)
    dec = init_stack(rng, hidden, hidden, layers)
    params = ([(rng.standard_normal((v_src, hidden)) * 0.1).astype(np.float32)] + enc
              + [(rng.standard_normal((v_tgt, hidden)) * 0.1).astype(np.float32)] + dec
              + [dense_init(rng, hidden, v_tgt), np.zeros(v_tgt, np.float32)])
    src = rng.integers(0, v_src, (t_src, batch)).astype(np.int32)
    tgt_in = rng.integers(0, v_tgt, (t_tgt, batch)).astype(np.int32)
    tgt_out = rng.integers(0, v_tgt, (t_tgt, batch)).astype(np.int32)
    flops = 3 * (stack_flops(t_src, batch, hidden, hidden, layers) + stack_flops(t_tgt, batch, hidden, hidden, layers)
                 + 2 * t_tgt * batch * hidden * v_tgt)
    name = f"seq2seq step V={v_src}/{v_tgt} H={hidden}x{layers} T={t_src}+{t_tgt} B={batch}"
    return Case(WORKLOAD, name, "ms", _seq2seq_builders(params, (src, tgt_in, tgt_out), hidden, 3 * layers),
                work=("flop", flops), tol=2e-3)


def _seq2seq_builders(params, data, hidden, n_stack):
    """Parameter layout: [src_emb, encoder stack, tgt_emb, decoder stack, out_w, out_b]."""
    enc, dec = slice(1, 1 + n_stack), slice(2 + n_stack, 2 + 2 * n_stack)
    tgt_emb = 1 + n_stack
    check = (len(params) - 2,)

    def build_symgraph(variant):
        import symgraph.tensor as T

        shared = sg_shared(params, [f"p{i}" for i in range(len(params))])
        s, ti, to = T.imatrix("src"), T.imatrix("tgt_in"), T.imatrix("tgt_out")
        _, finals = symgraph_stack(shared[0][s], shared[enc], hidden)
        hs, _ = symgraph_stack(shared[tgt_emb][ti], shared[dec], hidden, initial=finals)
        logits = T.dot(hs.reshape((-1, hidden)), shared[-2]) + shared[-1]
        loss = T.nnet.categorical_crossentropy(T.nnet.softmax(logits), to.flatten()).mean()
        return sg_sgd_step(variant, [s, ti, to], loss, shared, LR, data, check)

    def build_pytensor(variant):
        import pytensor.tensor as pt
        from pytensor.tensor.special import log_softmax

        shared = pt_shared(params, [f"p{i}" for i in range(len(params))])
        s, ti, to = (pt.matrix(n, dtype="int32") for n in ("src", "tgt_in", "tgt_out"))
        _, finals = pytensor_stack(shared[0][s], shared[enc], hidden)
        hs, _ = pytensor_stack(shared[tgt_emb][ti], shared[dec], hidden, initial=finals)
        logp = log_softmax(pt.dot(hs.reshape((-1, hidden)), shared[-2]) + shared[-1], axis=-1)
        flat = to.flatten()
        loss = -logp[pt.arange(flat.shape[0]), flat].mean()
        return pt_sgd_step(variant, [s, ti, to], loss, shared, LR, data, check)

    def build_torch(variant):
        import torch
        import torch.nn.functional as F

        encoder, decoder = torch_lstm(params[enc], hidden, hidden), torch_lstm(params[dec], hidden, hidden)
        src_e, tgt_e, out_w, out_b = (torch.tensor(params[i], requires_grad=True) for i in (0, tgt_emb, -2, -1))
        tparams = [src_e, *encoder.parameters(), tgt_e, *decoder.parameters(), out_w, out_b]

        def loss_fn(ps, s, ti, to):
            _, state = encoder(F.embedding(s, src_e))
            hs, _ = decoder(F.embedding(ti, tgt_e), state)
            return F.cross_entropy(torch.addmm(out_b, hs.reshape(-1, hidden), out_w), to.reshape(-1))

        batch = tuple(torch.from_numpy(a.astype(np.int64)) for a in data)
        return torch_sgd_step(variant, loss_fn, tparams, LR, batch, check=(len(tparams) - 2,))

    def build_tensorflow(variant):
        import tensorflow as tf

        encoder, decoder = keras_lstms(params[enc], hidden, hidden), keras_lstms(params[dec], hidden, hidden)
        src_e, tgt_e, out_w, out_b = (tf.Variable(params[i]) for i in (0, tgt_emb, -2, -1))
        tparams = [src_e, *keras_variables(encoder), tgt_e, *keras_variables(decoder), out_w, out_b]

        def loss_fn(ps, s, ti, to):
            _, finals = keras_stack(encoder, tf.nn.embedding_lookup(src_e, tf.transpose(s)))
            hs, _ = keras_stack(decoder, tf.nn.embedding_lookup(tgt_e, tf.transpose(ti)), initial=finals)
            logits = tf.matmul(tf.reshape(hs, (-1, hidden)), out_w) + out_b
            labels = tf.reshape(tf.transpose(to), (-1,))
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))

        return tf_sgd_step(variant, loss_fn, tparams, LR, tuple(tf.constant(a) for a in data),
                           check=(len(tparams) - 2,))

    def build_jax(variant):
        import jax
        import jax.numpy as jnp

        def loss_fn(ps, s, ti, to):
            _, finals = jax_stack(ps[0][s], ps[enc], hidden)
            hs, _ = jax_stack(ps[tgt_emb][ti], ps[dec], hidden, initial=finals)
            logp = jax.nn.log_softmax(hs.reshape(-1, hidden) @ ps[-2] + ps[-1])
            return -jnp.take_along_axis(logp, to.reshape(-1, 1), axis=1).mean()

        return jax_sgd_step(loss_fn, params, LR, tuple(jnp.asarray(a) for a in data), check)

    return {"symgraph": build_symgraph, "torch": build_torch, "tensorflow": build_tensorflow,
            "jax": build_jax, "pytensor": build_pytensor}
