"""Classification losses: categorical and binary cross-entropy, one-hot coding, and the
fused, stable ``crossentropy_softmax`` that the stabilize pass puts in place of
``categorical_crossentropy(softmax(x), y)``.

Class axes are the last axis; any leading axes are batch axes.  Integer
targets are class indices (one rank below the distribution), float targets
are one-hot or probability rows (same rank), as in Theano.
"""

import numpy as np

from ...errors import (
    GraphShapeError,
    GraphTypeError,
    InputShapeError,
    runtime_error_class,
    where,
)
from ...graph.basic import Apply
from ...graph.op import Op
from ..type import (
    DISCRETE_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    TensorType,
    normalize_dtype,
    upcast,
)
from ..variable import as_tensor_variable
from .softmax import as_float

__all__ = [
    "CrossentropyCategorical1Hot", "CrossentropyCategorical1HotGrad", "CrossentropySoftmax",
    "binary_crossentropy", "categorical_crossentropy", "crossentropy_categorical_1hot",
    "crossentropy_softmax", "crossentropy_softmax_grad", "one_hot", "sigmoid_binary_crossentropy",
    "to_one_hot",
]

ClassIndexError = runtime_error_class(IndexError)


def categorical_crossentropy(coding_dist, true_dist):
    """-sum(true_dist * log(coding_dist)) over the last axis, one value per row.

    ``true_dist`` is either integer class indices (one rank below
    ``coding_dist``), giving ``-log(coding_dist[..., true_dist])``, or one-hot /
    probability rows of ``coding_dist``'s shape.
    """
    from ..math import log
    from ..reduction import sum as tsum

    coding_dist = as_float(coding_dist)
    true_dist = as_tensor_variable(true_dist)
    if true_dist.ndim == coding_dist.ndim - 1 and true_dist.dtype in INT_DTYPES:
        return crossentropy_categorical_1hot(coding_dist, true_dist)
    if true_dist.ndim == coding_dist.ndim and coding_dist.ndim >= 1:
        return -tsum(true_dist * log(coding_dist), axis=-1)
    raise GraphTypeError(
        f"categorical_crossentropy: true_dist must be integer class indices of ndim "
        f"{coding_dist.ndim - 1} or distributions of ndim {coding_dist.ndim} like coding_dist "
        f"({coding_dist.type}); got {true_dist} of type {true_dist.type}" + where(true_dist)
    )


def crossentropy_categorical_1hot(coding_dist, true_one_of_n):
    """-log(coding_dist[..., true_one_of_n]) for integer class indices."""
    return CrossentropyCategorical1Hot()(coding_dist, true_one_of_n)


def crossentropy_softmax(logits, targets):
    """categorical_crossentropy(softmax(logits), targets), computed from the logits.

    Finite for any finite logits; its gradient is ``softmax(logits) - targets``
    (one-hot for integer targets) times the incoming gradient.
    """
    return CrossentropySoftmax()(as_float(logits), targets)


def binary_crossentropy(output, target):
    """-(target * log(output) + (1 - target) * log(1 - output)), elementwise."""
    from ..math import log

    output = as_float(output)
    return -(target * log(output) + (1 - target) * log(1 - output))


def sigmoid_binary_crossentropy(logits, target):
    """binary_crossentropy(sigmoid(logits), target) from the logits: softplus(x) - x * target."""
    from ..math import softplus

    logits = as_float(logits)
    return softplus(logits) - logits * target


def one_hot(indices, n_classes, dtype=None):
    """Rows of an identity: ``out[..., k] = (indices[...] == k)``, of dtype floatX by default."""
    from ..creation import arange
    from ..math import cast, eq

    indices = as_tensor_variable(indices)
    if indices.dtype not in INT_DTYPES:
        raise GraphTypeError(f"one_hot: indices must be integers, got {indices} of type {indices.type}"
                             + where(indices))
    n_classes = as_tensor_variable(n_classes)
    if n_classes.ndim != 0 or n_classes.dtype not in INT_DTYPES:
        raise GraphTypeError(f"one_hot: n_classes must be an integer scalar, got {n_classes.type}"
                             + where(indices))
    return cast(eq(indices.dimshuffle(*range(indices.ndim), "x"), arange(n_classes)),
                normalize_dtype(dtype))


to_one_hot = one_hot


# ---- Ops ------------------------------------------------------------------------------------

class _ClassTargetsOp(Op):
    """Shared checks: a float distribution (..., K) and targets, integer (...) or float (..., K)."""

    __props__ = ()
    allow_dense = False

    def check(self, dist, targets):
        name = type(self).__name__
        dist = as_tensor_variable(dist)
        targets = as_tensor_variable(targets)
        if dist.dtype not in FLOAT_DTYPES or dist.ndim < 1:
            raise GraphTypeError(f"{name}: expected a float tensor with a class axis, got {dist} of "
                                 f"type {dist.type}" + where(dist))
        dense = targets.ndim == dist.ndim and self.allow_dense
        if not dense and (targets.ndim != dist.ndim - 1 or targets.dtype not in INT_DTYPES):
            want = f"integer class indices of ndim {dist.ndim - 1}"
            if self.allow_dense:
                want += f" or distributions of ndim {dist.ndim}"
            raise GraphTypeError(f"{name}: targets must be {want} (the input is {dist.type}); got "
                                 f"{targets} of type {targets.type}" + where(targets))
        rows = targets.type.shape if dense else targets.type.shape + (None,)
        for a, (d, t) in enumerate(zip(dist.type.shape, rows)):
            if d is not None and t is not None and d != t:
                raise GraphShapeError(f"{name}: targets of type {targets.type} do not fit the input "
                                      f"of type {dist.type} (axis {a})" + where(targets))
        return dist, targets, dense

    def row_shape(self, dist, targets):
        return tuple(d if d is not None else t
                     for d, t in zip(dist.type.shape[:-1], targets.type.shape[:dist.ndim - 1]))

    def check_runtime(self, node, dist, targets):
        dense = targets.ndim == dist.ndim
        want = dist.shape if dense else dist.shape[:-1]
        if targets.shape != want:
            raise InputShapeError(f"{self}: targets of shape {targets.shape} do not fit the input of "
                                  f"shape {dist.shape}" + where(node.outputs[0]))
        if not dense and targets.size:
            k = dist.shape[-1]
            bad = (targets < 0) | (targets >= k)
            if bad.any():
                raise ClassIndexError(f"{self}: class index {int(targets[bad][0])} is out of range for "
                                      f"{k} classes" + where(node.outputs[0]))


class CrossentropyCategorical1Hot(_ClassTargetsOp):
    """-log(p[..., y]): cross-entropy of a distribution ``p`` against integer classes ``y``."""

    def make_node(self, coding_dist, true_one_of_n):
        p, y, _ = self.check(coding_dist, true_one_of_n)
        return Apply(self, [p, y], [TensorType(p.dtype, self.row_shape(p, y))()])

    def perform(self, node, inputs, output_storage):
        p, y = inputs
        self.check_runtime(node, p, y)
        picked = np.take_along_axis(p, y[..., None].astype(np.intp), axis=-1)[..., 0]
        output_storage[0][0] = np.asarray(-np.log(picked), dtype=node.outputs[0].type.numpy_dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0][:-1]]

    def L_op(self, inputs, outputs, output_grads):
        p, y = inputs
        return [CrossentropyCategorical1HotGrad()(output_grads[0], p, y), _zero_grad(y)]

    def R_op(self, inputs, eval_points):
        from ..math import ones_like
        from ..reduction import sum as tsum

        p, y = inputs
        if eval_points[0] is None:
            return [None]
        jac_rows = CrossentropyCategorical1HotGrad()(ones_like(self(p, y)), p, y)
        return [tsum(jac_rows * eval_points[0], axis=-1)]


class CrossentropyCategorical1HotGrad(_ClassTargetsOp):
    """The gradient of CrossentropyCategorical1Hot: ``-g / p[..., y]`` at class ``y``, 0 elsewhere."""

    def make_node(self, g, coding_dist, true_one_of_n):
        p, y, _ = self.check(coding_dist, true_one_of_n)
        g = as_tensor_variable(g)
        if g.ndim != y.ndim or g.dtype not in FLOAT_DTYPES:
            raise GraphTypeError(f"{self}: the output gradient must be a float tensor of ndim {y.ndim}, "
                                 f"got {g.type}" + where(p))
        return Apply(self, [g, p, y], [TensorType(upcast(g.dtype, p.dtype), p.type.shape)()])

    def perform(self, node, inputs, output_storage):
        g, p, y = inputs
        self.check_runtime(node, p, y)
        if g.shape != y.shape:
            raise InputShapeError(f"{self}: the output gradient has shape {g.shape}, the loss has shape "
                                  f"{y.shape}" + where(node.outputs[0]))
        idx = y[..., None].astype(np.intp)
        picked = np.take_along_axis(p, idx, axis=-1)
        out = np.zeros(p.shape, dtype=node.outputs[0].type.numpy_dtype)
        np.put_along_axis(out, idx, -g[..., None] / picked, axis=-1)
        output_storage[0][0] = out

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[1]]

    def _pieces(self, p, y):
        from ..reduction import sum as tsum
        from ..shape import shape_i

        oh = one_hot(y, shape_i(p, p.ndim - 1), dtype=p.dtype)
        return oh, tsum(p * oh, axis=-1)

    def L_op(self, inputs, outputs, output_grads):
        from ..reduction import sum as tsum

        g, p, y = inputs
        (gg,) = output_grads
        # out[..., y] = -g / p_y is the only entry that is not 0.
        oh, p_y = self._pieces(p, y)
        gg_y = tsum(gg * oh, axis=-1)
        g_g = -gg_y / p_y
        g_p = oh * (gg_y * g / (p_y * p_y)).dimshuffle(*range(g.ndim), "x")
        return [g_g, g_p, _zero_grad(y)]

    def R_op(self, inputs, eval_points):
        from ..reduction import sum as tsum

        g, p, y = inputs
        e_g, e_p = eval_points[:2]
        terms = []
        if e_g is not None:
            terms.append(self(e_g, p, y))
        if e_p is not None:
            oh, p_y = self._pieces(p, y)
            terms.append(oh * (g * tsum(e_p * oh, axis=-1) / (p_y * p_y)).dimshuffle(*range(g.ndim), "x"))
        if not terms:
            return [None]
        return [terms[0] if len(terms) == 1 else terms[0] + terms[1]]


class CrossentropySoftmax(_ClassTargetsOp):
    """categorical_crossentropy(softmax(x), t) from the logits ``x``, per row.

    ``t`` holds integer classes or (one-hot, probability) rows.  The loss is
    ``logsumexp(x) - x[y]`` (or ``sum(t) * logsumexp(x) - sum(t * x)``), so it
    is finite for any finite logits, and its gradient ``softmax(x) * sum(t) - t``
    is bounded.
    """

    allow_dense = True

    def make_node(self, logits, targets):
        x, t, dense = self.check(logits, targets)
        dtype = upcast(x.dtype, t.dtype) if dense and t.dtype in FLOAT_DTYPES else x.dtype
        return Apply(self, [x, t], [TensorType(dtype, self.row_shape(x, t))()])

    def perform(self, node, inputs, output_storage):
        x, t = inputs
        self.check_runtime(node, x, t)
        # the log-sum-exp in the result dtype (float64 when dense float64 targets meet float32 logits)
        x = x.astype(node.outputs[0].type.numpy_dtype, copy=False)
        m = x.max(axis=-1, keepdims=True) if x.shape[-1] else np.zeros(x.shape[:-1] + (1,), x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        shifted = x - m
        log_z = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        if t.ndim == x.ndim:
            # A class with target 0 contributes 0, also where its logit is -inf (masked out).
            loss = np.where(t != 0, t * (log_z - shifted), 0).sum(axis=-1)
        else:
            loss = log_z[..., 0] - np.take_along_axis(shifted, t[..., None].astype(np.intp), axis=-1)[..., 0]
        output_storage[0][0] = np.asarray(loss, dtype=node.outputs[0].type.numpy_dtype)

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0][:-1]]

    def L_op(self, inputs, outputs, output_grads):
        from .softmax import log_softmax

        x, t = inputs
        (g,) = output_grads
        g_x = crossentropy_softmax_grad(g, x, t)
        if t.ndim == x.ndim and t.dtype not in DISCRETE_DTYPES:
            return [g_x, -log_softmax(x) * g.dimshuffle(*range(g.ndim), "x")]
        return [g_x, _zero_grad(t)]

    def R_op(self, inputs, eval_points):
        from ..math import ones_like
        from ..reduction import sum as tsum
        from .softmax import log_softmax

        x, t = inputs
        e_x, e_t = eval_points
        terms = []
        if e_x is not None:
            rows = crossentropy_softmax_grad(ones_like(self(x, t)), x, t)
            terms.append(tsum(rows * e_x, axis=-1))
        if e_t is not None and t.ndim == x.ndim and t.dtype not in DISCRETE_DTYPES:
            terms.append(-tsum(log_softmax(x) * e_t, axis=-1))
        if not terms:
            return [None]
        return [terms[0] if len(terms) == 1 else terms[0] + terms[1]]


def crossentropy_softmax_grad(g, logits, targets):
    """g * (softmax(logits) * sum(targets) - targets): the gradient of crossentropy_softmax."""
    from ..math import cast
    from ..reduction import sum as tsum
    from ..shape import shape_i
    from .softmax import softmax

    sm = softmax(logits)
    g = g.dimshuffle(*range(g.ndim), "x")
    if targets.ndim == logits.ndim:
        t = targets if targets.dtype in FLOAT_DTYPES else cast(targets, logits.dtype)
        return g * (sm * tsum(t, axis=-1, keepdims=True) - t)
    return g * (sm - one_hot(targets, shape_i(logits, logits.ndim - 1), dtype=logits.dtype))


def _zero_grad(x):
    """The gradient of a discrete input: zeros, as Elemwise gives (it never flows further)."""
    from ...config import config
    from ..math import zeros_like

    return zeros_like(x, dtype=config.floatX)
