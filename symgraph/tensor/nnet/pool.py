"""2-D pooling over the last two axes, with its gradient and the max-pool gradient's gradient.

Semantics are Theano's ``Pool``: windows of ``ws`` every ``stride``, the
input zero-padded by ``pad`` (which must be smaller than ``ws`` and needs
``ignore_border``); 'max' and 'sum' ignore the padding, 'average_inc_pad'
counts it in the divisor, 'average_exc_pad' does not.  With
``ignore_border=False`` partial windows at the far edges are kept.

Max pooling routes each window's gradient to one position: the first
maximum in row-major order (so the gradient sums to the output gradient, also
where values tie, as cuDNN and PyTorch do).  ``MaxPoolGradGrad`` gathers from
those positions: it is the adjoint of the routing, so every order of
derivative exists.
"""

import numbers

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ...errors import GraphTypeError, InputShapeError, OpArgumentError, where
from ...graph.basic import Apply
from ...graph.op import Op
from ..type import DISCRETE_DTYPES, FLOAT_DTYPES, TensorType, upcast
from ..variable import as_tensor_variable

__all__ = ["DownsampleFactorMaxGradGrad", "MaxPoolGradGrad", "Pool", "PoolGrad", "pool_2d"]

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def pool_2d(input, ws=None, ignore_border=True, stride=None, pad=(0, 0), mode="max", ds=None, st=None,
            padding=None):
    """Pool ``input`` (ndim >= 2) over its last two axes in windows of ``ws``.

    Parameters
    ----------
    ws : (int, int)
        Window size (``ds`` is Theano's older name).
    ignore_border : bool
        Drop partial windows at the far edges (required with padding).
    stride : (int, int), optional
        Step between windows; ``ws`` by default (``st`` is the older name).
    pad : (int, int)
        Zero padding on each side (``padding`` is the older name).
    mode : 'max', 'sum', 'average_inc_pad' or 'average_exc_pad'
    """
    ws = ds if ws is None else ws
    if ws is None:
        raise OpArgumentError("pool_2d: the window size ws is required")
    stride = st if stride is None else stride
    pad = padding if padding is not None else pad
    return Pool(ws, ignore_border, stride, pad, mode)(input)


class _PoolOp(Op):
    __props__ = ("ws", "ignore_border", "stride", "pad", "mode")

    def __init__(self, ws, ignore_border=True, stride=None, pad=(0, 0), mode="max"):
        name = type(self).__name__
        self.ws = _pair(ws, "ws", name, 1)
        self.stride = self.ws if stride is None else _pair(stride, "stride", name, 1)
        self.pad = _pair(pad, "pad", name, 0)
        self.ignore_border = bool(ignore_border)
        if mode not in MODES:
            raise OpArgumentError(f"{name}: mode must be one of {', '.join(MODES)}; got {mode!r}")
        self.mode = mode
        if any(p >= w for p, w in zip(self.pad, self.ws)):
            raise OpArgumentError(f"{name}: pad {self.pad} must be smaller than the window ws {self.ws}")
        if self.pad != (0, 0) and not self.ignore_border:
            raise OpArgumentError(f"{name}: padding {self.pad} needs ignore_border=True")

    def __str__(self):
        return (f"{type(self).__name__}{{{self.mode}, ws={self.ws}, stride={self.stride}, pad={self.pad}, "
                f"ignore_border={self.ignore_border}}}")

    def _like(self, cls):
        return cls(**self._props_dict())

    def out_len(self, n, axis, maximum=max):
        """Windows along ``axis`` for a length ``n`` (an int or a symbolic int64 scalar)."""
        ws, st = self.ws[axis], self.stride[axis]
        v = n + 2 * self.pad[axis]
        if self.ignore_border:
            return v // st if ws == st else maximum((v - ws) // st + 1, 0)
        if st >= ws:
            return (v - 1) // st + 1
        return maximum((v - 1 - ws + st) // st, 0) + 1

    def static_out(self, shape):
        lead, (h, w) = shape[:-2], shape[-2:]
        return lead + tuple(None if n is None else self.out_len(n, a) for a, n in enumerate((h, w)))

    def symbolic_out(self, shape):
        from ..math import maximum

        return tuple(shape[:-2]) + tuple(self.out_len(n, a, maximum) for a, n in enumerate(shape[-2:]))

    def check_input(self, x, what="the input"):
        x = as_tensor_variable(x)
        if x.ndim < 2 or x.dtype == "bool":
            raise GraphTypeError(f"{type(self).__name__}: {what} must be a numeric tensor of ndim >= 2 "
                                 f"(pooled over its last two axes); got {x} of type {x.type}" + where(x))
        return x

    def check_shape(self, node, got, want, what_got, what_want):
        if tuple(got) != tuple(want):
            raise InputShapeError(f"{self}: {what_got} has shape {tuple(got)} but {what_want} has shape "
                                  f"{tuple(want)}; they must match" + where(node.outputs[0]))

    # -- NumPy kernels --
    def canvas(self, x, fill):
        """``x`` on a canvas padded by ``pad`` and large enough for every window; its window view."""
        (ph, pw), (sh, sw), (wh, ww) = self.pad, self.stride, self.ws
        h, w = x.shape[-2:]
        oh, ow = self.out_len(h, 0), self.out_len(w, 1)
        hc, wc = max((oh - 1) * sh + wh, h + 2 * ph), max((ow - 1) * sw + ww, w + 2 * pw)
        out = np.full(x.shape[:-2] + (hc, wc), fill, dtype=x.dtype)
        out[..., ph:ph + h, pw:pw + w] = x
        s = out.strides
        windows = as_strided(out, x.shape[:-2] + (oh, ow, wh, ww), s[:-2] + (s[-2] * sh, s[-1] * sw) + s[-2:],
                             writeable=False)
        return out, windows

    def counts(self, h, w):
        """Entries each window averages over, shape (oh, ow)."""
        per_axis = []
        for axis, n in enumerate((h, w)):
            p, ws, st = self.pad[axis], self.ws[axis], self.stride[axis]
            size = n + 2 * p
            start = np.arange(self.out_len(n, axis)) * st
            end = np.minimum(start + ws, size)
            if self.mode == "average_exc_pad":
                start, end = np.maximum(start, p), np.minimum(end, size - p)
            per_axis.append(end - start)
        return np.outer(*per_axis)

    def argmax_flat(self, x):
        """For each window, the flat index of its first maximum in the padded canvas; and the canvas shape."""
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        canvas, windows = self.canvas(x, fill)
        lead, (oh, ow, wh, ww) = windows.shape[:-4], windows.shape[-4:]
        k = windows.reshape(lead + (oh, ow, wh * ww)).argmax(axis=-1)
        hc, wc = canvas.shape[-2:]
        rows = np.arange(oh)[:, None] * self.stride[0] + k // ww
        cols = np.arange(ow)[None, :] * self.stride[1] + k % ww
        batch = np.arange(int(np.prod(lead, dtype=np.int64))).reshape(lead + (1, 1)) * (hc * wc)
        return batch + rows * wc + cols, canvas.shape

    def crop(self, canvas, shape):
        (ph, pw), (h, w) = self.pad, shape[-2:]
        return np.ascontiguousarray(canvas[..., ph:ph + h, pw:pw + w])


class Pool(_PoolOp):
    """Pool the last two axes of ``x``."""

    def make_node(self, x):
        x = self.check_input(x)
        dtype = x.dtype if self.mode in ("max", "sum") or x.dtype in FLOAT_DTYPES else "float64"
        return Apply(self, [x], [TensorType(dtype, self.static_out(x.type.shape))()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        dtype = node.outputs[0].type.numpy_dtype
        if self.mode == "max":
            fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
            out = self.canvas(x, fill)[1].max(axis=(-2, -1)) if x.size else self._empty(x)
        else:
            out = self.canvas(x.astype(dtype, copy=False), 0)[1].sum(axis=(-2, -1))
            if self.mode != "sum":
                out = out / self.counts(*x.shape[-2:])
        output_storage[0][0] = np.asarray(out, dtype=dtype)

    def _empty(self, x):
        return np.zeros(self.static_out(x.shape), dtype=x.dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [self.symbolic_out(input_shapes[0])]

    def L_op(self, inputs, outputs, output_grads):
        (x,) = inputs
        if x.dtype in DISCRETE_DTYPES:
            return [_float_zeros(x)]
        return [self._like(PoolGrad)(x, output_grads[0])]

    def R_op(self, inputs, eval_points):
        (x,) = inputs
        (ev,) = eval_points
        if ev is None:
            return [None]
        if self.mode == "max":
            return [self._like(MaxPoolGradGrad)(x, ev)]
        return [self(ev)]


class PoolGrad(_PoolOp):
    """The gradient of Pool: (x, gz) -> gx, with x's shape.

    'max' routes ``gz`` to each window's first maximum of ``x``; the other
    modes spread it over the window (divided by the window's count).
    """

    def make_node(self, x, gz):
        x = self.check_input(x)
        gz = self.check_input(gz, "the output gradient")
        if gz.ndim != x.ndim:
            raise GraphTypeError(f"{self}: the output gradient {gz.type} and the input {x.type} differ in rank"
                                 + where(gz))
        dtype = upcast(x.dtype, gz.dtype) if gz.dtype in FLOAT_DTYPES else "float64"
        return Apply(self, [x, gz], [TensorType(dtype, x.type.shape)()])

    def perform(self, node, inputs, output_storage):
        x, gz = inputs
        self.check_shape(node, gz.shape, self.static_out(x.shape), "the output gradient", "the pooled input")
        dtype = node.outputs[0].type.numpy_dtype
        if x.size == 0 or gz.size == 0:
            output_storage[0][0] = np.zeros(x.shape, dtype=dtype)
            return
        if self.mode == "max":
            flat, shape = self.argmax_flat(x)
            canvas = np.bincount(flat.reshape(-1), weights=gz.reshape(-1), minlength=int(np.prod(shape)))
            canvas = canvas.reshape(shape)
        else:
            canvas = self._spread(x.shape, gz.astype(dtype, copy=False))
        output_storage[0][0] = self.crop(canvas, x.shape).astype(dtype, copy=False)

    def _spread(self, shape, gz):
        if self.mode != "sum":
            gz = gz / self.counts(*shape[-2:])
        canvas = self.canvas(np.zeros(shape, dtype=gz.dtype), 0)[0]
        (sh, sw), (wh, ww) = self.stride, self.ws
        oh, ow = gz.shape[-2:]
        for i in range(wh):
            for j in range(ww):
                canvas[..., i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw] += gz
        return canvas

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def L_op(self, inputs, outputs, output_grads):
        x = inputs[0]
        (g,) = output_grads
        # Routing (max) and spreading only depend on x piecewise-constantly, or not at all.
        if self.mode == "max":
            return [_float_zeros(x), self._like(MaxPoolGradGrad)(x, g)]
        return [_float_zeros(x), self._like(Pool)(g)]

    def R_op(self, inputs, eval_points):
        from ..math import zeros_like

        x, gz = inputs
        egz = eval_points[1]
        if egz is None:
            return [None if eval_points[0] is None else zeros_like(self(x, gz))]
        return [self(x, egz)]


class MaxPoolGradGrad(_PoolOp):
    """The gradient of max PoolGrad w.r.t. its output gradient: (x, ggx) -> ggx at each window's max."""

    def make_node(self, x, ggx):
        x = self.check_input(x)
        ggx = self.check_input(ggx, "the gradient")
        if self.mode != "max":
            raise OpArgumentError(f"{self}: only defined for mode='max'")
        if ggx.ndim != x.ndim:
            raise GraphTypeError(f"{self}: the gradient {ggx.type} and the input {x.type} differ in rank"
                                 + where(ggx))
        dtype = upcast(x.dtype, ggx.dtype) if ggx.dtype in FLOAT_DTYPES else "float64"
        return Apply(self, [x, ggx], [TensorType(dtype, self.static_out(x.type.shape))()])

    def perform(self, node, inputs, output_storage):
        x, ggx = inputs
        self.check_shape(node, ggx.shape, x.shape, "the gradient", "the input")
        if x.size == 0:
            output_storage[0][0] = np.zeros(self.static_out(x.shape), dtype=node.outputs[0].type.numpy_dtype)
            return
        flat, _ = self.argmax_flat(x)
        canvas = self.canvas(ggx.astype(node.outputs[0].type.numpy_dtype, copy=False), 0)[0]
        output_storage[0][0] = canvas.reshape(-1)[flat]

    def infer_shape(self, fgraph, node, input_shapes):
        return [self.symbolic_out(input_shapes[0])]

    def L_op(self, inputs, outputs, output_grads):
        x, _ = inputs
        return [_float_zeros(x), self._like(PoolGrad)(x, output_grads[0])]

    def R_op(self, inputs, eval_points):
        from ..math import zeros_like

        x, ggx = inputs
        if eval_points[1] is None:
            return [None if eval_points[0] is None else zeros_like(self(x, ggx))]
        return [self(x, eval_points[1])]


DownsampleFactorMaxGradGrad = MaxPoolGradGrad


def _pair(value, what, name, minimum):
    if isinstance(value, numbers.Integral):
        value = (value, value)
    try:
        ok = len(value) == 2 and all(isinstance(v, numbers.Integral) and v >= minimum for v in value)
    except TypeError:
        ok = False
    if not ok:
        raise OpArgumentError(f"{name}: {what} must be a pair of ints >= {minimum}, got {value!r}")
    return tuple(int(v) for v in value)


def _float_zeros(x):
    from ...config import config
    from ..math import zeros_like

    return zeros_like(x, dtype=x.dtype if x.dtype in FLOAT_DTYPES else config.floatX)
