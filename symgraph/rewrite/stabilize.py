"""stabilize: rewrite formulas that overflow or lose precision into stable equivalents.

log1p/expm1, softplus forms of log(sigmoid), logsumexp, log-softmax written as
``log(exp(z) / s)``, and the cancellation that keeps its gradient finite.  Each
rule gives the same value where the naive formula is accurate (the tests check
it with sympy) and a finite, right one where it over- or underflows.
"""

from ..scalar import ops as scal
from ..tensor.elemwise import DimShuffle, elemwise_op
from ..tensor.reduction import CAReduce
from .pattern import Pat
from .rules import RuleTable
from .utils import (
    broadcast_like,
    cancelled_product,
    clients,
    elemwise_of,
    fill_value,
    is_constant_equal,
    known_positive,
)

stabilize = RuleTable("stabilize")
register = stabilize.register


def _one_plus(v):
    """``x`` if ``v`` is ``1 + x`` (either order), else None."""
    if not elemwise_of(v, scal.add) or len(v.owner.inputs) != 2:
        return None
    a, b = v.owner.inputs
    if is_constant_equal(a, 1):
        return b
    if is_constant_equal(b, 1):
        return a
    return None


@register(Pat(scal.log, Pat(scal.add, name="s")), name="log1p_from_log_one_plus")
def log1p_from_log_one_plus(node, s):
    from ..tensor.math import log1p

    x = _one_plus(s)
    return None if x is None else broadcast_like(log1p(x), node.outputs[0])


@register(Pat(scal.log, Pat(scal.sub, Pat(where=lambda v: is_constant_equal(v, 1)), Pat(name="x"))),
          name="log1p_from_log_one_minus")
def log1p_from_log_one_minus(node, x):
    from ..tensor.math import log1p, neg

    if elemwise_of(x, scal.sigmoid):
        return None  # log(1 - sigmoid(x)) has its own rule
    return broadcast_like(log1p(neg(x)), node.outputs[0])


@register(Pat(scal.sub, Pat(scal.exp, Pat(name="x")), Pat(where=lambda v: is_constant_equal(v, 1))),
          name="expm1_from_exp_minus_one")
def expm1_from_exp_minus_one(node, x):
    from ..tensor.math import expm1

    return broadcast_like(expm1(x), node.outputs[0])


@register(Pat(scal.log, Pat(scal.sigmoid, Pat(name="x"))), name="log_sigmoid_to_softplus")
def log_sigmoid_to_softplus(node, x):
    from ..tensor.math import neg, softplus

    return neg(softplus(neg(x)))


@register(Pat(scal.log, Pat(scal.sub, Pat(where=lambda v: is_constant_equal(v, 1)),
                            Pat(scal.sigmoid, Pat(name="x")))), name="log_one_minus_sigmoid")
def log_one_minus_sigmoid(node, x):
    from ..tensor.math import neg, softplus

    return broadcast_like(neg(softplus(x)), node.outputs[0])


@register(Pat(scal.sub, Pat(where=lambda v: is_constant_equal(v, 1)), Pat(scal.sigmoid, Pat(name="x"))),
          name="one_minus_sigmoid")
def one_minus_sigmoid(node, x, fgraph):
    from ..tensor.math import neg, sigmoid

    # Leave it for log_one_minus_sigmoid when a log consumes it.
    for client, _ in clients(fgraph, node.outputs[0]):
        if client != "output" and elemwise_of(client.outputs[0], scal.log):
            return None
    return broadcast_like(sigmoid(neg(x)), node.outputs[0])


@register(Pat(scal.log, Pat(CAReduce, Pat(scal.exp, Pat(name="x")), name="s")), name="logsumexp")
def logsumexp_from_log_sum_exp(node, x, s):
    from ..tensor.reduction import logsumexp

    op = s.owner.op
    if op.scalar_op != scal.add or _shifted_by_max(x, op.axis):
        return None
    return logsumexp(x, axis=op.axis)


def _shifted_by_max(x, axes):
    """Whether ``x`` is ``y - max(y, axes)``: exp(x) is then at most 1 and cannot overflow.

    The max may be wrapped as ``logsumexp`` wraps it (keepdims, zero_grad, and
    0 where it is infinite, where nothing finite can overflow either), so the
    rule does not wrap an expanded logsumexp in a second one: that computed the
    max twice (issue 11).
    """
    if not elemwise_of(x, scal.sub):
        return False
    y, m = x.owner.inputs
    while m.owner is not None:
        if isinstance(m.owner.op, DimShuffle) or type(m.owner.op).__name__ in ("ZeroGrad", "DisconnectedGrad"):
            m = m.owner.inputs[0]
        elif _infinity_guarded(m) is not None:
            m = _infinity_guarded(m)
        else:
            break
    node = m.owner
    return (node is not None and isinstance(node.op, CAReduce) and node.op.label == "max"
            and node.inputs[0] is y and set(axes) <= set(node.op.axis))


def _infinity_guarded(v):
    """``a`` if ``v`` is ``switch(isinf(a), 0, a)``, else None."""
    if not elemwise_of(v, scal.switch):
        return None
    cond, zero, a = v.owner.inputs
    if elemwise_of(cond, scal.isinf) and cond.owner.inputs[0] is a and fill_value(zero) == 0:
        return a
    return None


@register(Pat(scal.sqrt, Pat(scal.sqr, Pat(name="x"))), name="sqrt_of_square")
def sqrt_of_square(node, x):
    from ..tensor.math import abs

    return abs(x)


@register(Pat(scal.sqrt, Pat(scal.pow_, Pat(name="x"), Pat(where=lambda v: is_constant_equal(v, 2)))),
          name="sqrt_of_pow2")
def sqrt_of_pow2(node, x):
    from ..tensor.math import abs

    return broadcast_like(abs(x), node.outputs[0])


@register(Pat(scal.log, Pat(scal.exp, Pat(name="x"))), name="log_of_exp")
def log_of_exp(node, x):
    return x


@register(Pat(scal.log, Pat(scal.true_div, Pat(scal.exp, Pat(name="z")), Pat(name="s"))),
          name="log_softmax_from_log_div")
def log_softmax_from_log_div(node, z, s, fgraph):
    # log(exp(z) / s) = z - log(s): log(softmax) without the 0 an underflowed exp gives.
    from ..tensor.math import log

    return broadcast_like(z - _log_through_broadcast(s, log), node.outputs[0], fgraph)


def _log_through_broadcast(s, log):
    """``log(s)``, taken before a DimShuffle that only adds axes, so log(sum(exp)) is seen."""
    node = s.owner
    if node is not None and isinstance(node.op, DimShuffle) and not node.op.drop \
            and node.op.shuffle == tuple(sorted(node.op.shuffle)):
        return log(node.inputs[0]).dimshuffle(*node.op.new_order)
    return log(s)


@register(Pat(scal.mul), name="distribute_mul_into_cancelling_sum")
def distribute_mul_into_cancelling_sum(node, fgraph):
    # (a / e + b) * e -> a + b * e for e never 0 by construction: the gradient of
    # log(softmax) has this form, and a / e is inf where e underflowed.
    out = node.outputs[0]
    for k, total in enumerate(node.inputs):
        if not elemwise_of(total, scal.add) or total.dtype != out.dtype:
            continue
        others = node.inputs[:k] + node.inputs[k + 1:]
        if not any(known_positive(f) for f in others):
            continue
        terms = [elemwise_op(scal.mul)(t, *others) for t in total.owner.inputs]
        simplified = [cancelled_product(t, fgraph) for t in terms]
        if all(t is None for t in simplified):
            continue
        new_terms = [t if s is None else s for t, s in zip(terms, simplified)]
        return broadcast_like(elemwise_op(scal.add)(*new_terms), out, fgraph)
    return None
