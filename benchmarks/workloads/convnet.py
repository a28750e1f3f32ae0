"""Convnets from a layer list, once per framework: LeNet (W6) and the ImageNet-style nets of W9.

A spec is a list of layers:

* ``('conv', out_channels, kernel, stride, pad)``: convolution and ReLU;
* ``('pool', kernel, stride)``: max pooling, no padding;
* ``('inception', c1, c3_reduce, c3, c5_reduce, c5, pool_proj)``: GoogLeNet's
  block, four branches (1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3 max pool then
  1x1) concatenated along channels;
* ``('gap',)``: global average pooling;
* ``('fc', units)``: dense layer, ReLU except on the last (the logits).

Common layout: NCHW images, OIHW filters, dense weights (in, out) with the
flattened features in (C, H, W) order.  TensorFlow runs NHWC, the layout its
CPU kernels want, with filters and the first dense layer permuted to match,
so every framework computes the same function.  Convolutions are
correlations (symgraph's ``filter_flip=False``).
"""

import numpy as np

from .adapters import (
    jax_sgd_step,
    sg_sgd_step,
    sg_shared,
    tf_sgd_step,
    tf_variables,
    torch_params,
    torch_sgd_step,
)
from .base import dense_init

MISSING_PYTENSOR = "PyTensor 3 has no conv2d/pool_2d (Theano's nnet module was removed)"


def init(rng, spec, in_shape, batch):
    """Parameters in spec order, the (C, H, W) flattened into the first dense layer, and training flops."""
    c, h, w = in_shape
    params, flat_chw, flops = [], None, 0

    def conv(c_in, c_out, k, stride, pad, h, w):
        nonlocal flops
        params.extend([(rng.standard_normal((c_out, c_in, k, k)) * np.sqrt(2.0 / (c_in * k * k))).astype(np.float32),
                       np.zeros(c_out, np.float32)])
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        flops += 2 * batch * ho * wo * c_out * c_in * k * k
        return ho, wo

    for layer in spec:
        kind = layer[0]
        if kind == "conv":
            _, c_out, k, stride, pad = layer
            h, w = conv(c, c_out, k, stride, pad, h, w)
            c = c_out
        elif kind == "pool":
            _, k, stride = layer
            h, w = (h - k) // stride + 1, (w - k) // stride + 1
        elif kind == "inception":
            _, c1, c3r, c3, c5r, c5, pp = layer
            conv(c, c1, 1, 1, 0, h, w)
            conv(c, c3r, 1, 1, 0, h, w)
            conv(c3r, c3, 3, 1, 1, h, w)
            conv(c, c5r, 1, 1, 0, h, w)
            conv(c5r, c5, 5, 1, 2, h, w)
            conv(c, pp, 1, 1, 0, h, w)
            c = c1 + c3 + c5 + pp
        elif kind == "gap":
            h = w = 1
        elif kind == "fc":
            n_in = c * h * w
            if flat_chw is None:
                flat_chw = (c, h, w)
            params += [dense_init(rng, n_in, layer[1]), np.zeros(layer[1], np.float32)]
            flops += 2 * batch * n_in * layer[1]
            c, h, w = layer[1], 1, 1
        else:
            raise ValueError(f"unknown layer {layer!r}")
    return params, flat_chw, 3 * flops


def builders(spec, params, flat_chw, x, y, lr):
    """Training-step builders; the cross-check compares the loss and the last dense weights after one step."""
    check = (len(params) - 2,)

    def build_symgraph(variant):
        import symgraph.tensor as T

        shared = sg_shared(params, [f"p{i}" for i in range(len(params))])
        xs, ys = T.ftensor4("x"), T.ivector("y")
        logits = forward(SymgraphOps(), spec, shared, xs)
        loss = T.nnet.categorical_crossentropy(T.nnet.softmax(logits), ys).mean()
        return sg_sgd_step(variant, [xs, ys], loss, shared, lr, (x, y), check)

    def build_torch(variant):
        import torch
        import torch.nn.functional as F

        def loss_fn(ps, xt, yt):
            return F.cross_entropy(forward(TorchOps(), spec, ps, xt), yt)

        batch = (torch.from_numpy(x.copy()), torch.from_numpy(y.astype(np.int64)))
        return torch_sgd_step(variant, loss_fn, torch_params(params), lr, batch, check)

    def build_tensorflow(variant):
        import tensorflow as tf

        def loss_fn(ps, xt, yt):
            logits = forward(TensorflowOps(), spec, ps, xt)
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yt, logits=logits))

        variables = tf_variables(to_nhwc(spec, params, flat_chw))
        batch = (tf.constant(x.transpose(0, 2, 3, 1).copy()), tf.constant(y))
        return tf_sgd_step(variant, loss_fn, variables, lr, batch, check)

    def build_jax(variant):
        import jax
        import jax.numpy as jnp

        def loss_fn(ps, xt, yt):
            logp = jax.nn.log_softmax(forward(JaxOps(), spec, ps, xt))
            return -jnp.take_along_axis(logp, yt[:, None], axis=1).mean()

        return jax_sgd_step(loss_fn, params, lr, (jnp.asarray(x), jnp.asarray(y)), check)

    return {"symgraph": build_symgraph, "torch": build_torch, "tensorflow": build_tensorflow, "jax": build_jax}


def forward(ops, spec, params, x):
    """Logits of ``spec`` applied to ``x`` with the framework's ``ops``."""
    it = iter(params)
    fcs = [i for i, layer in enumerate(spec) if layer[0] == "fc"]
    for index, layer in enumerate(spec):
        kind = layer[0]
        if kind == "conv":
            x = ops.relu(ops.conv(x, next(it), next(it), layer[3], layer[4]))
        elif kind == "pool":
            x = ops.pool(x, layer[1], layer[2], 0)
        elif kind == "inception":
            b1 = ops.relu(ops.conv(x, next(it), next(it), 1, 0))
            b2 = ops.relu(ops.conv(x, next(it), next(it), 1, 0))
            b2 = ops.relu(ops.conv(b2, next(it), next(it), 1, 1))
            b3 = ops.relu(ops.conv(x, next(it), next(it), 1, 0))
            b3 = ops.relu(ops.conv(b3, next(it), next(it), 1, 2))
            b4 = ops.relu(ops.conv(ops.pool(x, 3, 1, 1), next(it), next(it), 1, 0))
            x = ops.concat([b1, b2, b3, b4])
        elif kind == "gap":
            x = ops.global_mean(x)
        elif kind == "fc":
            if index == fcs[0]:
                x = ops.flatten(x)
            x = ops.dense(x, next(it), next(it))
            if index != fcs[-1]:
                x = ops.relu(x)
    return x


def to_nhwc(spec, params, flat_chw):
    """TensorFlow's copies: filters OIHW -> HWIO, first dense layer's rows from (C, H, W) to (H, W, C) order."""
    out, first_fc = [], True
    it = iter(params)
    for layer in spec:
        n_convs = {"conv": 1, "inception": 6}.get(layer[0], 0)
        for _ in range(n_convs):
            out += [next(it).transpose(2, 3, 1, 0).copy(), next(it)]
        if layer[0] == "fc":
            w, b = next(it), next(it)
            if first_fc and flat_chw is not None and flat_chw[1:] != (1, 1):
                c, h, wd = flat_chw
                w = w.reshape(c, h, wd, -1).transpose(1, 2, 0, 3).reshape(c * h * wd, -1).copy()
            first_fc = False
            out += [w, b]
    return out


# ---- the layer vocabulary, per framework -------------------------------------------------------------


class SymgraphOps:
    def __init__(self):
        import symgraph.tensor as T

        self.T = T

    def conv(self, x, w, b, stride, pad):
        y = self.T.nnet.conv2d(x, w, border_mode=(pad, pad), subsample=(stride, stride), filter_flip=False)
        return y + b.dimshuffle("x", 0, "x", "x")

    def pool(self, x, k, stride, pad):
        return self.T.nnet.pool_2d(x, ws=(k, k), stride=(stride, stride), pad=(pad, pad), ignore_border=True)

    def relu(self, x):
        return self.T.nnet.relu(x)

    def concat(self, xs):
        return self.T.concatenate(xs, axis=1)

    def global_mean(self, x):
        return x.mean(axis=(2, 3))

    def flatten(self, x):
        return x.reshape((x.shape[0], -1))

    def dense(self, x, w, b):
        return self.T.dot(x, w) + b


class TorchOps:
    def __init__(self):
        import torch
        import torch.nn.functional as F

        self.torch, self.F = torch, F

    def conv(self, x, w, b, stride, pad):
        return self.F.conv2d(x, w, b, stride=stride, padding=pad)

    def pool(self, x, k, stride, pad):
        return self.F.max_pool2d(x, k, stride, pad)

    def relu(self, x):
        return self.torch.relu(x)

    def concat(self, xs):
        return self.torch.cat(xs, dim=1)

    def global_mean(self, x):
        return x.mean(dim=(2, 3))

    def flatten(self, x):
        return x.flatten(1)

    def dense(self, x, w, b):
        return self.torch.addmm(b, x, w)


class TensorflowOps:
    """NHWC throughout (TensorFlow's CPU convolutions do not take NCHW)."""

    def __init__(self):
        import tensorflow as tf

        self.tf = tf

    def conv(self, x, w, b, stride, pad):
        padding = "VALID" if pad == 0 else [[0, 0], [pad, pad], [pad, pad], [0, 0]]
        return self.tf.nn.bias_add(self.tf.nn.conv2d(x, w, stride, padding), b)

    def pool(self, x, k, stride, pad):
        # Only stride-1 pools are padded (inception), where 'SAME' is exactly pad k // 2.
        return self.tf.nn.max_pool2d(x, k, stride, "SAME" if pad else "VALID")

    def relu(self, x):
        return self.tf.nn.relu(x)

    def concat(self, xs):
        return self.tf.concat(xs, axis=3)

    def global_mean(self, x):
        return self.tf.reduce_mean(x, axis=(1, 2))

    def flatten(self, x):
        return self.tf.reshape(x, (self.tf.shape(x)[0], -1))

    def dense(self, x, w, b):
        return self.tf.matmul(x, w) + b


class JaxOps:
    def __init__(self):
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp

    def conv(self, x, w, b, stride, pad):
        y = self.jax.lax.conv_general_dilated(x, w, (stride, stride), [(pad, pad), (pad, pad)],
                                              dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y + b[None, :, None, None]

    def pool(self, x, k, stride, pad):
        return self.jax.lax.reduce_window(x, -self.jnp.inf, self.jax.lax.max, (1, 1, k, k), (1, 1, stride, stride),
                                          [(0, 0), (0, 0), (pad, pad), (pad, pad)])

    def relu(self, x):
        return self.jax.nn.relu(x)

    def concat(self, xs):
        return self.jnp.concatenate(xs, axis=1)

    def global_mean(self, x):
        return x.mean(axis=(2, 3))

    def flatten(self, x):
        return x.reshape(x.shape[0], -1)

    def dense(self, x, w, b):
        return x @ w + b
