"""Feed-forward layers: dense, conv, maxout, embedding, and an MLP builder.

Every layer owns a ``Params`` (``layer.params``) whose shared variables are
named ``"<layer>.<param>"``; calling a layer on a symbolic input returns its
symbolic output.  Weights come from a seeded ``numpy.random.Generator``.
"""

import itertools

import numpy as np

import symgraph.tensor as T

from . import init as inits
from .params import Params

_COUNTER = itertools.count()


class Layer:
    def __init__(self, name=None):
        self.name = name or f"{type(self).__name__.lower()}{next(_COUNTER)}"
        self.params = Params()

    def _param(self, key, value):
        return self.params.add(f"{self.name}.{key}", value)

    def __call__(self, x):
        raise NotImplementedError


class Dense(Layer):
    """``activation(x W + b)``, x of shape (batch, n_in)."""

    def __init__(self, n_in, n_out, activation=None, rng=None, init=inits.glorot_uniform,
                 bias_init=inits.zeros, name=None):
        super().__init__(name)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.n_in, self.n_out, self.activation = n_in, n_out, activation
        self.W = self._param("W", init(rng, (n_in, n_out)))
        self.b = self._param("b", bias_init(rng, (n_out,)))

    def __call__(self, x):
        z = T.dot(x, self.W) + self.b
        return self.activation(z) if self.activation else z


class Conv2D(Layer):
    """``activation(conv2d(x, W) + b)``, x of shape (batch, channels, height, width)."""

    def __init__(self, n_in, n_filters, kernel, activation=None, border_mode="valid", subsample=(1, 1),
                 rng=None, init=inits.he_normal, name=None):
        super().__init__(name)
        rng = rng if rng is not None else np.random.default_rng(0)
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        self.activation, self.border_mode, self.subsample = activation, border_mode, subsample
        self.W = self._param("W", init(rng, (n_filters, n_in, kh, kw)))
        self.b = self._param("b", inits.zeros(rng, (n_filters,)))

    def __call__(self, x):
        z = T.nnet.conv2d(x, self.W, border_mode=self.border_mode, subsample=self.subsample)
        z = z + self.b.dimshuffle("x", 0, "x", "x")
        return self.activation(z) if self.activation else z


class Maxout(Layer):
    """Goodfellow et al. (2013): the max over ``pieces`` linear projections per output unit."""

    def __init__(self, n_in, n_out, pieces=2, rng=None, init=inits.glorot_uniform, name=None):
        super().__init__(name)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.n_out, self.pieces = n_out, pieces
        self.W = self._param("W", init(rng, (n_in, n_out * pieces)))
        self.b = self._param("b", inits.zeros(rng, (n_out * pieces,)))

    def __call__(self, x):
        z = T.dot(x, self.W) + self.b
        z = T.reshape(z, (x.shape[0], self.n_out, self.pieces))
        return T.max(z, axis=2)


class Embedding(Layer):
    """Rows of a (n_symbols, dim) table looked up by integer indices of any shape."""

    def __init__(self, n_symbols, dim, rng=None, init=None, name=None):
        super().__init__(name)
        rng = rng if rng is not None else np.random.default_rng(0)
        value = init(rng, (n_symbols, dim)) if init else inits._cast(rng.normal(0, 0.1, (n_symbols, dim)))
        self.W = self._param("W", value)

    def __call__(self, idx):
        return self.W[idx]


class Sequential(Layer):
    """Layers applied in order; ``params`` holds all of theirs."""

    def __init__(self, layers, name=None):
        super().__init__(name)
        self.layers = list(layers)
        for layer in self.layers:
            self.params.extend(layer.params)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def hidden(self, x):
        """Every layer's output, in order (activation patterns, layer-input statistics)."""
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs


def MLP(sizes, activation=T.tanh, out_activation=None, rng=None, init=inits.glorot_uniform, name="mlp"):
    """Dense layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``; the last gets ``out_activation``."""
    rng = rng if rng is not None else np.random.default_rng(0)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        last = i == len(sizes) - 2
        layers.append(Dense(a, b, activation=out_activation if last else activation, rng=rng, init=init,
                            name=f"{name}.{i}"))
    return Sequential(layers, name=name)
