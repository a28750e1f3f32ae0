"""2-D convolution on NCHW arrays, and its two gradients as Ops of their own.

``Conv2d(x, w)`` is a (grouped, strided, dilated, padded) correlation with
the filters flipped when ``filter_flip`` (true convolution, Theano's default).
``Conv2dGradInputs(w, gy, (H, W))`` and ``Conv2dGradWeights(x, gy, (kh, kw))``
are its adjoints; each of the three differentiates into the other two, so
derivatives of every order exist.  The output size cannot tell the input or
filter size when the stride exceeds 1, hence the shape inputs.

perform copies the windows of the padded input into columns (im2col, one
strided slice copy per filter tap) and contracts them with the filters by
GEMM; the input gradient scatters columns back the same way (col2im).
"""

import numbers

import numpy as np

from ...errors import (
    GraphShapeError,
    GraphTypeError,
    InputShapeError,
    OpArgumentError,
    where,
)
from ...graph.basic import Apply, Constant
from ...graph.op import Op
from ..type import DISCRETE_DTYPES, INT_DTYPES, TensorType, upcast
from ..variable import as_tensor_variable

__all__ = ["Conv2d", "Conv2dGradInputs", "Conv2dGradWeights", "conv2d", "conv2d_grad_wrt_inputs",
           "conv2d_grad_wrt_weights", "conv2d_transpose"]


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid", subsample=(1, 1),
           filter_flip=True, image_shape=None, filter_dilation=(1, 1), num_groups=1, unshared=False):
    """Convolve ``input`` (N, C, H, W) with ``filters`` (O, C / num_groups, kh, kw).

    Parameters
    ----------
    input_shape, filter_shape : tuple of int or None, optional
        Static shapes (None for unknown entries), checked at run time.
    border_mode : 'valid', 'full', 'half', int or (int, int)
        Zero padding: none, ``k - 1``, ``k // 2`` or the given amounts.
    subsample : (int, int)
        The stride.
    filter_flip : bool
        Flip the filters (convolution); False gives cross-correlation.
    filter_dilation : (int, int)
        Spacing between filter taps (atrous convolution).
    num_groups : int
        Channels split into groups convolved separately.
    """
    if unshared:
        raise OpArgumentError("conv2d: unshared (locally connected) convolution is not supported")
    x = _with_static_shape(input, input_shape if input_shape is not None else image_shape, "input_shape")
    w = _with_static_shape(filters, filter_shape, "filter_shape")
    return Conv2d(border_mode, subsample, filter_flip, filter_dilation, num_groups)(x, w)


def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None, border_mode="valid",
                           subsample=(1, 1), filter_flip=True, filter_dilation=(1, 1), num_groups=1):
    """The gradient of ``conv2d`` w.r.t. its input; ``input_shape`` gives (..., H, W)."""
    w = _with_static_shape(filters, filter_shape, "filter_shape")
    op = Conv2dGradInputs(border_mode, subsample, filter_flip, filter_dilation, num_groups)
    return op(w, output_grad, _spatial(input_shape, "input_shape"))


def conv2d_grad_wrt_weights(input, output_grad, filter_shape, input_shape=None, border_mode="valid",
                            subsample=(1, 1), filter_flip=True, filter_dilation=(1, 1), num_groups=1):
    """The gradient of ``conv2d`` w.r.t. its filters; ``filter_shape`` gives (..., kh, kw)."""
    x = _with_static_shape(input, input_shape, "input_shape")
    op = Conv2dGradWeights(border_mode, subsample, filter_flip, filter_dilation, num_groups)
    return op(x, output_grad, _spatial(filter_shape, "filter_shape"))


def conv2d_transpose(input, filters, output_shape, filter_shape=None, border_mode="valid",
                     input_dilation=(1, 1), filter_flip=True, filter_dilation=(1, 1), num_groups=1):
    """The transpose of ``conv2d`` ("deconvolution"): the gradient of a conv2d w.r.t. its input.

    ``filters`` are laid out as for the forward conv2d this transposes,
    (input channels here, output channels / num_groups, kh, kw);
    ``output_shape`` gives the output's (..., H, W); ``input_dilation`` is the
    forward conv's stride.
    """
    return conv2d_grad_wrt_inputs(input, filters, output_shape, filter_shape, border_mode,
                                  input_dilation, filter_flip, filter_dilation, num_groups)


# ---- the Ops ---------------------------------------------------------------------------------

class _ConvOp(Op):
    __props__ = ("border_mode", "subsample", "filter_flip", "filter_dilation", "num_groups")

    def __init__(self, border_mode="valid", subsample=(1, 1), filter_flip=True, filter_dilation=(1, 1),
                 num_groups=1):
        name = type(self).__name__
        self.border_mode = _normalize_border_mode(border_mode, name)
        self.subsample = _pair(subsample, "subsample", name)
        self.filter_flip = bool(filter_flip)
        self.filter_dilation = _pair(filter_dilation, "filter_dilation", name)
        if not isinstance(num_groups, numbers.Integral) or num_groups < 1:
            raise OpArgumentError(f"{name}: num_groups must be a positive int, got {num_groups!r}")
        self.num_groups = int(num_groups)

    def __str__(self):
        return (f"{type(self).__name__}{{{self.border_mode}, subsample={self.subsample}, "
                f"flip={self.filter_flip}, dilation={self.filter_dilation}, groups={self.num_groups}}}")

    def _like(self, cls):
        return cls(**self._props_dict())

    # -- sizes, usable with ints (perform, static shapes) and symbolic int64 scalars --
    def pads(self, kh, kw):
        dh, dw = self.filter_dilation
        if self.border_mode == "full":
            return (kh - 1) * dh, (kw - 1) * dw
        if self.border_mode == "half":
            return ((kh - 1) * dh + 1) // 2, ((kw - 1) * dw + 1) // 2
        return self.border_mode

    def out_size(self, h, w, kh, kw):
        (ph, pw), (sh, sw), (dh, dw) = self.pads(kh, kw), self.subsample, self.filter_dilation
        return (h + 2 * ph - (kh - 1) * dh - 1) // sh + 1, (w + 2 * pw - (kw - 1) * dw - 1) // sw + 1

    def static_out_size(self, h, w, kh, kw):
        if None in (h, kh):
            oh = None
        else:
            oh = self.out_size(h, 1, kh, 1)[0]
        if None in (w, kw):
            ow = None
        else:
            ow = self.out_size(1, w, 1, kw)[1]
        return oh, ow

    # -- checks --
    def check_image(self, v, what):
        name = type(self).__name__
        v = as_tensor_variable(v)
        if v.ndim != 4:
            raise GraphTypeError(f"{name}: {what} must be a 4-d tensor (batch, channels, rows, columns); "
                                 f"got {v} of type {v.type}" + where(v))
        return v

    def check_channels(self, x_shape, w_shape, runtime, node_or_var):
        """Input channels == filter channels * groups, and the groups divide the output channels."""
        name, g = type(self).__name__, self.num_groups
        c, o, cg = x_shape[1], w_shape[0], w_shape[1]
        err = InputShapeError if runtime else GraphShapeError
        var = node_or_var.outputs[0] if runtime else node_or_var
        if c is not None and cg is not None and c != cg * g:
            raise err(f"{name}: the input of shape {_fmt(x_shape)} has {c} channels but the filters of "
                      f"shape {_fmt(w_shape)} expect {cg} * num_groups={g} = {cg * g}" + where(var))
        if o is not None and o % g:
            raise err(f"{name}: the filters of shape {_fmt(w_shape)} have {o} output channels, not a "
                      f"multiple of num_groups={g}" + where(var))

    def check_fits(self, x_shape, w_shape, runtime, node_or_var):
        """The padded input is at least as large as the dilated filter."""
        oh, ow = self.static_out_size(x_shape[2], x_shape[3], w_shape[2], w_shape[3])
        if (oh is not None and oh < 1) or (ow is not None and ow < 1):
            err = InputShapeError if runtime else GraphShapeError
            var = node_or_var.outputs[0] if runtime else node_or_var
            raise err(f"{type(self).__name__}: the input of shape {_fmt(x_shape)}, padded by "
                      f"{self.border_mode}, is smaller than the filters of shape {_fmt(w_shape)} "
                      f"dilated by {self.filter_dilation}" + where(var))

    def flipped(self, w):
        return w[:, :, ::-1, ::-1] if self.filter_flip else w

    def connection_pattern(self, node):
        return [[True], [True], [False]] if len(node.inputs) == 3 else [[True], [True]]


class Conv2d(_ConvOp):
    """conv2d(x, w): x (N, C, H, W), w (O, C / num_groups, kh, kw) -> (N, O, oh, ow)."""

    def make_node(self, x, w):
        x, w = self.check_image(x, "the input"), self.check_image(w, "the filters")
        self.check_channels(x.type.shape, w.type.shape, False, x)
        self.check_fits(x.type.shape, w.type.shape, False, x)
        oh, ow = self.static_out_size(x.type.shape[2], x.type.shape[3], w.type.shape[2], w.type.shape[3])
        dtype = _float_dtype(x, w)
        return Apply(self, [x, w], [TensorType(dtype, (x.type.shape[0], w.type.shape[0], oh, ow))()])

    def perform(self, node, inputs, output_storage):
        x, w = inputs
        self.check_channels(x.shape, w.shape, True, node)
        self.check_fits(x.shape, w.shape, True, node)
        dtype = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = _correlate(self, x.astype(dtype, copy=False),
                                          self.flipped(w.astype(dtype, copy=False)))

    def infer_shape(self, fgraph, node, input_shapes):
        (n, _, h, w), (o, _, kh, kw) = input_shapes
        return [(n, o) + tuple(self.out_size(h, w, kh, kw))]

    def L_op(self, inputs, outputs, output_grads):
        x, w = inputs
        (gy,) = output_grads
        return [self._like(Conv2dGradInputs)(w, gy, _hw(x)),
                self._like(Conv2dGradWeights)(x, gy, _hw(w))]

    def R_op(self, inputs, eval_points):
        x, w = inputs
        ex, ew = eval_points
        return [_sum_terms([None if ex is None else self(ex, w), None if ew is None else self(x, ew)])]


class Conv2dGradInputs(_ConvOp):
    """The gradient of Conv2d w.r.t. its input: (w, gy, (H, W)) -> (N, C, H, W)."""

    def make_node(self, w, gy, shape):
        w, gy = self.check_image(w, "the filters"), self.check_image(gy, "the output gradient")
        shape = _as_shape_vector(shape, self)
        h, wd = _static_entries(shape)
        c = None if w.type.shape[1] is None else w.type.shape[1] * self.num_groups
        x_static = (gy.type.shape[0], c, h, wd)
        self._check_sizes(x_static, w.type.shape, gy.type.shape, False, gy)
        return Apply(self, [w, gy, shape], [TensorType(_float_dtype(w, gy), x_static)()])

    def _check_sizes(self, x_shape, w_shape, gy_shape, runtime, node_or_var):
        self.check_channels(x_shape, w_shape, runtime, node_or_var)
        self.check_fits(x_shape, w_shape, runtime, node_or_var)
        _check_out_grad(self, x_shape, w_shape, gy_shape, runtime, node_or_var)

    def perform(self, node, inputs, output_storage):
        w, gy, (h, wd) = inputs
        x_shape = (gy.shape[0], w.shape[1] * self.num_groups, int(h), int(wd))
        self._check_sizes(x_shape, w.shape, gy.shape, True, node)
        dtype = node.outputs[0].type.numpy_dtype
        output_storage[0][0] = _correlate_grad_input(
            self, self.flipped(w.astype(dtype, copy=False)), gy.astype(dtype, copy=False), x_shape)

    def infer_shape(self, fgraph, node, input_shapes):
        shape = node.inputs[2]
        (_, cg, _, _), (n, _, _, _), _ = input_shapes
        return [(n, cg * self.num_groups, shape[0], shape[1])]

    def L_op(self, inputs, outputs, output_grads):
        from ...gradient import disconnected_type

        w, gy, _ = inputs
        (g,) = output_grads
        # dx = C_w^T gy, so <g, dx> = <conv(g, w), gy>.
        return [self._like(Conv2dGradWeights)(g, gy, _hw(w)), self._like(Conv2d)(g, w),
                disconnected_type()]

    def R_op(self, inputs, eval_points):
        w, gy, shape = inputs
        ew, egy = eval_points[:2]
        return [_sum_terms([None if ew is None else self(ew, gy, shape),
                            None if egy is None else self(w, egy, shape)])]


class Conv2dGradWeights(_ConvOp):
    """The gradient of Conv2d w.r.t. its filters: (x, gy, (kh, kw)) -> (O, C / num_groups, kh, kw)."""

    def make_node(self, x, gy, shape):
        x, gy = self.check_image(x, "the input"), self.check_image(gy, "the output gradient")
        shape = _as_shape_vector(shape, self)
        kh, kw = _static_entries(shape)
        c, o = x.type.shape[1], gy.type.shape[1]
        cg = None if c is None else c // self.num_groups
        if c is not None and c % self.num_groups:
            raise GraphShapeError(f"{self}: the input of type {x.type} has {c} channels, not a multiple "
                                  f"of num_groups={self.num_groups}" + where(x))
        w_static = (o, cg, kh, kw)
        self._check_sizes(x.type.shape, w_static, gy.type.shape, False, x)
        return Apply(self, [x, gy, shape], [TensorType(_float_dtype(x, gy), w_static)()])

    def _check_sizes(self, x_shape, w_shape, gy_shape, runtime, node_or_var):
        self.check_channels(x_shape, w_shape, runtime, node_or_var)
        self.check_fits(x_shape, w_shape, runtime, node_or_var)
        _check_out_grad(self, x_shape, w_shape, gy_shape, runtime, node_or_var)

    def perform(self, node, inputs, output_storage):
        x, gy, (kh, kw) = inputs
        c = x.shape[1]
        if c % self.num_groups:
            raise InputShapeError(f"{self}: the input of shape {x.shape} has {c} channels, not a multiple "
                                  f"of num_groups={self.num_groups}" + where(node.outputs[0]))
        w_shape = (gy.shape[1], c // self.num_groups, int(kh), int(kw))
        self._check_sizes(x.shape, w_shape, gy.shape, True, node)
        dtype = node.outputs[0].type.numpy_dtype
        dw = _correlate_grad_weights(self, x.astype(dtype, copy=False), gy.astype(dtype, copy=False), w_shape)
        output_storage[0][0] = np.ascontiguousarray(self.flipped(dw))

    def infer_shape(self, fgraph, node, input_shapes):
        _, _, shape = node.inputs
        (_, c, _, _), (_, o, _, _), _ = input_shapes
        return [(o, c // self.num_groups, shape[0], shape[1])]

    def L_op(self, inputs, outputs, output_grads):
        from ...gradient import disconnected_type

        x, gy, _ = inputs
        (g,) = output_grads
        # dw is the adjoint of w -> conv(x, w) applied to gy, so <g, dw> = <gy, conv(x, g)>.
        return [self._like(Conv2dGradInputs)(g, gy, _hw(x)), self._like(Conv2d)(x, g),
                disconnected_type()]

    def R_op(self, inputs, eval_points):
        x, gy, shape = inputs
        ex, egy = eval_points[:2]
        return [_sum_terms([None if ex is None else self(ex, gy, shape),
                            None if egy is None else self(x, egy, shape)])]


# ---- NumPy kernels ---------------------------------------------------------------------------

def _padded(op, x, kh, kw):
    ph, pw = op.pads(kh, kw)
    if ph == pw == 0:
        return x
    out = np.zeros(x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), x.dtype)
    out[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
    return out


def _taps(op, kh, kw, oh, ow):
    """For each filter tap (i, j), the slices of the padded input it meets across the output."""
    (sh, sw), (dh, dw) = op.subsample, op.filter_dilation
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dh, i * dh + (oh - 1) * sh + 1, sh), slice(j * dw, j * dw + (ow - 1) * sw + 1, sw))


def _im2col(op, xp, kh, kw, oh, ow):
    """The windows of ``xp`` as columns: (N, C * kh * kw, oh * ow), one strided copy per tap."""
    n, c = xp.shape[:2]
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=xp.dtype)
    for i, j, (rows, columns) in _taps(op, kh, kw, oh, ow):
        cols[:, :, i, j] = xp[:, :, rows, columns]
    return cols.reshape(n, c * kh * kw, oh * ow)


def _groups(op, n_in, n_out, taps):
    """(input-column rows, output channels) of each group."""
    g = op.num_groups
    ci, co = n_in // g * taps, n_out // g
    return [(slice(k * ci, (k + 1) * ci), slice(k * co, (k + 1) * co)) for k in range(g)]


def _correlate(op, x, w):
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    oh, ow = op.out_size(x.shape[2], x.shape[3], kh, kw)
    cols = _im2col(op, _padded(op, x, kh, kw), kh, kw, oh, ow)
    wm = w.reshape(o, cg * kh * kw)  # not -1: no filters (o = 0) is a valid, empty convolution
    out = np.empty((n, o, oh * ow), dtype=x.dtype)
    for rows, co in _groups(op, c, o, kh * kw):
        # Per image a GEMM (O/g, C/g*kh*kw) x (C/g*kh*kw, oh*ow), landing in NCHW order.
        np.matmul(wm[co], cols[:, rows], out=out[:, co])
    return out.reshape(n, o, oh, ow)


def _correlate_grad_input(op, w, gy, x_shape):
    n, c, h, wd = x_shape
    o, cg, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    ph, pw = op.pads(kh, kw)
    dxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=gy.dtype)
    gm = gy.reshape(n, o, oh * ow)
    wm = w.reshape(o, cg * kh * kw)
    for k, (_, co) in enumerate(_groups(op, c, o, kh * kw)):
        cols = np.matmul(wm[co].T, gm[:, co]).reshape(n, cg, kh, kw, oh, ow)
        target = dxp[:, k * cg:(k + 1) * cg]
        for i, j, (rows, columns) in _taps(op, kh, kw, oh, ow):
            target[:, :, rows, columns] += cols[:, :, i, j]
    return np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + wd])


def _correlate_grad_weights(op, x, gy, w_shape):
    o, cg, kh, kw = w_shape
    n, _, oh, ow = gy.shape
    cols = _im2col(op, _padded(op, x, kh, kw), kh, kw, oh, ow)
    gm = gy.reshape(n, o, oh * ow)
    dw = np.empty((o, cg * kh * kw), dtype=gy.dtype)
    for rows, co in _groups(op, x.shape[1], o, kh * kw):
        # Per image a GEMM (O/g, oh*ow) x (oh*ow, C/g*kh*kw), summed.  Small GEMMs stay on one
        # thread in OpenBLAS; one GEMM over all images is threaded and slower on a busy machine.
        dw[co] = np.matmul(gm[:, co], cols[:, rows].transpose(0, 2, 1)).sum(axis=0)
    return dw.reshape(w_shape)


# ---- helpers ---------------------------------------------------------------------------------

def _normalize_border_mode(mode, name):
    if isinstance(mode, str):
        if mode == "valid":
            return (0, 0)
        if mode in ("full", "half"):
            return mode
        raise OpArgumentError(f"{name}: border_mode must be 'valid', 'full', 'half', an int or a pair "
                              f"of ints; got {mode!r}")
    if isinstance(mode, numbers.Integral):
        mode = (mode, mode)
    return _pair(mode, "border_mode", name, minimum=0)


def _pair(value, what, name, minimum=1):
    if isinstance(value, numbers.Integral):
        value = (value, value)
    try:
        pair = tuple(int(v) for v in value)
        ok = len(pair) == 2 and all(isinstance(v, numbers.Integral) and v >= minimum for v in value)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise OpArgumentError(f"{name}: {what} must be a pair of ints >= {minimum}, got {value!r}")
    return pair


def _with_static_shape(x, shape, what):
    from ..shape import specify_shape

    x = as_tensor_variable(x)
    if shape is None:
        return x
    shape = tuple(shape)
    if len(shape) != x.ndim:
        raise GraphShapeError(f"conv2d: {what} {shape} has {len(shape)} entries for {x} of type {x.type}"
                              + where(x))
    static = tuple(s if isinstance(s, numbers.Integral) else None for s in shape)
    if all(s is None for s in static):
        return x
    for axis, (s, t) in enumerate(zip(static, x.type.shape)):
        if s is not None and t is not None and s != t:
            raise GraphShapeError(f"conv2d: {what} {shape} contradicts {x} of type {x.type} on axis {axis}"
                                  + where(x))
    return specify_shape(x, static)


def _spatial(shape, what):
    """The last two entries of a shape (ints or symbolic scalars), as an int64 vector."""
    from ..basic import make_vector
    from ..math import cast

    if isinstance(shape, (list, tuple)):
        if len(shape) < 2:
            raise GraphShapeError(f"conv2d: {what} needs at least (rows, columns), got {shape!r}")
        return make_vector(*[cast(as_tensor_variable(s), "int64") for s in shape[-2:]], dtype="int64")
    shape = as_tensor_variable(shape)
    return shape[-2:]


def _as_shape_vector(shape, op):
    from ..math import cast

    if isinstance(shape, (list, tuple)):
        return _spatial(shape, "shape")
    shape = as_tensor_variable(shape)
    if shape.ndim != 1 or shape.dtype not in INT_DTYPES or shape.type.shape[0] not in (2, None):
        raise GraphTypeError(f"{op}: the spatial shape must be an int vector of length 2, got {shape.type}"
                             + where(shape))
    return cast(shape, "int64")


def _static_entries(shape):
    if isinstance(shape, Constant):
        return tuple(int(v) for v in shape.data)
    node = shape.owner
    if node is not None and hasattr(node.op, "static_entries"):
        return tuple(node.op.static_entries(node))
    return (None, None)


def _hw(v):
    from ..basic import make_vector
    from ..shape import shape_i

    return make_vector(shape_i(v, 2), shape_i(v, 3), dtype="int64")


def _check_out_grad(op, x_shape, w_shape, gy_shape, runtime, node_or_var):
    """The output gradient has the batch, channels and size the forward conv would give."""
    oh, ow = op.static_out_size(x_shape[2], x_shape[3], w_shape[2], w_shape[3])
    want = (x_shape[0], w_shape[0], oh, ow)
    if any(a is not None and b is not None and a != b for a, b in zip(want, gy_shape)):
        err = InputShapeError if runtime else GraphShapeError
        var = node_or_var.outputs[0] if runtime else node_or_var
        raise err(f"{type(op).__name__}: the output gradient of shape {_fmt(gy_shape)} does not fit an input "
                  f"of shape {_fmt(x_shape)} and filters of shape {_fmt(w_shape)}, which give "
                  f"{_fmt(want)}" + where(var))


def _float_dtype(a, b):
    dtype = upcast(a.dtype, b.dtype)
    return "float64" if dtype in DISCRETE_DTYPES else dtype


def _fmt(shape):
    return "(" + ", ".join("?" if s is None else str(int(s)) for s in shape) + ")"


def _sum_terms(terms):
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]

