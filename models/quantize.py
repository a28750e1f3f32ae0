"""Weight quantizers for low-bit students (Polino, Pascanu, Alistarh 2018), and their compact storage.

Symbolic pieces (graphs, differentiable where the method needs it):

    q = uniform_quantize(W, levels=4, bucket_size=256)            # deterministic rounding
    q = uniform_quantize(W, 4, 256, srng=T.random.RandomStreams(0))  # stochastic rounding
    h = T.dot(x, straight_through(W, q))     # forward with Q(W); dL/dQ(W) is applied to W
    q, assign = codebook_quantize(W, p)      # learnable points: dL/dp_j = sum over W_i -> p_j of dL/dQ(W_i)

Storage (NumPy): ``QuantizedTensor`` holds one weight's integer codes plus its
per-bucket (lo, scale) or its codebook; ``save_quantized`` bit-packs the codes
(``bits`` bits each, e.g. four 2-bit codes per byte) into a compressed ``.npz``
and ``load_quantized`` reads it back; ``dequantize()`` is the one definition of
the stored model's weights, so a reloaded model evaluates identically.
"""

from dataclasses import dataclass

import numpy as np

import symgraph.tensor as T
from symgraph.errors import OpArgumentError
from symgraph.gradient import disconnected_grad

__all__ = [
    "QuantizedTensor", "codebook_quantize", "load_quantized", "pack_codes", "quantile_codebook",
    "save_quantized", "straight_through", "uniform_codes", "uniform_quantize", "unpack_codes",
]


# ---- symbolic quantizers --------------------------------------------------------------------------------


def uniform_quantize(w, levels, bucket_size, srng=None):
    """Q(w): each bucket of ``bucket_size`` consecutive weights (row-major) min-max scaled onto ``levels`` points.

    The points of a bucket are lo + scale * k / (levels - 1), k = 0..levels-1,
    with lo, lo + scale its minimum and maximum.  Rounding is to the nearest
    point, or stochastic (up with probability equal to the fractional part, so
    E[Q(w)] = w) when ``srng`` (a ``T.random.RandomStreams``) is given.
    Q has no useful gradient (it is piecewise constant): wrap it in
    ``straight_through`` to train through it.
    """
    return uniform_codes(w, levels, bucket_size, srng)[0]


def uniform_codes(w, levels, bucket_size, srng=None):
    """(Q(w), codes, lo, scale): the quantized tensor and what stores it.

    ``codes`` is int64 of shape (n_buckets, bucket_size); the last bucket is
    padded by repeating the final weight (which leaves its min and max alone)
    and those padding codes are not part of ``w``.  ``lo`` and ``scale`` have
    one entry per bucket.
    """
    _check_levels("uniform_codes", levels)
    if not isinstance(bucket_size, (int, np.integer)) or bucket_size < 1:
        raise OpArgumentError(f"uniform_codes: bucket_size must be a positive int, got {bucket_size!r}")
    w = T.as_tensor_variable(w)
    flat = T.flatten(w, 1)
    n = flat.shape[0]
    pad = (bucket_size - n % bucket_size) % bucket_size
    buckets = T.reshape(T.concatenate([flat, T.alloc(flat[-1], pad)]), (-1, bucket_size))
    lo = T.min(buckets, axis=1)
    scale = T.max(buckets, axis=1) - lo
    # a constant bucket has scale 0: every weight is exactly lo, code 0
    safe = T.switch(T.gt(scale, 0), scale, T.ones_like(scale))
    position = (buckets - lo.dimshuffle(0, "x")) / safe.dimshuffle(0, "x") * (levels - 1)
    if srng is None:
        codes = T.floor(position + 0.5)
    else:
        codes = T.floor(position + srng.uniform(size=position.shape, dtype=position.dtype))
    codes = T.clip(codes, 0, levels - 1)
    q = lo.dimshuffle(0, "x") + scale.dimshuffle(0, "x") * (codes / (levels - 1))
    q = T.reshape(T.flatten(q, 1)[:n], w.shape)
    return q, T.cast(codes, "int64"), lo, scale


def straight_through(w, q):
    """``q`` in the forward pass; the gradient with respect to it reaches ``w`` unchanged.

    w + (q - w) with the difference cut from differentiation, so dL/dw = dL/dq
    (the straight-through estimator) while the value is q up to one rounding of
    the addition.
    """
    w = T.as_tensor_variable(w)
    return w + disconnected_grad(T.as_tensor_variable(q) - w)


def codebook_quantize(w, points):
    """(Q(w), assign): each weight replaced by its nearest codebook point, Q(w) = points[assign].

    ``points`` is a vector (usually a shared variable being learnt).  The
    assignment depends only on ``w`` (the shadow weights) and carries no
    gradient, so dL/dpoints_j = sum of dL/dQ(w_i) over the weights assigned to
    j (the gradient of the gather is a scatter-add) and dL/dw = 0; combine with
    ``straight_through`` to also move ``w``.
    """
    w, points = T.as_tensor_variable(w), T.as_tensor_variable(points)
    if points.ndim != 1:
        raise OpArgumentError(f"codebook_quantize: points must be a vector, got {points.ndim} dimensions")
    distance = abs(w.dimshuffle(*range(w.ndim), "x") - points)
    assign = T.argmin(distance, axis=-1)
    return points[assign], assign


def quantile_codebook(w, levels):
    """Initial codebook: the centres of ``levels`` equal-mass bins of the values of ``w`` (NumPy)."""
    _check_levels("quantile_codebook", levels)
    return np.quantile(np.asarray(w).ravel(), (np.arange(levels) + 0.5) / levels)


def _check_levels(where_, levels):
    if not isinstance(levels, (int, np.integer)) or levels < 2:
        raise OpArgumentError(f"{where_}: levels must be an int >= 2, got {levels!r}")


# ---- storage --------------------------------------------------------------------------------------------


@dataclass
class QuantizedTensor:
    """One quantized weight: integer codes and either per-bucket (lo, scale) or a codebook.

    ``codes``: ints in [0, 2**bits), one per weight in row-major order;
    ``shape``: the weight's shape.  Uniform: ``levels``, ``bucket_size``,
    ``lo``, ``scale`` (one per bucket).  Codebook: ``codebook`` (the points).
    """

    codes: np.ndarray
    shape: tuple
    bits: int
    levels: int = 0
    bucket_size: int = 0
    lo: np.ndarray = None
    scale: np.ndarray = None
    codebook: np.ndarray = None

    @classmethod
    def uniform(cls, codes, shape, levels, bucket_size, lo, scale):
        """From ``uniform_codes``' outputs (codes per bucket, padding included)."""
        n = int(np.prod(shape))
        return cls(np.asarray(codes).ravel()[:n], tuple(shape), _bits_for(levels), levels, bucket_size,
                   np.asarray(lo), np.asarray(scale))

    @classmethod
    def from_codebook(cls, assign, codebook):
        codebook = np.asarray(codebook)
        return cls(np.asarray(assign), tuple(np.shape(assign)), _bits_for(len(codebook)), len(codebook),
                   codebook=codebook)

    @property
    def is_codebook(self):
        return self.codebook is not None

    def dequantize(self):
        """The weight this stores (the same arithmetic as ``uniform_codes``' Q)."""
        codes = np.asarray(self.codes).ravel()
        if self.is_codebook:
            return self.codebook[codes].reshape(self.shape)
        bucket = np.arange(codes.size) // self.bucket_size
        w = self.lo[bucket] + self.scale[bucket] * (codes / (self.levels - 1))
        return w.reshape(self.shape)


def _bits_for(levels):
    return max(1, int(np.ceil(np.log2(levels))))


def pack_codes(codes, bits):
    """Codes in [0, 2**bits) bit-packed into uint8, most significant bit first (8 // bits codes per byte)."""
    codes = np.asarray(codes).ravel()
    if codes.size and (codes.min() < 0 or codes.max() >= 1 << bits):
        raise ValueError(f"pack_codes: codes must lie in [0, {1 << bits}), got [{codes.min()}, {codes.max()}]")
    planes = (codes[:, None].astype(np.int64) >> np.arange(bits - 1, -1, -1)) & 1
    return np.packbits(planes.astype(np.uint8).ravel())


def unpack_codes(packed, bits, count):
    """Inverse of ``pack_codes``: ``count`` int64 codes."""
    planes = np.unpackbits(np.asarray(packed, dtype=np.uint8))[:count * bits].reshape(count, bits)
    return planes.astype(np.int64) @ (1 << np.arange(bits - 1, -1, -1))


def save_quantized(path, tensors, full_precision=None):
    """Write ``tensors`` ({name: QuantizedTensor}) and ``full_precision`` ({name: array}, e.g. biases).

    The file holds three arrays, since each array of an ``.npz`` costs a zip
    entry (about 200 bytes, as much as a small layer's codes): every tensor's
    bit-packed codes back to back, every float (scales, codebooks,
    full-precision arrays) in one vector of their common dtype, and a JSON
    header saying where each piece lies.  Floats keep their values exactly, so
    ``load_quantized`` gives back bit-identical weights.  Returns the file's size
    in bytes.
    """
    import json
    import os

    full_precision = {k: np.asarray(v) for k, v in (full_precision or {}).items()}
    floats = [np.asarray(a) for qt in tensors.values()
              for a in ((qt.codebook,) if qt.is_codebook else (qt.lo, qt.scale))] + list(full_precision.values())
    dtype = np.result_type(*floats) if floats else np.float64
    header, codes, values = {"tensors": {}, "full": {}}, [], []
    n_codes = n_values = 0

    def put(a):
        nonlocal n_values
        a = np.asarray(a)
        values.append(a.astype(dtype).ravel())
        n_values += a.size
        return [n_values - a.size, a.size, a.dtype.str, list(a.shape)]

    for name, qt in tensors.items():
        packed = pack_codes(qt.codes, qt.bits)
        codes.append(packed)
        n_codes += packed.size
        entry = {"codes": [n_codes - packed.size, packed.size], "shape": list(qt.shape), "bits": qt.bits,
                 "levels": qt.levels, "bucket_size": qt.bucket_size}
        if qt.is_codebook:
            entry["codebook"] = put(qt.codebook)
        else:
            entry["lo"], entry["scale"] = put(qt.lo), put(qt.scale)
        header["tensors"][name] = entry
    for name, value in full_precision.items():
        header["full"][name] = put(value)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                            codes=np.concatenate(codes) if codes else np.zeros(0, np.uint8),
                            values=np.concatenate(values) if values else np.zeros(0, dtype))
    return os.path.getsize(path)


def load_quantized(path):
    """(tensors, full_precision) as given to ``save_quantized``."""
    import json

    with np.load(path) as data:
        header = json.loads(data["header"].tobytes().decode())
        codes, values = data["codes"], data["values"]

    def get(spec):
        start, size, dtype, shape = spec
        return values[start:start + size].astype(np.dtype(dtype)).reshape(shape)

    tensors = {}
    for name, e in header["tensors"].items():
        start, size = e["codes"]
        shape = tuple(e["shape"])
        unpacked = unpack_codes(codes[start:start + size], e["bits"], int(np.prod(shape)))
        if "codebook" in e:
            tensors[name] = QuantizedTensor(unpacked.reshape(shape), shape, e["bits"], e["levels"],
                                            codebook=get(e["codebook"]))
        else:
            tensors[name] = QuantizedTensor(unpacked, shape, e["bits"], e["levels"], e["bucket_size"],
                                            get(e["lo"]), get(e["scale"]))
    return tensors, {name: get(spec) for name, spec in header["full"].items()}
