"""RandomStreams: Theano's interface to random draws in a graph.

Each draw gets its own state, a shared variable ``[key, counter]`` whose
``default_update`` advances the counter, so every call of a compiled function
gives new numbers and ``seed()`` makes them reproducible.  Keys come from the
stream's seed and the draw's index, so two streams (or two draws) are
independent.
"""

import numbers

import numpy as np

from ...errors import GraphTypeError
from .. import math as tm
from ..basic import make_vector
from ..variable import as_tensor_variable
from .ops import STATE_DTYPE, RandomDraw
from .philox import splitmix64


class RandomStreams:
    """``srng = RandomStreams(seed)``; ``srng.normal((3, 4))`` is a symbolic draw."""

    def __init__(self, seed=None):
        self._seed = int(np.random.SeedSequence().entropy % (1 << 63)) if seed is None else int(seed)
        self.state_updates = []
        self._count = 0

    # ---- state ----
    def _key(self, index):
        return splitmix64(splitmix64(self._seed) ^ index)

    def _new_state(self):
        from ...compile.shared import shared

        index = self._count
        self._count += 1
        state = shared(np.array([self._key(index), 0], dtype=STATE_DTYPE), name=f"rng_state{index}")
        state.stream_index = index
        return state

    def seed(self, seed):
        """Restart every draw of this stream from ``seed``."""
        self._seed = int(seed)
        for state, _ in self.state_updates:
            state.set_value(np.array([self._key(state.stream_index), 0], dtype=STATE_DTYPE))

    def updates(self):
        """``[(state, new_state)]`` for every draw (also applied by default)."""
        return list(self.state_updates)

    def _draw(self, dist, size, dtype):
        from ...config import config

        dtype = dtype or config.floatX
        state = self._new_state()
        new_state, sample = RandomDraw(dist, dtype)(state, _size_vector(size))
        state.default_update = new_state
        self.state_updates.append((state, new_state))
        return sample

    # ---- distributions ----
    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
        """Uniform on [low, high)."""
        size = _default_size(size, low, high)
        u = self._draw("uniform", size, _float_dtype(dtype, low, high))
        return _keep_dtype(low + (high - low) * u, u)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        """Gaussian with mean ``avg`` and standard deviation ``std``."""
        size = _default_size(size, avg, std)
        z = self._draw("normal", size, _float_dtype(dtype, avg, std))
        return _keep_dtype(avg + std * z, z)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64"):
        """Number of successes in ``n`` (a Python int) trials of probability ``p``."""
        if not isinstance(n, numbers.Integral) or n < 0:
            raise GraphTypeError(f"binomial: n must be a non-negative Python int, got {n!r}")
        size = _default_size(size, p)
        vector = _size_vector(size)
        u = self._draw("uniform", tm_concat_size(vector, n), _float_dtype(None, p))
        p = as_tensor_variable(p)
        from ..reduction import sum as tsum

        hits = tm.lt(u, p.dimshuffle(*range(p.ndim), "x") if p.ndim else p)
        return tm.cast(tsum(hits, axis=-1), dtype)

    def bernoulli(self, p=0.5, size=None, dtype="int64"):
        """1 with probability ``p``, else 0."""
        size = _default_size(size, p)
        u = self._draw("uniform", size, _float_dtype(None, p))
        return tm.cast(tm.lt(u, p), dtype)

    def gumbel(self, size=None, loc=0.0, scale=1.0, dtype=None):
        """Gumbel(loc, scale) draws: loc - scale * log(-log(u))."""
        size = _default_size(size, loc, scale)
        u = self._draw("uniform", size, _float_dtype(dtype, loc, scale))
        tiny = np.finfo(u.dtype).tiny
        return _keep_dtype(loc - scale * tm.log(-tm.log(tm.clip(u, tiny, 1.0))), u)

    def categorical(self, p=None, logits=None, dtype="int64"):
        """One class index per row of ``p`` (probabilities) or ``logits`` (last axis)."""
        from ..reduction import argmax, cumsum

        if (p is None) == (logits is None):
            raise GraphTypeError("categorical: give exactly one of p and logits")
        if logits is not None:
            logits = as_tensor_variable(logits)
            g = self.gumbel(size=logits.shape, dtype=logits.dtype)
            return tm.cast(argmax(logits + g, axis=-1), dtype)
        p = as_tensor_variable(p)
        batch = p.shape[:-1] if p.ndim > 1 else ()
        u = self._draw("uniform", batch, _float_dtype(None, p))
        cdf = cumsum(p, axis=-1)
        total = cdf[..., -1:]
        below = tm.lt(cdf, u.dimshuffle(*range(u.ndim), "x") * total)
        from ..reduction import sum as tsum

        k = tsum(tm.cast(below, "int64"), axis=-1)
        return tm.cast(tm.minimum(k, p.shape[-1] - 1), dtype)

    def permutation(self, n, dtype="int64"):
        """A random permutation of ``range(n)``."""
        from ..sort import argsort

        u = self._draw("uniform", (n,), "float64")
        return tm.cast(argsort(u), dtype)

    def choice(self, a, size=(), replace=True, p=None, dtype="int64"):
        """Draws from ``range(a)`` (``a`` an int) or from the vector ``a``."""
        from ..shape import shape_i

        a_var = as_tensor_variable(a)
        n = a_var if a_var.ndim == 0 else shape_i(a_var, 0)
        if p is not None:
            idx = self.categorical(p=tm_broadcast_rows(p, size))
        elif replace:
            u = self._draw("uniform", size, "float64")
            idx = tm.minimum(tm.cast(tm.floor(u * n), "int64"), n - 1)
        else:
            perm = self.permutation(n)
            count = int(np.prod(size)) if isinstance(size, tuple) and all(
                isinstance(s, numbers.Integral) for s in size) else None
            if count is None:
                raise GraphTypeError("choice(replace=False) needs a static size")
            idx = perm[:count].reshape(size) if size else perm[0]
        idx = tm.cast(idx, dtype)
        return idx if a_var.ndim == 0 else a_var[idx]


def _float_dtype(dtype, *params):
    from ...config import config

    if dtype is not None:
        return dtype
    for p in params:
        if hasattr(p, "dtype") and str(p.dtype) in ("float32", "float64"):
            return str(p.dtype)
    return config.floatX


def _keep_dtype(value, draw):
    return tm.cast(value, draw.dtype) if value.dtype != draw.dtype else value


def _default_size(size, *params):
    if size is not None:
        return size
    tensors = [as_tensor_variable(p) for p in params]
    ndim = max(t.ndim for t in tensors)
    if ndim == 0:
        return ()
    total = tensors[0]
    for t in tensors[1:]:
        total = total + t
    return total.shape


def _size_vector(size):
    if isinstance(size, numbers.Integral):
        size = (size,)
    if isinstance(size, (tuple, list)):
        if all(isinstance(s, numbers.Integral) for s in size):
            return as_tensor_variable(np.asarray(size, dtype="int64").reshape(len(size)))
        return make_vector(*[tm.cast(as_tensor_variable(s), "int64") for s in size], dtype="int64")
    size = as_tensor_variable(size)
    if size.ndim != 1:
        raise GraphTypeError(f"random size must be a tuple or an int vector, got {size.type}")
    return tm.cast(size, "int64")


def tm_concat_size(vector, n):
    from ..join import concatenate

    return concatenate([vector, as_tensor_variable(np.array([n], dtype="int64"))])


def tm_broadcast_rows(p, size):
    p = as_tensor_variable(p)
    if not size:
        return p
    from ..basic import alloc

    return alloc(p, *(tuple(size) + (p.shape[-1],)))
