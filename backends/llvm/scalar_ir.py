"""Scalar operations in IR, with NumPy's semantics (NaN propagation, floor division, ...).

``emit(ctx, scalar_op, args, out_dtype)`` takes ``(value, dtype)`` pairs and
returns the result as an IR value of ``out_dtype`` (bools are i1 in
registers, one byte in memory).  ``supported(scalar_op, in_dtypes,
out_dtype)`` says whether a lowering exists; an Elemwise whose scalar op has
none falls back to ``perform``.
"""

import math

from llvmlite import ir

from symgraph.scalar import ops as scal

from . import vecmath
from .codegen import F32, F64, I1, I64, ir_type, is_float, is_signed

LIBM_UNARY = {
    "exp": "exp", "log": "log", "log1p": "log1p", "expm1": "expm1", "tanh": "tanh", "sin": "sin",
    "cos": "cos", "tan": "tan", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh",
    "cosh": "cosh", "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "erf": "erf",
    "erfc": "erfc", "exp2": "exp2", "log2": "log2", "log10": "log10",
}
INTRINSIC_UNARY = {"sqrt": "llvm.sqrt", "floor": "llvm.floor", "ceil": "llvm.ceil", "trunc": "llvm.trunc",
                   "round": "llvm.roundeven", "abs": "llvm.fabs"}
FLOAT_ONLY = set(LIBM_UNARY) | {"sqrt", "sigmoid", "softplus", "true_div", "arctan2", "logaddexp",
                                "floor", "ceil", "trunc", "round"}
ARITH = {"add", "sub", "mul", "neg", "abs", "sgn", "sqr", "maximum", "minimum", "int_div", "mod",
         "identity", "clip", "switch"}
COMPARE = {"lt": ("<", "olt"), "gt": (">", "ogt"), "le": ("<=", "ole"), "ge": (">=", "oge"),
           "eq": ("==", "oeq"), "neq": ("!=", "une")}
LOGICAL = {"logical_and", "logical_or", "logical_xor", "logical_not"}
BITWISE = {"and", "or", "xor", "invert"}
PREDICATES = {"isnan", "isinf", "isfinite"}


def supported(op, in_dtypes, out_dtype):
    """Whether ``op`` on these dtypes has an IR lowering."""
    from symgraph.scalar.composite import Composite

    if isinstance(op, Composite):
        for node in op.nodes:
            if not supported(node.op, [i.type.dtype for i in node.inputs], node.outputs[0].type.dtype):
                return False
        return True
    if isinstance(op, scal.Cast):
        return True
    name = getattr(op, "name", None)
    dtypes = list(in_dtypes) + [out_dtype]
    if any(str(d) == "float16" for d in dtypes):
        return False
    if name in FLOAT_ONLY:
        return is_float(out_dtype)
    if name == "pow":
        return is_float(out_dtype)
    if name == "reciprocal":
        return is_float(out_dtype)
    return name in ARITH or name in COMPARE or name in LOGICAL or name in BITWISE or name in PREDICATES


def scal_op(name):
    """The ScalarOp singleton called ``name``."""
    return scal.by_name(name)


# ---- conversions ------------------------------------------------------------------------------

def to_bool(b, v, dtype):
    if dtype == "bool":
        return v
    if is_float(dtype):
        return b.fcmp_unordered("!=", v, ir.Constant(v.type, 0.0))
    return b.icmp_unsigned("!=", v, ir.Constant(v.type, 0))


def cast(b, v, src, dst):
    """Convert ``v`` from dtype ``src`` to ``dst`` as NumPy's astype does (bool in i1)."""
    src, dst = str(src), str(dst)
    if src == dst:
        return v
    if dst == "bool":
        return to_bool(b, v, src)
    t = ir_type(dst)
    if src == "bool":
        return b.uitofp(v, t) if is_float(dst) else b.zext(v, t)
    if is_float(src) and is_float(dst):
        return b.fptrunc(v, t) if t == F32 else b.fpext(v, t)
    if is_float(src):
        if dst == "uint64":
            name = f"llvm.fptoui.sat.i64.{'f32' if v.type == F32 else 'f64'}"
            fn = b.module.globals.get(name) or ir.Function(b.module, ir.FunctionType(t, [v.type]), name=name)
            return b.call(fn, [v])
        # As NumPy on x86: through int64, where NaN and out-of-range values become
        # INT64_MIN (the hardware's "integer indefinite"), then wrap to the width.
        # (through int32 for narrower targets, as NumPy's C casts do).
        width = 64 if t.width == 64 else 32
        through = ir.IntType(width)
        limit = ir.Constant(v.type, float(2 ** (width - 1)))
        in_range = b.and_(b.fcmp_ordered("<", v, limit), b.fcmp_ordered(">=", v, b.fneg(limit)))
        safe = b.select(in_range, v, ir.Constant(v.type, 0.0))
        wide = b.select(in_range, b.fptosi(safe, through), ir.Constant(through, -(1 << (width - 1))))
        return wide if t.width == width else b.trunc(wide, t)
    if is_float(dst):
        return b.sitofp(v, t) if is_signed(src) else b.uitofp(v, t)
    sw, dw = v.type.width, t.width
    if sw == dw:
        return v
    if sw > dw:
        return b.trunc(v, t)
    return b.sext(v, t) if is_signed(src) else b.zext(v, t)


def _libm(ctx, name, dtype, args):
    t = ir_type(dtype)
    fname = name + ("f" if t == F32 else "")
    fn = ctx.declare(fname, t, [t] * len(args))
    return ctx.builder.call(fn, args)


def _intrinsic(ctx, name, v):
    fn = ctx.builder.module.declare_intrinsic(name, [v.type])
    return ctx.builder.call(fn, [v])


def _const(dtype, value):
    t = ir_type(dtype)
    if dtype == "bool":
        return ir.Constant(I1, int(bool(value)))
    return ir.Constant(t, float(value) if is_float(dtype) else int(value))


def _isnan(b, v):
    return b.fcmp_unordered("uno", v, v)


# ---- emission -------------------------------------------------------------------------------

def emit(ctx, op, args, out_dtype):
    """IR value of ``op`` applied to ``args`` (list of (value, dtype))."""
    from symgraph.scalar.composite import Composite

    if isinstance(op, Composite):
        return emit_composite(ctx, op, args)[0]
    b = ctx.builder
    out_dtype = str(out_dtype)
    if isinstance(op, scal.Cast):
        (v, d), = args
        return cast(b, v, d, out_dtype)
    name = op.name

    if name in COMPARE:
        import numpy as np

        common = np.result_type(*[d for _, d in args]).name
        (x, _), (y, _) = [(cast(b, v, d, common), common) for v, d in args]
        if is_float(common):
            return b.fcmp_ordered(COMPARE[name][1], x, y) if name != "neq" else b.fcmp_unordered("!=", x, y)
        if common == "bool":
            x, y = b.zext(x, ir.IntType(8)), b.zext(y, ir.IntType(8))
            return b.icmp_unsigned(COMPARE[name][0], x, y)
        cmp = b.icmp_signed if is_signed(common) else b.icmp_unsigned
        return cmp(COMPARE[name][0], x, y)
    if name in LOGICAL:
        bools = [to_bool(b, v, d) for v, d in args]
        if name == "logical_not":
            return b.not_(bools[0])
        return {"logical_and": b.and_, "logical_or": b.or_, "logical_xor": b.xor}[name](*bools)
    if name in PREDICATES:
        (v, d), = args
        if not is_float(d):
            return ir.Constant(I1, int(name == "isfinite"))
        inf = ir.Constant(v.type, math.inf)
        a = _intrinsic(ctx, "llvm.fabs", v)
        if name == "isnan":
            return _isnan(b, v)
        if name == "isinf":
            return b.fcmp_ordered("==", a, inf)
        return b.fcmp_ordered("<", a, inf)
    if name == "switch":
        (c, cd), (x, xd), (y, yd) = args
        return b.select(to_bool(b, c, cd), cast(b, x, xd, out_dtype), cast(b, y, yd, out_dtype))

    vals = [cast(b, v, d, out_dtype) for v, d in args]
    fl = is_float(out_dtype)
    sig = is_signed(out_dtype)
    boolean = out_dtype == "bool"

    if name in BITWISE:
        if name == "invert":
            return b.not_(vals[0])
        return {"and": b.and_, "or": b.or_, "xor": b.xor}[name](*vals)
    if name == "identity":
        return vals[0]
    if name == "add":
        out = vals[0]
        for v in vals[1:]:
            out = b.fadd(out, v) if fl else (b.or_(out, v) if boolean else b.add(out, v))
        return out
    if name == "mul":
        out = vals[0]
        for v in vals[1:]:
            out = b.fmul(out, v) if fl else (b.and_(out, v) if boolean else b.mul(out, v))
        return out
    if name == "sub":
        x, y = vals
        return b.fsub(x, y) if fl else (b.xor(x, y) if boolean else b.sub(x, y))
    if name == "neg":
        return b.fneg(vals[0]) if fl else b.sub(ir.Constant(vals[0].type, 0), vals[0])
    if name == "sqr":
        return b.fmul(vals[0], vals[0]) if fl else b.mul(vals[0], vals[0])
    if name == "true_div":
        return b.fdiv(*vals)
    if name == "reciprocal":
        return b.fdiv(ir.Constant(vals[0].type, 1.0), vals[0])
    if name == "abs":
        if fl:
            return _intrinsic(ctx, "llvm.fabs", vals[0])
        if not sig or boolean:
            return vals[0]
        x = vals[0]
        return b.select(b.icmp_signed("<", x, ir.Constant(x.type, 0)), b.sub(ir.Constant(x.type, 0), x), x)
    if name == "sgn":
        x = vals[0]
        zero = ir.Constant(x.type, 0.0 if fl else 0)
        if fl:
            pos = b.uitofp(b.fcmp_ordered(">", x, zero), x.type)
            neg = b.uitofp(b.fcmp_ordered("<", x, zero), x.type)
            return b.select(_isnan(b, x), x, b.fsub(pos, neg))
        if boolean:
            return x
        pos = b.zext(b.icmp_signed(">", x, zero) if sig else b.icmp_unsigned(">", x, zero), x.type)
        neg = b.zext(b.icmp_signed("<", x, zero), x.type) if sig else ir.Constant(x.type, 0)
        return b.sub(pos, neg)
    if name in ("maximum", "minimum"):
        return _extremum(b, name, vals[0], vals[1], fl, sig, boolean)
    if name == "clip":
        x, lo, hi = vals
        return _extremum(b, "minimum", _extremum(b, "maximum", x, lo, fl, sig, boolean), hi, fl, sig, boolean)
    if name == "int_div":
        return _floor_div(b, ctx, vals[0], vals[1], out_dtype)
    if name == "mod":
        return _mod(b, ctx, vals[0], vals[1], out_dtype)
    if name in INTRINSIC_UNARY:
        return _intrinsic(ctx, INTRINSIC_UNARY[name], vals[0])
    if vecmath.handles(name, out_dtype):  # inline IR the loop vectoriser can widen, instead of libm
        return vecmath.emit(b, name, vals)
    if name in LIBM_UNARY:
        return _libm(ctx, LIBM_UNARY[name], out_dtype, vals)
    if name == "pow":
        return _libm(ctx, "pow", out_dtype, vals)
    if name == "arctan2":
        return _libm(ctx, "atan2", out_dtype, vals)
    if name == "sigmoid":
        x = vals[0]
        one = ir.Constant(x.type, 1.0)
        return b.fdiv(one, b.fadd(one, _libm(ctx, "exp", out_dtype, [b.fneg(x)])))
    if name == "softplus":
        x = vals[0]
        zero = ir.Constant(x.type, 0.0)
        a = _intrinsic(ctx, "llvm.fabs", x)
        tail = _libm(ctx, "log1p", out_dtype, [_libm(ctx, "exp", out_dtype, [b.fneg(a)])])
        pos = b.select(b.fcmp_ordered(">", x, zero), x, zero)
        return b.select(_isnan(b, x), x, b.fadd(pos, tail))
    if name == "logaddexp":
        x, y = vals
        m = _extremum(b, "maximum", x, y, True, True, False)
        d = _intrinsic(ctx, "llvm.fabs", b.fsub(x, y))
        tail = _libm(ctx, "log1p", out_dtype, [_libm(ctx, "exp", out_dtype, [b.fneg(d)])])
        same = b.fcmp_ordered("==", x, y)  # also covers -inf == -inf, where x - y is NaN
        return b.select(same, b.fadd(x, ir.Constant(x.type, math.log(2.0))), b.fadd(m, tail))
    raise NotImplementedError(f"no IR lowering for scalar op {name}")


def _extremum(b, name, x, y, fl, sig, boolean):
    if fl:
        pick_x = b.fcmp_ordered(">" if name == "maximum" else "<", x, y)
        return b.select(b.or_(pick_x, _isnan(b, x)), x, y)
    if boolean:
        return b.or_(x, y) if name == "maximum" else b.and_(x, y)
    cmp = b.icmp_signed if sig else b.icmp_unsigned
    return b.select(cmp(">" if name == "maximum" else "<", x, y), x, y)


def _float_divmod(b, ctx, x, y):
    """NumPy's npy_divmod: floor division and modulo that agree with each other."""
    zero = ir.Constant(x.type, 0.0)
    one = ir.Constant(x.type, 1.0)
    mod = b.frem(x, y)
    div = b.fdiv(b.fsub(x, mod), y)
    adjust = b.and_(b.fcmp_ordered("!=", mod, zero),
                    b.xor(b.fcmp_ordered("<", y, zero), b.fcmp_ordered("<", mod, zero)))
    mod = b.select(adjust, b.fadd(mod, y), mod)
    div = b.select(adjust, b.fsub(div, one), div)
    copysign = ctx.builder.module.declare_intrinsic("llvm.copysign", [x.type], ir.FunctionType(x.type, [x.type, x.type]))
    mod = b.select(b.fcmp_ordered("==", mod, zero), b.call(copysign, [zero, y]), mod)
    floor = _intrinsic(ctx, "llvm.floor", div)
    half = ir.Constant(x.type, 0.5)
    floor = b.select(b.fcmp_ordered(">", b.fsub(div, floor), half), b.fadd(floor, one), floor)
    floordiv = b.select(b.fcmp_unordered("!=", div, zero), floor, b.call(copysign, [zero, b.fdiv(x, y)]))
    by_zero = b.fcmp_ordered("==", y, zero)
    return b.select(by_zero, b.fdiv(x, y), floordiv), b.select(by_zero, b.frem(x, y), mod)


def _floor_div(b, ctx, x, y, dtype):
    if is_float(dtype):
        return _float_divmod(b, ctx, x, y)[0]
    if dtype == "bool":
        return b.and_(x, y)
    zero = ir.Constant(x.type, 0)
    safe_y = b.select(b.icmp_unsigned("==", y, zero), ir.Constant(x.type, 1), y)
    if not is_signed(dtype):
        return b.select(b.icmp_unsigned("==", y, zero), zero, b.udiv(x, safe_y))
    # INT_MIN // -1 overflows: NumPy gives INT_MIN; avoid the trap.
    minus_one = ir.Constant(x.type, -1)
    safe_y = b.select(b.icmp_signed("==", y, minus_one), ir.Constant(x.type, 1), safe_y)
    q = b.sdiv(x, safe_y)
    q = b.select(b.icmp_signed("==", y, minus_one), b.sub(zero, x), q)
    r = b.srem(x, safe_y)
    adjust = b.and_(b.icmp_signed("!=", r, zero),
                    b.xor(b.icmp_signed("<", r, zero), b.icmp_signed("<", y, zero)))
    adjust = b.and_(adjust, b.icmp_signed("!=", y, minus_one))
    q = b.select(adjust, b.sub(q, ir.Constant(x.type, 1)), q)
    return b.select(b.icmp_signed("==", y, zero), zero, q)


def _mod(b, ctx, x, y, dtype):
    if is_float(dtype):
        return _float_divmod(b, ctx, x, y)[1]
    if dtype == "bool":
        return ir.Constant(I1, 0)
    zero = ir.Constant(x.type, 0)
    safe_y = b.select(b.icmp_unsigned("==", y, zero), ir.Constant(x.type, 1), y)
    if not is_signed(dtype):
        return b.select(b.icmp_unsigned("==", y, zero), zero, b.urem(x, safe_y))
    minus_one = ir.Constant(x.type, -1)
    safe_y = b.select(b.icmp_signed("==", y, minus_one), ir.Constant(x.type, 1), safe_y)
    r = b.srem(x, safe_y)
    adjust = b.and_(b.icmp_signed("!=", r, zero),
                    b.xor(b.icmp_signed("<", r, zero), b.icmp_signed("<", y, zero)))
    r = b.select(adjust, b.add(r, y), r)
    return b.select(b.icmp_signed("==", y, zero), zero, r)


def emit_composite(ctx, op, args):
    """All outputs of a Composite's inner graph, emitted in order."""
    from symgraph.graph.basic import Constant

    env = {}
    for var, (v, d) in zip(op.inputs, args):
        env[var] = (v, str(d))

    def value(var):
        if var in env:
            return env[var]
        if isinstance(var, Constant):
            import numpy as np

            dtype = str(var.type.dtype)
            return (_const(dtype, np.asarray(var.data).item()), dtype)
        raise KeyError(var)

    for node in op.nodes:
        out = node.outputs[0]
        dtype = str(out.type.dtype)
        env[out] = (emit(ctx, node.op, [value(i) for i in node.inputs], dtype), dtype)
    return [value(o)[0] for o in op.outputs]


__all__ = ["F64", "I64", "cast", "emit", "supported", "to_bool"]
