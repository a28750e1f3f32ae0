"""softmax and log_softmax along any axis, with gradient Ops of their own.

Both are shifted by the maximum, so no logit overflows.  Their gradients are
Ops too (``SoftmaxGrad``, ``LogSoftmaxGrad``) written in terms of the
*outputs*, which are bounded: the gradient stays finite where the naive
``exp(x) / sum(exp(x))`` chain would give ``inf / inf``.  The gradient Ops'
own ``L_op`` is a composition of elementwise ops and sums, so every order of
derivative exists.
"""

import numbers

import numpy as np

from ...errors import GraphTypeError, InputShapeError, where
from ...graph.basic import Apply
from ...graph.op import Op
from ..type import FLOAT_DTYPES, TensorType, upcast
from ..variable import as_tensor_variable

__all__ = ["LogSoftmax", "LogSoftmaxGrad", "Softmax", "SoftmaxGrad", "log_softmax", "logsoftmax",
           "softmax"]


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, computed without overflow."""
    x = as_float(x)
    return Softmax(normalize_axis(axis, x, "softmax"))(x)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``: the log of ``softmax``, exact for large logits."""
    x = as_float(x)
    return LogSoftmax(normalize_axis(axis, x, "log_softmax"))(x)


logsoftmax = log_softmax


class _AxisOp(Op):
    """An Op over one axis of one float input of any rank (ndim >= 1)."""

    __props__ = ("axis",)
    nin = 1

    def __init__(self, axis):
        if not isinstance(axis, numbers.Integral) or axis < 0:
            raise GraphTypeError(f"{type(self).__name__}: axis must be a non-negative int, got {axis!r}")
        self.axis = int(axis)

    def __str__(self):
        return f"{type(self).__name__}{{axis={self.axis}}}"

    def make_node(self, *inputs):
        name = type(self).__name__
        if len(inputs) != self.nin:
            raise GraphTypeError(f"{name} takes {self.nin} inputs, got {len(inputs)}")
        inputs = [as_tensor_variable(i) for i in inputs]
        for i in inputs:
            if i.dtype not in FLOAT_DTYPES:
                raise GraphTypeError(f"{name}: expected a float tensor, got {i} of type {i.type}" + where(i))
            if i.ndim != inputs[0].ndim or not self.axis < i.ndim:
                raise GraphTypeError(
                    f"{name}: expected inputs of one rank greater than axis {self.axis}; got "
                    + ", ".join(str(j.type) for j in inputs) + where(i)
                )
        shape = _merged_shape(name, inputs)
        dtype = upcast(*[i.dtype for i in inputs])
        return Apply(self, inputs, [TensorType(dtype, shape)()])

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[-1]]

    def _sum(self, v):
        from ..reduction import sum as tsum

        return tsum(v, axis=self.axis, keepdims=True)


class Softmax(_AxisOp):
    """softmax along ``axis``."""

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        e = np.exp(x - _safe_max(x, self.axis))
        e /= e.sum(axis=self.axis, keepdims=True)
        output_storage[0][0] = e.astype(node.outputs[0].type.numpy_dtype, copy=False)

    def L_op(self, inputs, outputs, output_grads):
        return [SoftmaxGrad(self.axis)(output_grads[0], outputs[0])]

    def R_op(self, inputs, eval_points):
        if eval_points[0] is None:
            return [None]
        # The Jacobian diag(s) - s s^T is symmetric: J v is the same product as v^T J.
        return [SoftmaxGrad(self.axis)(eval_points[0], self(inputs[0]))]


class SoftmaxGrad(_AxisOp):
    """(dy - sum(dy * sm)) * sm: the gradient of softmax given its output ``sm``."""

    nin = 2

    def perform(self, node, inputs, output_storage):
        dy, sm = inputs
        _check_same_shape(node, dy, sm)
        dx = dy * sm
        dx -= sm * dx.sum(axis=self.axis, keepdims=True)
        output_storage[0][0] = dx.astype(node.outputs[0].type.numpy_dtype, copy=False)

    def L_op(self, inputs, outputs, output_grads):
        dy, sm = inputs
        (g,) = output_grads
        # out_i = sm_i dy_i - sm_i sum_j dy_j sm_j, bilinear in (dy, sm).
        g_dy = self(g, sm)
        g_sm = g * (dy - self._sum(dy * sm)) - dy * self._sum(g * sm)
        return [g_dy, g_sm]

    def R_op(self, inputs, eval_points):
        dy, sm = inputs
        e_dy, e_sm = eval_points
        terms = []
        if e_dy is not None:
            terms.append(self(e_dy, sm))
        if e_sm is not None:
            terms.append(e_sm * (dy - self._sum(dy * sm)) - sm * self._sum(dy * e_sm))
        return [_total(terms)]


class LogSoftmax(_AxisOp):
    """log_softmax along ``axis``."""

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        shifted = x - _safe_max(x, self.axis)
        out = shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        output_storage[0][0] = out.astype(node.outputs[0].type.numpy_dtype, copy=False)

    def L_op(self, inputs, outputs, output_grads):
        return [LogSoftmaxGrad(self.axis)(output_grads[0], outputs[0])]

    def R_op(self, inputs, eval_points):
        from ..math import exp

        (ev,) = eval_points
        if ev is None:
            return [None]
        return [ev - self._sum(exp(self(inputs[0])) * ev)]


class LogSoftmaxGrad(_AxisOp):
    """dy - exp(lsm) * sum(dy): the gradient of log_softmax given its output ``lsm``."""

    nin = 2

    def perform(self, node, inputs, output_storage):
        dy, lsm = inputs
        _check_same_shape(node, dy, lsm)
        # in the result dtype: a float32 operand of a float64 result is summed in float64
        dtype = node.outputs[0].type.numpy_dtype
        dy, lsm = dy.astype(dtype, copy=False), lsm.astype(dtype, copy=False)
        dx = dy - np.exp(lsm) * dy.sum(axis=self.axis, keepdims=True)
        output_storage[0][0] = dx.astype(node.outputs[0].type.numpy_dtype, copy=False)

    def L_op(self, inputs, outputs, output_grads):
        from ..math import exp

        dy, lsm = inputs
        (g,) = output_grads
        sm = exp(lsm)
        return [g - self._sum(g * sm), -g * sm * self._sum(dy)]

    def R_op(self, inputs, eval_points):
        from ..math import exp

        dy, lsm = inputs
        e_dy, e_lsm = eval_points
        sm = exp(lsm)
        terms = []
        if e_dy is not None:
            terms.append(e_dy - sm * self._sum(e_dy))
        if e_lsm is not None:
            terms.append(-sm * e_lsm * self._sum(dy))
        return [_total(terms)]


# ---- helpers ---------------------------------------------------------------------------------

def as_float(x):
    """``x`` as a float tensor; booleans and integers become float64, as NumPy's exp gives."""
    from ..math import cast

    x = as_tensor_variable(x)
    return x if x.dtype in FLOAT_DTYPES else cast(x, "float64")


def normalize_axis(axis, x, name):
    """``axis`` (negatives allowed) as a non-negative int for ``x``, or a clear error."""
    if not isinstance(axis, numbers.Integral) or not -x.ndim <= axis < x.ndim:
        raise GraphTypeError(
            f"{name}: axis {axis!r} is out of range for {x} of type {x.type} (ndim {x.ndim})" + where(x)
        )
    return int(axis) % x.ndim


def _merged_shape(name, inputs):
    shape = []
    for dims in zip(*[i.type.shape for i in inputs]):
        known = {d for d in dims if d is not None}
        if len(known) > 1:
            raise GraphTypeError(
                f"{name}: inputs must have one shape; got " + ", ".join(str(i.type) for i in inputs)
                + where(inputs[0])
            )
        shape.append(known.pop() if known else None)
    return tuple(shape)


def _check_same_shape(node, a, b):
    if a.shape != b.shape:
        raise InputShapeError(
            f"{node.op}: the output gradient has shape {a.shape} but the forward output has shape "
            f"{b.shape}; they must match" + where(node.outputs[0])
        )


def _safe_max(x, axis):
    """The max along ``axis``, with 0 where it is infinite (an all -inf slice stays -inf, not NaN)."""
    if x.shape[axis] == 0:
        return np.zeros((), dtype=x.dtype)
    m = x.max(axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)


def _total(terms):
    if not terms:
        return None
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out
