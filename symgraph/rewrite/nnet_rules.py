"""Stabilize rules for softmax and cross-entropy (filed on the ``stabilize`` table).

A user writes ``categorical_crossentropy(softmax(x), y)``; for large logits
softmax rounds to exact 0 and 1, so the log is -inf and its gradient
``1 / softmax`` is inf.  These rules compute the same values from the logits:
the forward pass as ``log_softmax`` or the fused ``CrossentropySoftmax``, and
the gradient graphs ``grad`` already built as ``softmax - onehot`` and
``LogSoftmaxGrad``, which never divide by a probability.
"""

from ..scalar import ops as scal
from ..tensor.nnet.losses import (
    CrossentropyCategorical1Hot,
    CrossentropyCategorical1HotGrad,
)
from ..tensor.nnet.softmax import LogSoftmax, Softmax, SoftmaxGrad
from ..tensor.reduction import CAReduce
from .pattern import Pat
from .stabilize import register
from .utils import broadcast_like


def _last_axis(sm):
    return sm.owner.op.axis == sm.ndim - 1


@register(Pat(scal.log, Pat(Softmax, Pat(name="x"), name="sm")), name="log_softmax_from_log_of_softmax")
def log_softmax_from_log_of_softmax(node, x, sm):
    return broadcast_like(LogSoftmax(sm.owner.op.axis)(x), node.outputs[0])


@register(Pat(CrossentropyCategorical1Hot, Pat(Softmax, Pat(name="x"), name="sm"), Pat(name="y")),
          name="crossentropy_softmax_from_1hot")
def crossentropy_softmax_from_1hot(node, x, sm, y):
    from ..tensor.nnet.losses import crossentropy_softmax

    if not _last_axis(sm):
        return None
    return broadcast_like(crossentropy_softmax(x, y), node.outputs[0])


@register(Pat(CAReduce, Pat(scal.mul, name="prod")), name="crossentropy_softmax_from_dense")
def crossentropy_softmax_from_dense(node, prod):
    """sum(t * log_softmax(x), axis=-1) -> -crossentropy_softmax(x, t)."""
    from ..tensor.math import neg
    from ..tensor.nnet.losses import crossentropy_softmax

    op = node.op
    if op.scalar_op != scal.add or op.axis != (prod.ndim - 1,) or len(prod.owner.inputs) != 2:
        return None
    for lsm, t in (prod.owner.inputs, reversed(prod.owner.inputs)):
        x = _logits_of_log_softmax(lsm)
        if x is None or t.ndim != x.ndim:
            continue
        # The fused op takes targets of the logits' shape, not broadcast rows.
        if any(ts == 1 and xs != 1 for ts, xs in zip(t.type.shape, x.type.shape)):
            continue
        return broadcast_like(neg(crossentropy_softmax(x, t)), node.outputs[0])
    return None


def _logits_of_log_softmax(v):
    node = v.owner
    if node is None:
        return None
    if isinstance(node.op, LogSoftmax) and node.op.axis == v.ndim - 1:
        return node.inputs[0]
    if getattr(node.op, "scalar_op", None) == scal.log:
        inner = node.inputs[0]
        if inner.owner is not None and isinstance(inner.owner.op, Softmax) and _last_axis(inner):
            return inner.owner.inputs[0]
    return None


@register(Pat(SoftmaxGrad, Pat(CrossentropyCategorical1HotGrad, Pat(name="g"),
                               Pat(Softmax, Pat(name="x"), name="sm"), Pat(name="y")),
              Pat(name="sm")), name="crossentropy_softmax_grad_from_1hot_grad")
def crossentropy_softmax_grad_from_1hot_grad(node, g, x, sm, y):
    from ..tensor.nnet.losses import crossentropy_softmax_grad

    if not _last_axis(sm):
        return None
    return broadcast_like(crossentropy_softmax_grad(g, x, y), node.outputs[0])


@register(Pat(SoftmaxGrad, Pat(scal.true_div, Pat(name="a"), Pat(Softmax, Pat(name="x"), name="sm")),
              Pat(name="sm")), name="log_softmax_grad_from_softmax_grad_of_ratio")
def log_softmax_grad_from_softmax_grad_of_ratio(node, a, x, sm):
    """SoftmaxGrad(a / sm, sm) = a - sm * sum(a): the gradient through log(softmax(x))."""
    from ..tensor.nnet.softmax import LogSoftmaxGrad

    axis = sm.owner.op.axis
    if a.ndim > sm.ndim:
        return None
    a = broadcast_like(a, node.outputs[0])
    return broadcast_like(LogSoftmaxGrad(axis)(a, LogSoftmax(axis)(x)), node.outputs[0])
