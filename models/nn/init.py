"""Weight initialisation schemes, each ``scheme(rng, shape) -> ndarray`` with a seeded Generator.

Fans follow the usual convention: a matrix is (fan_in, fan_out); a conv filter
bank (n_out, n_in, kh, kw) has fan_in = n_in kh kw and fan_out = n_out kh kw.
"""

import numpy as np

import symgraph as sg

SQRT2 = float(np.sqrt(2.0))   # the ReLU gain


def fans(shape):
    """(fan_in, fan_out) of a weight of this shape."""
    shape = tuple(shape)
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def glorot_uniform(rng, shape, gain=1.0):
    """Glorot & Bengio (2010): U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    a = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return _cast(rng.uniform(-a, a, size=shape))


def glorot_normal(rng, shape, gain=1.0):
    """N(0, gain^2 2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return _cast(rng.normal(0.0, gain * np.sqrt(2.0 / (fan_in + fan_out)), size=shape))


xavier_uniform, xavier_normal = glorot_uniform, glorot_normal


def he_normal(rng, shape, gain=SQRT2):
    """He et al. (2015) for ReLU: N(0, 2 / fan_in)."""
    fan_in, _ = fans(shape)
    return _cast(rng.normal(0.0, gain / np.sqrt(fan_in), size=shape))


def he_uniform(rng, shape, gain=SQRT2):
    """U(-a, a) with a = gain sqrt(3 / fan_in)."""
    fan_in, _ = fans(shape)
    a = gain * np.sqrt(3.0 / fan_in)
    return _cast(rng.uniform(-a, a, size=shape))


def orthogonal(rng, shape, gain=1.0):
    """Saxe et al. (2014): a (semi-)orthogonal matrix from the QR of a Gaussian, rows flattened past axis 0."""
    rows, cols = shape[0], int(np.prod(shape[1:]))
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))            # makes the distribution uniform over orthogonal matrices
    q = q if rows >= cols else q.T
    return _cast(gain * q[:rows, :cols].reshape(shape))


def zeros(rng, shape):
    return np.zeros(shape, dtype=sg.config.floatX)


def constant(value):
    """A scheme filling every entry with ``value`` (e.g. a bias of -3 for dead ReLUs)."""
    return lambda rng, shape: np.full(shape, value, dtype=sg.config.floatX)


def _cast(a):
    return np.asarray(a, dtype=sg.config.floatX)
