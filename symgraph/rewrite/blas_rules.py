"""blas: ``b * z + a * dot(x, y)`` becomes one Gemm (Gemv, Ger for the vector forms).

These run with ``specialize``.  A product is folded only when nothing else
uses it (else it would be computed twice), and only when the added term does
not broadcast the product: BLAS writes the product's shape.
"""

from ..scalar import ops as scal
from ..tensor.blas import Dot
from ..tensor.blas_gemm import gemm, gemv, ger
from ..tensor.elemwise import DimShuffle, elemwise_op
from ..tensor.math import cast, neg
from ..tensor.type import FLOAT_DTYPES
from ..tensor.variable import constant
from .pattern import Pat
from .rules import RuleTable
from .utils import elemwise_of, n_clients

blas = RuleTable("blas")
register = blas.register


@register(Pat((scal.add, scal.sub)), name="outer_to_ger")
def outer_to_ger(node, fgraph):
    found = _split(node, fgraph, _is_outer)
    if found is None:
        return None
    a, (x, y), z, b = found
    if b is not None:
        z = z * b  # Ger has no beta
    return ger(z, a, _vector_of(x), _vector_of(y))


@register(Pat((scal.add, scal.sub)), name="dot_to_gemm")
def dot_to_gemm(node, fgraph):
    found = _split(node, fgraph, lambda x, y: x.ndim == 2 and y.ndim == 2 and not _is_outer(x, y))
    if found is None:
        return None
    a, (x, y), z, b = found
    return gemm(z, a, x, y, _one(z) if b is None else b)


@register(Pat((scal.add, scal.sub)), name="dot_to_gemv")
def dot_to_gemv(node, fgraph):
    found = _split(node, fgraph, lambda x, y: x.ndim + y.ndim == 3)
    if found is None:
        return None
    a, (x, y), z, b = found
    b = _one(z) if b is None else b
    if x.ndim == 2:
        return gemv(z, a, x, y, b)
    return gemv(z, a, y.T, x, b)  # v . M is M^T . v


def _split(node, fgraph, kind):
    """``(a, (x, y), z, b)`` with ``node == b * z + a * dot(x, y)`` (b None for 1), else None."""
    out = node.outputs[0]
    if out.dtype not in FLOAT_DTYPES:
        return None
    terms = _terms(node)
    for k, (sign, coefs, base) in enumerate(terms):
        dot = base.owner
        if dot is None or not isinstance(dot.op, Dot) or base.dtype != out.dtype:
            continue
        if any(i.dtype != out.dtype for i in dot.inputs):
            continue  # BLAS multiplies operands of one dtype
        if not kind(*dot.inputs) or any(n_clients(fgraph, v) > 1 for v in _chain(node, k, base)):
            continue
        if any(d == 1 and o != 1 for d, o in zip(base.type.shape, out.type.shape)):
            continue  # the added term broadcasts the product
        rest = terms[:k] + terms[k + 1:]
        if not rest:
            return None
        z, b = _added_term(rest, out)
        return _coefficient(sign, coefs, out.dtype), tuple(dot.inputs), z, b
    return None


def _chain(node, k, base):
    """The variables between ``node``'s k-th term and its product, which the fold removes."""
    var = node.inputs[k]
    chain = []
    while var is not base:
        chain.append(var)
        var = next(i for i in var.owner.inputs if i is base or not _is_scalar(i))
    return chain + [base]


def _terms(node):
    """``[(sign, scalar factors, base)]``: the node's terms as ``sign * prod(factors) * base``."""
    if elemwise_of(node.outputs[0], scal.sub):
        first, second = node.inputs
        (s1, c1, b1), (s2, c2, b2) = _scaled(first), _scaled(second)
        return [(s1, c1, b1), (-s2, c2, b2)]
    return [_scaled(t) for t in node.inputs]


def _scaled(term):
    sign = 1
    while elemwise_of(term, scal.neg):
        sign, term = -sign, term.owner.inputs[0]
    if elemwise_of(term, scal.mul):
        factors = term.owner.inputs
        bases = [f for f in factors if not _is_scalar(f)]
        if len(bases) == 1:
            return sign, [f for f in factors if f is not bases[0]], bases[0]
    return sign, [], term


def _is_scalar(v):
    return all(s == 1 for s in v.type.shape)


def _as_scalar(v, dtype):
    if v.ndim:
        v = v.dimshuffle()  # drops every (length-1) axis
    return cast(v, dtype)


def _coefficient(sign, coefs, dtype):
    value = constant(float(sign), dtype=dtype)
    if coefs:
        scalars = [_as_scalar(c, dtype) for c in coefs]
        value = scalars[0] if len(scalars) == 1 else elemwise_op(scal.mul)(*scalars)
        if sign < 0:
            value = neg(value)
    return value


def _added_term(rest, out):
    """``(z, b)`` with ``b * z`` the sum of ``rest`` (b None when it is 1)."""
    if len(rest) == 1:
        sign, coefs, base = rest[0]
        if base.ndim == out.ndim:
            if not coefs and sign > 0:
                return cast(base, out.dtype), None
            return cast(base, out.dtype), _coefficient(sign, coefs, out.dtype)
    parts = []
    for sign, coefs, base in rest:
        term = elemwise_op(scal.mul)(base, *coefs) if coefs else base
        parts.append(neg(term) if sign < 0 else term)
    total = parts[0] if len(parts) == 1 else elemwise_op(scal.add)(*parts)
    return cast(total, out.dtype), None


def _one(z):
    return constant(1.0, dtype=z.dtype)


def _is_outer(x, y):
    return (x.ndim == 2 and y.ndim == 2 and _column_of_vector(x) and _row_of_vector(y))


def _column_of_vector(x):
    node = x.owner
    return node is not None and isinstance(node.op, DimShuffle) and node.op.new_order == (0, "x")


def _row_of_vector(y):
    node = y.owner
    return node is not None and isinstance(node.op, DimShuffle) and node.op.new_order == ("x", 0)


def _vector_of(v):
    return v.owner.inputs[0]
