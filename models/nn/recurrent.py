"""LSTM and GRU: a cell (one step) and a layer running it over a time-major sequence with ``sg.scan``."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from . import init as inits
from .layers import Layer


class LSTMCell(Layer):
    """Hochreiter & Schmidhuber with a forget gate; the four gates share one matrix (order i, f, o, g)."""

    def __init__(self, n_in, n_hidden, rng=None, forget_bias=1.0, name=None):
        super().__init__(name)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.n_hidden = n_hidden
        H = n_hidden
        self.W = self._param("W", inits.glorot_uniform(rng, (n_in, 4 * H)))
        self.U = self._param("U", np.concatenate([inits.orthogonal(rng, (H, H)) for _ in range(4)], axis=1))
        b = np.zeros(4 * H, dtype=sg.config.floatX)
        b[H:2 * H] = forget_bias            # remembering by default eases learning long dependencies
        self.b = self._param("b", b)

    def step(self, x, h, c):
        H = self.n_hidden
        z = T.dot(x, self.W) + T.dot(h, self.U) + self.b
        i = T.nnet.sigmoid(z[:, :H])
        f = T.nnet.sigmoid(z[:, H:2 * H])
        o = T.nnet.sigmoid(z[:, 2 * H:3 * H])
        g = T.tanh(z[:, 3 * H:])
        c_new = f * c + i * g
        return o * T.tanh(c_new), c_new

    def initial_state(self, batch):
        zeros = T.alloc(np.asarray(0, dtype=sg.config.floatX), batch, self.n_hidden)
        return zeros, zeros


class GRUCell(Layer):
    """Cho et al. (2014): update gate z, reset gate r; ``h <- (1 - z) h + z tanh(W x + U (r h))``."""

    def __init__(self, n_in, n_hidden, rng=None, name=None):
        super().__init__(name)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.n_hidden = H = n_hidden
        self.W = self._param("W", inits.glorot_uniform(rng, (n_in, 3 * H)))
        self.U = self._param("U", np.concatenate([inits.orthogonal(rng, (H, H)) for _ in range(3)], axis=1))
        self.b = self._param("b", np.zeros(3 * H, dtype=sg.config.floatX))

    def step(self, x, h):
        H = self.n_hidden
        wx = T.dot(x, self.W) + self.b
        uh = T.dot(h, self.U[:, :2 * H])
        z = T.nnet.sigmoid(wx[:, :H] + uh[:, :H])
        r = T.nnet.sigmoid(wx[:, H:2 * H] + uh[:, H:])
        cand = T.tanh(wx[:, 2 * H:] + T.dot(r * h, self.U[:, 2 * H:]))
        return ((1 - z) * h + z * cand,)

    def initial_state(self, batch):
        return (T.alloc(np.asarray(0, dtype=sg.config.floatX), batch, self.n_hidden),)


class Recurrent(Layer):
    """Runs a cell over ``x`` of shape (time, batch, n_in); returns hidden states (time, batch, H)."""

    def __init__(self, cell, go_backwards=False, name=None):
        super().__init__(name or f"{cell.name}.run")
        self.cell = cell
        self.go_backwards = go_backwards
        self.params.extend(cell.params)

    def __call__(self, x, initial=None):
        return self.states(x, initial)[0]

    def states(self, x, initial=None):
        """Every carried state's history (h first; for an LSTM also c)."""
        initial = list(initial) if initial is not None else list(self.cell.initial_state(x.shape[1]))
        outs, _ = sg.scan(lambda xt, *s: self.cell.step(xt, *s), sequences=[x], outputs_info=initial,
                          go_backwards=self.go_backwards, return_list=True, name=self.name)
        return outs


def LSTM(n_in, n_hidden, rng=None, name=None, **kw):
    return Recurrent(LSTMCell(n_in, n_hidden, rng=rng, name=name), **kw)


def GRU(n_in, n_hidden, rng=None, name=None, **kw):
    return Recurrent(GRUCell(n_in, n_hidden, rng=rng, name=name), **kw)
