"""stabilize: rewrite formulas that overflow or lose precision into stable equivalents."""

from ..scalar import ops as scal
from ..tensor.reduction import CAReduce
from .pattern import Pat
from .rules import RuleTable
from .utils import broadcast_like, elemwise_of, is_constant_equal

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
    for client, _ in fgraph.clients.get(node.outputs[0], ()):
        if client != "output" and elemwise_of(client.outputs[0], scal.log):
            return None
    return broadcast_like(sigmoid(neg(x)), node.outputs[0])


@register(Pat(scal.log, Pat(CAReduce, Pat(scal.exp, Pat(name="x")), name="s")), name="logsumexp")
def logsumexp_from_log_sum_exp(node, x, s):
    from ..tensor.reduction import logsumexp

    op = s.owner.op
    if op.scalar_op != scal.add:
        return None
    return logsumexp(x, axis=op.axis)


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
