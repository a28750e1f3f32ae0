"""Symbolic differentiation.

``grad`` walks the graph backwards from a scalar cost, calling each node's
``Op.L_op``; ``Rop`` walks forwards calling ``Op.R_op``.  Both build ordinary
graphs from ordinary Ops, so their results can be differentiated again,
rewritten and compiled like anything else.
"""

import warnings

import numpy as np

from .errors import (
    DisconnectedInputError,
    GradientError,
    NullGradientError,
    SymgraphError,
    where,
)
from .graph.basic import Apply, Type, Variable
from .graph.op import Op
from .graph.sourceinfo import source_override
from .graph.traversal import toposort

__all__ = [
    "DisconnectedType", "GradientCheckError", "Lop", "NullType", "Rop", "consider_constant",
    "disconnected_grad", "disconnected_type", "grad", "grad_clip", "grad_not_implemented",
    "grad_scale", "grad_undefined", "hessian", "hessian_vector_product", "jacobian",
    "numeric_grad", "verify_grad", "verify_rop", "zero_grad",
]


# ---- special gradient values -------------------------------------------------------------

class DisconnectedType(Type):
    """The type of the gradient of an input that does not affect the output."""

    def filter(self, value, name=None, strict=False, allow_downcast=None):
        raise SymgraphError("a disconnected gradient has no value")

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))

    def __str__(self):
        return "DisconnectedType"


def disconnected_type():
    """A marker returned by ``L_op`` for an input the output does not depend on."""
    return Variable(DisconnectedType())


class NullType(Type):
    """The type of a gradient that is undefined or not implemented; carries why."""

    def __init__(self, why):
        self.why = why

    def filter(self, value, name=None, strict=False, allow_downcast=None):
        raise NullGradientError(self.why)

    def __eq__(self, other):
        return type(other) is type(self) and other.why == self.why

    def __hash__(self):
        return hash((type(self), self.why))

    def __str__(self):
        return f"NullType({self.why})"


def grad_not_implemented(op, index, x, comment=""):
    """The gradient of input ``index`` of ``op`` is not implemented."""
    why = f"the gradient of {op} with respect to its input {index} is not implemented"
    return Variable(NullType(why + (f" ({comment})" if comment else "")))


def grad_undefined(op, index, x, comment=""):
    """The gradient of input ``index`` of ``op`` is mathematically undefined."""
    why = f"the gradient of {op} with respect to its input {index} is undefined"
    return Variable(NullType(why + (f" ({comment})" if comment else "")))


def _is_disconnected(v):
    return v is None or isinstance(v.type, DisconnectedType)


def _is_null(v):
    return v is not None and isinstance(v.type, NullType)


def _discrete(v):
    from .tensor.type import DISCRETE_DTYPES

    return getattr(v.type, "dtype", None) in DISCRETE_DTYPES


# ---- reverse mode ------------------------------------------------------------------------

def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise", known_grads=None,
         return_disconnected="zero", null_gradients="raise"):
    """Gradient of the scalar ``cost`` with respect to ``wrt`` (a variable or a list).

    Parameters
    ----------
    consider_constant : list of Variable
        Variables through which no gradient flows.
    disconnected_inputs : {'raise', 'warn', 'ignore'}
        What to do when ``cost`` does not depend on an element of ``wrt``.
    known_grads : dict
        ``{variable: gradient}`` to start from (``cost`` may then be None).
    return_disconnected : {'zero', 'None', 'disconnected'}
        What a disconnected input's gradient is.
    null_gradients : {'raise', 'return'}
        What to do when a gradient is undefined or not implemented.
    """
    from .tensor import math as tm
    from .tensor.variable import as_tensor_variable

    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    for w in wrt_list:
        if not isinstance(w, Variable):
            raise GradientError(f"grad: wrt must be symbolic variables, got {w!r}")
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise SymgraphError(f"disconnected_inputs must be 'raise', 'warn' or 'ignore', got {disconnected_inputs!r}")
    if return_disconnected not in ("zero", "None", "disconnected"):
        raise SymgraphError("return_disconnected must be 'zero', 'None' or 'disconnected'")

    start = {}
    if cost is not None:
        if not isinstance(cost, Variable):
            cost = as_tensor_variable(cost)
        if cost.ndim != 0:
            raise GradientError(
                f"grad: the cost must be a scalar, got {cost} of type {cost.type}; "
                f"sum it, or use sg.gradient.jacobian / Lop" + where(cost)
            )
        if _discrete(cost):
            raise GradientError(f"grad: the cost {cost} has integer dtype {cost.type.dtype}" + where(cost))
        start[cost] = tm.ones_like(cost)
    for var, g in (known_grads or {}).items():
        g = g if isinstance(g, Variable) else as_tensor_variable(g)
        start[var] = _conform(g, var, "grad: the known gradient")
    if not start:
        raise GradientError("grad: need a cost or known_grads")

    results = _backprop(start, wrt_list, consider_constant or ())

    out = []
    for w in wrt_list:
        g = results.get(w)
        if _is_null(g):
            if null_gradients == "raise":
                raise NullGradientError(
                    f"grad with respect to {w}: {g.type.why}; pass null_gradients='return' to get "
                    f"a NullType variable instead" + _where_op(g)
                )
            out.append(g)
            continue
        if g is None:
            msg = (f"grad: the cost does not depend on {w} ({w.type}); pass "
                   f"disconnected_inputs='ignore' to get a zero gradient" + where(w))
            if disconnected_inputs == "raise":
                raise DisconnectedInputError(msg)
            if disconnected_inputs == "warn":
                warnings.warn(msg, stacklevel=2)
            if return_disconnected == "zero":
                out.append(tm.zeros_like(w, dtype=_float_dtype() if _discrete(w) else None))
            elif return_disconnected == "None":
                out.append(None)
            else:
                out.append(disconnected_type())
            continue
        if _discrete(w):
            g = tm.zeros_like(w, dtype=_float_dtype())
        out.append(g)
    return out[0] if single else out


def _where_op(null):
    info = getattr(null, "source", None)
    return f"\nThe operation was applied at:\n  {info}" if info is not None else ""


def _float_dtype():
    from .config import config

    return config.floatX


def _backprop(start, wrt, consider_constant):
    """Accumulated gradients of every variable between ``wrt`` and ``start``."""
    from .tensor import math as tm

    constants = set(consider_constant)
    # Only nodes on a path from wrt to the starting points matter.
    wrt_set = set(wrt)
    nodes = toposort(list(start), blockers=list(constants))
    connected = set(wrt_set)
    relevant = []
    for node in nodes:
        if any(i in connected and i not in constants for i in node.inputs):
            connected.update(node.outputs)
            relevant.append(node)
    contributions = {v: [g] for v, g in start.items()}

    def total(v):
        parts = contributions.get(v)
        if not parts:
            return None
        nulls = [p for p in parts if _is_null(p)]
        if nulls:
            return nulls[0]
        if len(parts) == 1:
            return parts[0]
        return tm.add(*parts)

    for node in reversed(relevant):
        out_grads = [total(o) for o in node.outputs]
        if all(g is None for g in out_grads):
            continue
        nulls = [g for g in out_grads if _is_null(g)]
        with source_override(node.source):
            if nulls:
                in_grads = [nulls[0]] * len(node.inputs)
            else:
                out_grads = [tm.zeros_like(o) if g is None else _match(g, o)
                             for g, o in zip(out_grads, node.outputs)]
                in_grads = node.op.L_op(list(node.inputs), list(node.outputs), out_grads)
            if len(in_grads) != len(node.inputs):
                raise GradientError(f"{node.op}.L_op returned {len(in_grads)} gradients for "
                                    f"{len(node.inputs)} inputs")
        for inp, g in zip(node.inputs, in_grads):
            if inp not in connected or inp in constants or _is_disconnected(g):
                continue
            if not _is_null(g):
                g = _check_grad_type(node, inp, g)
            contributions.setdefault(inp, []).append(g)
    return {w: total(w) for w in wrt}


def _match(g, var):
    from .tensor import math as tm

    if getattr(g.type, "dtype", None) != var.type.dtype and not _discrete(var):
        return tm.cast(g, var.type.dtype)
    return g


def _conform(g, var, what):
    """``g`` (a gradient or tangent given by the user) with the static shape of ``var``."""
    out = _with_static_shape(g, var)
    if out is None:
        raise GradientError(f"{what} for {var} ({var.type}) has type {g.type}" + where(g))
    return out


def _check_grad_type(node, inp, g, what="L_op returned a gradient", of="input"):
    """``g`` with the static shape of ``inp``; an Op that got it wrong is named."""
    out = _with_static_shape(g, inp)
    if out is None:
        raise GradientError(
            f"{node.op}.{what} of type {g.type} for {of} {inp} of type {inp.type}"
            + where(node.outputs[0])
        )
    return out


def _with_static_shape(g, var):
    """``g`` knowing what ``var``'s type knows of its shape, or None if they conflict."""
    from .tensor.shape import specify_shape

    shape, want = getattr(g.type, "shape", None), getattr(var.type, "shape", None)
    if shape is None or want is None or len(shape) != len(want) or any(
            a is not None and b is not None and a != b for a, b in zip(shape, want)):
        return None
    if any(a is None and b is not None for a, b in zip(shape, want)):
        # A length-1 axis must stay broadcastable, or the next L_op misses a sum.
        g = specify_shape(g, want)
    return g


def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """Vector-Jacobian product: ``eval_points`` (shaped like ``f``) times d f / d wrt."""
    fs = f if isinstance(f, (list, tuple)) else [f]
    evs = eval_points if isinstance(eval_points, (list, tuple)) else [eval_points]
    return grad(None, wrt, consider_constant=consider_constant, known_grads=dict(zip(fs, evs)),
                disconnected_inputs=disconnected_inputs)


# ---- forward mode ------------------------------------------------------------------------

def Rop(f, wrt, eval_points, disconnected_outputs="raise"):
    """Jacobian-vector product d f / d wrt times ``eval_points``, by forward mode (``R_op``)."""
    from .tensor import math as tm
    from .tensor.variable import as_tensor_variable

    single_f = not isinstance(f, (list, tuple))
    fs = [f] if single_f else list(f)
    wrt_list = wrt if isinstance(wrt, (list, tuple)) else [wrt]
    evs = eval_points if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(wrt_list) != len(evs):
        raise GradientError(f"Rop: {len(wrt_list)} wrt variables but {len(evs)} eval points")
    tangent = {}
    for w, ev in zip(wrt_list, evs):
        ev = ev if isinstance(ev, Variable) else as_tensor_variable(ev)
        tangent[w] = _conform(ev, w, "Rop: the eval point")
    for node in toposort(fs, blockers=wrt_list):
        if not any(i in tangent for i in node.inputs):
            continue
        with source_override(node.source):
            outs = node.op.R_op(list(node.inputs), [tangent.get(i) for i in node.inputs])
        if len(outs) != len(node.outputs):
            raise GradientError(f"{node.op}.R_op returned {len(outs)} tangents for "
                                f"{len(node.outputs)} outputs")
        for o, t in zip(node.outputs, outs):
            if t is not None:
                t = _match(as_tensor_variable(t), o)
                tangent[o] = _check_grad_type(node, o, t, "R_op returned a tangent", "output")
    result = []
    for out in fs:
        t = tangent.get(out)
        if t is None:
            if disconnected_outputs == "raise":
                raise DisconnectedInputError(f"Rop: {out} does not depend on {wrt_list}" + where(out))
            t = tm.zeros_like(out)
        result.append(t)
    return result[0] if single_f else result


# ---- Jacobians and Hessians ----------------------------------------------------------------

def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """Jacobian of a vector ``expression``: shape ``expression.shape + wrt.shape``.

    Row ``i`` is the vector-Jacobian product with the ``i``-th unit vector,
    computed by one gradient graph inside a scan over the rows (the forward
    computation is hoisted out of the loop), so the length of ``expression``
    may be symbolic.
    """
    from .scan import scan
    from .tensor.creation import arange
    from .tensor.math import zeros_like
    from .tensor.shape import shape_i
    from .tensor.subtensor import set_subtensor

    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    if expression.ndim == 0:
        gs = grad(expression, wrt_list, consider_constant=consider_constant,
                  disconnected_inputs=disconnected_inputs)
        return gs[0] if single else gs
    if expression.ndim != 1:
        raise GradientError(f"jacobian: expression must be a scalar or a vector, got {expression.type}"
                            + where(expression))

    def row(i):
        unit = set_subtensor(zeros_like(expression)[i], 1)
        return grad(None, wrt_list, consider_constant=consider_constant,
                    disconnected_inputs=disconnected_inputs, known_grads={expression: unit})

    rows, _ = scan(row, sequences=[arange(shape_i(expression, 0))], return_list=True, name="jacobian")
    return rows[0] if single else rows


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """Hessian of the scalar ``cost`` w.r.t. each vector in ``wrt`` (a scan over gradient rows)."""
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    out = []
    for w in wrt_list:
        if w.ndim != 1:
            raise GradientError(f"hessian: wrt must be vectors, got {w} of type {w.type}" + where(w))
        g = grad(cost, w, consider_constant=consider_constant, disconnected_inputs=disconnected_inputs)
        out.append(jacobian(g, w, consider_constant=consider_constant,
                            disconnected_inputs=disconnected_inputs))
    return out[0] if single else out


def hessian_vector_product(cost, wrt, v, method="rop"):
    """H @ v for the Hessian of ``cost`` w.r.t. ``wrt`` (a variable or list, ``v`` alike).

    ``method='rop'`` (the default) applies forward mode to the gradient graph;
    ``method='lop'`` differentiates ``grad . v`` a second time.  Forward over
    reverse builds a smaller graph that compiles and runs faster (measured by
    ``benchmarks/hvp_methods.py`` on a 2-layer MLP).
    """
    from .tensor import math as tm
    from .tensor.reduction import sum as tsum

    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    vs = [v] if single else list(v)
    gs = grad(cost, wrt_list)
    if method == "rop":
        out = Rop(gs, wrt_list, vs)
    elif method == "lop":
        dot = tm.add(*[tsum(g * vi) for g, vi in zip(gs, vs)]) if len(gs) > 1 else tsum(gs[0] * vs[0])
        out = grad(dot, wrt_list)
    else:
        raise SymgraphError(f"hessian_vector_product: method must be 'rop' or 'lop', got {method!r}")
    return out[0] if single else out


# ---- gradient-modifying identities ------------------------------------------------------------

class _GradientIdentity(Op):
    """Identity in the forward pass; subclasses change the backward pass."""

    view_map = {0: [0]}

    def make_node(self, x):
        from .tensor.variable import as_tensor_variable

        x = as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0]

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]

    def R_op(self, inputs, eval_points):
        return [eval_points[0]]


class ZeroGrad(_GradientIdentity):
    """Identity whose gradient is zero (the variable is treated as a constant)."""

    def L_op(self, inputs, outputs, output_grads):
        from .tensor.math import zeros_like

        return [zeros_like(inputs[0])]

    def R_op(self, inputs, eval_points):
        from .tensor.math import zeros_like

        return [zeros_like(inputs[0])]


class DisconnectedGrad(_GradientIdentity):
    """Identity that cuts the graph for differentiation."""

    def L_op(self, inputs, outputs, output_grads):
        return [disconnected_type()]

    def R_op(self, inputs, eval_points):
        from .tensor.math import zeros_like

        return [zeros_like(inputs[0])]

    def connection_pattern(self, node):
        return [[False]]


class GradClip(_GradientIdentity):
    """Identity whose gradient is clipped to [lower, upper]."""

    __props__ = ("lower", "upper")

    def __init__(self, lower, upper):
        if lower > upper:
            raise SymgraphError(f"grad_clip: lower bound {lower} exceeds upper bound {upper}")
        self.lower = float(lower)
        self.upper = float(upper)

    def L_op(self, inputs, outputs, output_grads):
        from .tensor.math import clip

        return [clip(output_grads[0], self.lower, self.upper)]


class GradScale(_GradientIdentity):
    """Identity whose gradient is multiplied by ``multiplier``."""

    __props__ = ("multiplier",)

    def __init__(self, multiplier):
        self.multiplier = float(multiplier)

    def L_op(self, inputs, outputs, output_grads):
        return [output_grads[0] * self.multiplier]


_zero_grad = ZeroGrad()
_disconnected_grad = DisconnectedGrad()


def zero_grad(x):
    """``x`` in the forward pass; a zero gradient flows back through it."""
    return _zero_grad(x)


def disconnected_grad(x):
    """``x`` in the forward pass; differentiation treats it as disconnected."""
    return _disconnected_grad(x)


consider_constant = disconnected_grad


def grad_clip(x, lower_bound, upper_bound):
    """``x`` in the forward pass; its gradient is clipped to the bounds."""
    return GradClip(lower_bound, upper_bound)(x)


def grad_scale(x, multiplier):
    """``x`` in the forward pass; its gradient is scaled by ``multiplier``."""
    return GradScale(multiplier)(x)


# ---- numerical checks ------------------------------------------------------------------------

def numeric_grad(f, points, eps):
    """Central finite differences of the scalar function ``f`` at ``points``."""
    grads = []
    for k, p in enumerate(points):
        g = np.zeros_like(p, dtype="float64")
        flat = p.reshape(-1)
        gflat = g.reshape(-1)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            hi = f(*points)
            flat[i] = orig - eps
            lo = f(*points)
            flat[i] = orig
            gflat[i] = (hi - lo) / (2 * eps)
        grads.append(g)
    return grads


def _default_eps(dtype):
    return 1e-7 if np.dtype(dtype) == np.float64 else 3e-3


def _default_tol(dtype):
    return 1e-4 if np.dtype(dtype) == np.float64 else 5e-2


class GradientCheckError(SymgraphError, AssertionError):
    pass


def verify_grad(fn, points, rng=None, eps=None, abs_tol=None, rel_tol=None, n_tests=2, mode=None):
    """Check ``grad`` of ``fn`` against finite differences, as Theano does.

    ``fn`` maps symbolic inputs to one symbolic output; the check uses the
    cost ``sum(fn(*inputs) * random_projection)`` so every output entry
    contributes.  Raises :class:`GradientCheckError` naming the input and the
    largest error if analytic and numeric gradients disagree.
    """
    from .compile.function import function
    from .tensor.reduction import sum as tsum
    from .tensor.type import TensorType

    rng = rng if rng is not None else np.random.default_rng(42)
    points = [np.array(p, dtype=p.dtype if hasattr(p, "dtype") else "float64") for p in points]
    dtype = np.result_type(*[p.dtype for p in points]).name
    eps = eps or _default_eps(dtype)
    abs_tol = abs_tol if abs_tol is not None else _default_tol(dtype)
    rel_tol = rel_tol if rel_tol is not None else _default_tol(dtype)
    inputs = [TensorType(p.dtype, (None,) * p.ndim)(f"input{k}") for k, p in enumerate(points)]
    out = fn(*inputs)
    if isinstance(out, (list, tuple)):
        raise SymgraphError("verify_grad: fn must return a single variable")
    f_out = function(inputs, out, mode=mode, on_unused_input="ignore")
    shape = np.shape(f_out(*points))
    # The projection is an input, so one compiled pair serves every random projection.
    proj_var = out.type.clone(shape=(None,) * out.ndim)("projection")
    cost = tsum(out * proj_var)
    symbolic = grad(cost, inputs, disconnected_inputs="ignore")
    f_cost = function(inputs + [proj_var], cost, mode=mode, on_unused_input="ignore")
    f_grad = function(inputs + [proj_var], symbolic, mode=mode, on_unused_input="ignore")
    for _ in range(n_tests):
        proj = rng.random(shape).astype(out.dtype) + 0.5
        analytic = f_grad(*points, proj)
        numeric = numeric_grad(lambda *ps, proj=proj: float(f_cost(*ps, proj)),
                               [p.copy() for p in points], eps)
        for k, (a, n) in enumerate(zip(analytic, numeric)):
            _compare(f"gradient w.r.t. input {k}", a, n, abs_tol, rel_tol)


def verify_rop(fn, points, rng=None, eps=None, abs_tol=None, rel_tol=None, mode=None):
    """Check ``Rop`` of ``fn`` (forward mode) against finite differences along a random direction."""
    from .compile.function import function
    from .tensor.type import TensorType

    rng = rng if rng is not None else np.random.default_rng(43)
    points = [np.array(p, dtype=p.dtype if hasattr(p, "dtype") else "float64") for p in points]
    dtype = np.result_type(*[p.dtype for p in points]).name
    eps = eps or _default_eps(dtype) * 10
    abs_tol = abs_tol if abs_tol is not None else _default_tol(dtype)
    rel_tol = rel_tol if rel_tol is not None else _default_tol(dtype)
    inputs = [TensorType(p.dtype, (None,) * p.ndim)(f"input{k}") for k, p in enumerate(points)]
    tangents = [TensorType(p.dtype, (None,) * p.ndim)(f"tangent{k}") for k, p in enumerate(points)]
    out = fn(*inputs)
    jvp = Rop(out, inputs, tangents)
    f = function(inputs, out, mode=mode, on_unused_input="ignore")
    f_jvp = function(inputs + tangents, jvp, mode=mode, on_unused_input="ignore")
    vs = [rng.standard_normal(p.shape).astype(p.dtype) for p in points]
    analytic = f_jvp(*points, *vs)
    hi = f(*[p + eps * v for p, v in zip(points, vs)])
    lo = f(*[p - eps * v for p, v in zip(points, vs)])
    numeric = (np.asarray(hi, dtype="float64") - lo) / (2 * eps)
    _compare("R_op", analytic, numeric, abs_tol, rel_tol)


def _compare(what, analytic, numeric, abs_tol, rel_tol):
    analytic = np.asarray(analytic, dtype="float64")
    numeric = np.asarray(numeric, dtype="float64")
    if analytic.shape != numeric.shape:
        raise GradientCheckError(f"{what}: analytic shape {analytic.shape} != numeric shape {numeric.shape}")
    abs_err = np.abs(analytic - numeric)
    rel_err = abs_err / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-8)
    bad = (abs_err > abs_tol) & (rel_err > rel_tol)
    if bad.any():
        i = int(np.argmax(np.where(bad, abs_err, -1)))
        raise GradientCheckError(
            f"{what}: analytic and numeric gradients disagree at flat index {i}: "
            f"analytic {analytic.reshape(-1)[i]!r}, numeric {numeric.reshape(-1)[i]!r} "
            f"(abs error {abs_err.reshape(-1)[i]:.3g}, rel error {rel_err.reshape(-1)[i]:.3g})"
        )
