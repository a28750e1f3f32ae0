"""Transcendental functions as inline IR, so the loop vectoriser can widen loops over them.

A call to libm's ``exp`` is opaque to LLVM and keeps an elementwise loop
scalar.  Here each function is range reduction plus a polynomial, written
with ``select`` instead of branches and with only operations that have
packed forms (``fma``, ``rint``, ``fabs``, ``copysign``, integer add and
shift on the bit pattern to build powers of two).  float64 results are
within about 1 ulp of the correctly rounded value.  float32 arguments of most
functions go to vecmath_f32.py, which computes in float32 so the vectoriser
fills whole registers; pow's arguments are widened, evaluated by the
float64 code and rounded back, which keeps them within 1 ulp; their
polynomials are shorter fits (``Emitter.single``), since float64 arithmetic
with a relative error near 1e-9 still rounds to the float32 nearest the true
value but for ~1e-9 of an ulp.

Polynomial coefficients are Chebyshev fits (mpmath ``chebyfit``, 50 digits)
of the named remainder functions over the reduced interval, rounded to
float64; each comment gives the interval.
"""

import math

from llvmlite import ir

from .codegen import F32, F64, I64

# 2**52 + 2**51: adding it rounds to an integer whose value sits in the low mantissa bits.
MAGIC = 6755399441055744.0
MAGIC_BITS = 0x4338000000000000
LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453
LN2_LO = 2.3190468138462996e-17          # ln 2 - LN2
LN2_HI21 = 0.6931471803691238            # ln 2 with 21 trailing zero bits: k * LN2_HI21 is exact
LN2_LO21 = 1.9082149292705877e-10
SQRT_HALF_BITS = 0x3fe6a09e667f3bcd      # sqrt(2)/2: the mantissa is reduced into [sqrt(2)/2, sqrt(2))

# (exp(r) - 1 - r) / r**2 for |r| <= ln(2)/2.
EXP_Q = (0.5, 0.1666666666666667, 0.04166666666666667, 0.008333333333326141, 0.0013888888888883752,
         0.00019841269874800493, 2.4801587325533363e-05, 2.7557255425746435e-06, 2.7557273661348637e-07,
         2.510520637395701e-08, 2.0914679376583935e-09)
# (2 atanh(s) - 2 s) / s**3 as a polynomial in z = s**2, s <= (sqrt(2) - 1) / (sqrt(2) + 1).
LOG_H = (0.666666666666667, 0.39999999999899505, 0.28571428625975487, 0.2222221113479508,
         0.18182889125261723, 0.15331721600556042, 0.14616449685043406)
# (tanh(x) - x) / x**3 in z = x**2 for |x| <= 0.85.
TANH_G = (-0.3333333333333333, 0.1333333333333328, -0.05396825396819994, 0.02186948853393827,
          -0.008863235482130043, 0.003592127414575492, -0.001455829079827221, 0.0005899962266641475,
          -0.0002389984670634321, 9.651871742995488e-05, -3.839646063900652e-05, 1.4481342174450487e-05,
          -4.742379720801085e-06, 1.1446989030950227e-06, -1.4515305229891968e-07)
TANH_SMALL = 0.85
# Shorter fits of the same functions for float32 results (relative error ~1e-9 before rounding to float32).
EXP_Q32 = (0.5000000013457727, 0.16666666681614256, 0.04166646500604005, 0.008333310934448869,
           0.0013933641031986701, 0.00019890980869750327)
LOG_H32 = (0.6666666655449709, 0.40000121839806124, 0.28550820815960665, 0.23330467216303835)
TANH_G32 = (-0.33333333040620156, 0.1333329351104523, -0.053959300069482546, 0.0217928423141495,
            -0.008543423222944789, 0.0028763563320427063, -0.0005757143203291517)


class Emitter:
    """Float64 arithmetic on an IR builder, with the few helpers the kernels share."""

    def __init__(self, builder, single=False):
        self.b = builder
        self.single = single  # the result is rounded to float32: shorter polynomials suffice

    def pick(self, full, short):
        return short if self.single else full

    @staticmethod
    def c(value):
        return ir.Constant(F64, float(value))

    @staticmethod
    def i(value):
        return ir.Constant(I64, int(value))

    def _call(self, name, *args):
        t = args[0].type
        fn = self.b.module.declare_intrinsic(name, [t], ir.FunctionType(t, [t] * len(args)))
        return self.b.call(fn, list(args))

    def add(self, x, y):
        return self.b.fadd(x, y)

    def sub(self, x, y):
        return self.b.fsub(x, y)

    def mul(self, x, y):
        return self.b.fmul(x, y)

    def div(self, x, y):
        return self.b.fdiv(x, y)

    def neg(self, x):
        return self.b.fneg(x)

    def fma(self, x, y, z):
        """x * y + z with one rounding."""
        return self._call("llvm.fma", x, y, z)

    def fabs(self, x):
        return self._call("llvm.fabs", x)

    def rint(self, x):
        return self._call("llvm.rint", x)

    def copysign(self, x, y):
        return self._call("llvm.copysign", x, y)

    def sel(self, cond, x, y):
        return self.b.select(cond, x, y)

    def cmp(self, op, x, y):
        """Ordered comparison: false when either side is NaN."""
        return self.b.fcmp_ordered(op, x, y)

    def isnan(self, x):
        return self.b.fcmp_unordered("uno", x, x)

    def poly(self, x, coeffs):
        """sum(coeffs[k] * x**k) by Horner's rule."""
        acc = self.c(coeffs[-1])
        for c in reversed(coeffs[:-1]):
            acc = self.fma(acc, x, self.c(c))
        return acc

    def bits(self, x):
        return self.b.bitcast(x, I64)

    def from_bits(self, n):
        return self.b.bitcast(n, F64)

    def clamp(self, x, lo, hi):
        """x limited to [lo, hi]; NaN passes through."""
        x = self.sel(self.cmp(">", x, self.c(hi)), self.c(hi), x)
        return self.sel(self.cmp("<", x, self.c(lo)), self.c(lo), x)

    def pow2(self, k):
        """2**k for an i64 k in the normal exponent range."""
        return self.from_bits(self.b.shl(self.b.add(k, self.i(1023)), self.i(52)))

    def round_int(self, x):
        """(rint(x) as float, as i64) for |x| < 2**51, without a float-to-int conversion."""
        t = self.add(x, self.c(MAGIC))
        return self.sub(t, self.c(MAGIC)), self.b.sub(self.bits(t), self.i(MAGIC_BITS))


# ---- exp family -------------------------------------------------------------------------------

def _reduce_ln2(E, x, x_lo=None):
    """x (+ x_lo) = k ln2 + r + r_lo with |r| <= ln2/2: (k as float, k as i64, r, r_lo)."""
    kf, k = E.round_int(E.mul(x, E.c(LOG2E)))
    hi = E.fma(E.sub(E.c(0.0), kf), E.c(LN2), x)  # exact: the product is exact in the fma and the difference fits
    tail = None
    if x_lo is not None:
        # hi + x_lo as an exact sum (TwoSum: either may be the larger).
        t = E.add(hi, x_lo)
        v = E.sub(t, hi)
        tail = E.add(E.sub(hi, E.sub(t, v)), E.sub(x_lo, v))
        hi = t
    r = E.fma(E.sub(E.c(0.0), kf), E.c(LN2_LO), hi)
    r_lo = E.fma(E.sub(E.c(0.0), kf), E.c(LN2_LO), E.sub(hi, r))
    return kf, k, r, (r_lo if tail is None else E.add(r_lo, tail))


def exp(E, x, x_lo=None):
    """e**(x + x_lo); x_lo, a float64 tail below half an ulp of x, is optional."""
    if E.single:
        # float32's range: one normal power of two, and no need for the extra digits below.
        _, k, r, _ = _reduce_ln2(E, E.clamp(x, -110.0, 100.0))
        return E.mul(E.add(E.c(1.0), E.fma(E.mul(r, r), E.poly(r, EXP_Q32), r)), E.pow2(k))
    xs = E.clamp(x, -750.0, 750.0)
    _, k, r, r_lo = _reduce_ln2(E, xs, x_lo)
    # 1 + r is kept as an exact sum so only the last addition rounds.
    hi = E.add(E.c(1.0), r)
    lo = E.add(E.sub(E.c(1.0), hi), r)
    p = E.add(hi, E.add(lo, E.fma(E.mul(r, r), E.poly(r, EXP_Q), r_lo)))
    # Two factors keep each power of two normal; the second product rounds once into
    # the subnormal range or overflows to inf.  NaN propagates through r.
    k1 = E.b.ashr(k, E.i(1))
    return E.mul(E.mul(p, E.pow2(k1)), E.pow2(E.b.sub(k, k1)))


def expm1(E, x):
    xs = E.clamp(x, -60.0, 709.9)
    _, k, r, r_lo = _reduce_ln2(E, xs)
    # expm1(r + r_lo) = expm1(r) + r_lo e^r, to first order.
    p = E.add(r, E.fma(E.mul(r, r), E.poly(r, E.pick(EXP_Q, EXP_Q32)), E.fma(r_lo, r, r_lo)))
    big = E.b.icmp_signed(">", k, E.i(56))
    # 2**k (1 + p) - 1 in one rounding; exact 2**k - 1 while k <= 56.
    ks = E.sel(big, E.i(0), k)
    two_k = E.pow2(ks)
    small = E.fma(two_k, p, E.sub(two_k, E.c(1.0)))
    # Beyond, the -1 is below half an ulp; 2**(k-1) * 2 reaches the overflow threshold.
    large = E.mul(E.mul(E.add(E.c(1.0), p), E.pow2(E.b.sub(k, E.i(1)))), E.c(2.0))
    out = E.sel(big, large, small)
    return E.sel(E.cmp("==", x, E.c(0.0)), x, out)  # keeps -0


# ---- log family -------------------------------------------------------------------------------

def _log1p_reduced(E, f, kf, c):
    """k ln2 + log(1 + f) + c for f in [sqrt(2)/2 - 1, sqrt(2) - 1] (fdlibm's formulation)."""
    hfsq = E.mul(E.c(0.5), E.mul(f, f))
    s = E.div(f, E.add(E.c(2.0), f))
    z = E.mul(s, s)
    R = E.mul(z, E.poly(z, E.pick(LOG_H, LOG_H32)))
    tail = E.add(E.mul(s, E.add(hfsq, R)), E.fma(kf, E.c(LN2_LO21), c))
    return E.fma(kf, E.c(LN2_HI21), E.sub(f, E.sub(hfsq, tail)))


def _split(E, x):
    """x = 2**k m, m in [sqrt(2)/2, sqrt(2)), for positive normal x: (k as float, m)."""
    u = E.b.add(E.bits(x), E.i(0x3ff0000000000000 - SQRT_HALF_BITS))
    biased = E.b.lshr(u, E.i(52))
    # An exponent below 2**11 becomes a float exactly through the 2**52 mantissa trick.
    kf = E.sub(E.from_bits(E.b.or_(biased, E.i(0x4330000000000000))), E.c(2.0 ** 52 + 1023))
    m = E.from_bits(E.b.add(E.b.and_(u, E.i((1 << 52) - 1)), E.i(SQRT_HALF_BITS)))
    return kf, m


def log(E, x):
    tiny = E.cmp("<", x, E.c(2.2250738585072014e-308))
    xn = E.sel(tiny, E.mul(x, E.c(2.0 ** 54)), x)
    kf, m = _split(E, xn)
    kf = E.sub(kf, E.sel(tiny, E.c(54.0), E.c(0.0)))
    return log_tails(E, x, _log1p_reduced(E, E.sub(m, E.c(1.0)), kf, E.c(0.0)))


def log_tails(E, x, out):
    """``out`` with log's special values: inf at inf, -inf at +-0, NaN below 0 and at NaN."""
    out = E.sel(E.cmp("==", x, E.c(math.inf)), x, out)
    out = E.sel(E.cmp("==", x, E.c(0.0)), E.c(-math.inf), out)
    return E.sel(E.b.fcmp_unordered("<", x, E.c(0.0)), E.c(math.nan), out)


def log1p(E, x):
    return log1p_with(E, x, _split, _log1p_reduced, 54)


def log1p_with(E, x, split, reduced, exact_from):
    """log1p from a format's ``split`` and ``reduced`` (this module's or vecmath_f32's);
    from 2**``exact_from`` on (the significand's bits + 1) 1 + x rounds away nothing that matters."""
    u = E.add(E.c(1.0), x)
    kf, m = split(E, u)
    # The rounding error of 1 + x (exact by Fast2Sum, the larger operand first), carried
    # as log(1 + x) - log(u) ~ (1 + x - u) / u.
    c = E.sel(E.cmp(">=", kf, E.c(2.0)), E.sub(E.c(1.0), E.sub(u, x)), E.sub(x, E.sub(u, E.c(1.0))))
    c = E.sel(E.cmp(">=", kf, E.c(float(exact_from))), E.c(0.0), E.div(c, u))
    out = reduced(E, E.sub(m, E.c(1.0)), kf, c)
    out = E.sel(E.cmp("==", x, E.c(math.inf)), x, out)
    out = E.sel(E.cmp("==", x, E.c(0.0)), x, out)
    out = E.sel(E.cmp("==", x, E.c(-1.0)), E.c(-math.inf), out)
    return E.sel(E.b.fcmp_unordered("<", x, E.c(-1.0)), E.c(math.nan), out)


# ---- compositions -----------------------------------------------------------------------------

def tanh(E, x):
    a = E.fabs(x)
    z = E.mul(x, x)
    small = E.fma(E.mul(x, z), E.poly(z, E.pick(TANH_G, TANH_G32)), x)
    # 1 - 2 / (e^(2a) + 1): for a >= 0.85 the subtracted term is under half the result.
    e = exp(E, E.mul(E.c(2.0), E.clamp(a, 0.0, 40.0)))
    large = E.copysign(E.sub(E.c(1.0), E.div(E.c(2.0), E.add(e, E.c(1.0)))), x)
    out = E.sel(E.cmp("<", a, E.c(TANH_SMALL)), small, large)
    return E.sel(E.cmp("==", x, E.c(0.0)), x, out)  # keeps -0


def sigmoid(E, x):
    # scipy's expit: 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below, so e <= 1 never overflows.
    e = exp(E, E.sub(E.c(0.0), E.fabs(x)))
    num = E.sel(E.cmp("<", x, E.c(0.0)), e, E.c(1.0))
    s = E.add(E.c(1.0), e)
    if E.single:
        return E.div(num, s)
    # Divide by the exact 1 + e (head s, tail t) with one correction step.
    t = E.sub(e, E.sub(s, E.c(1.0)))
    q = E.div(num, s)
    return E.add(q, E.div(E.sub(E.fma(E.sub(E.c(0.0), q), s, num), E.mul(q, t)), s))


def softplus(E, x):
    # NumPy's logaddexp(0, x): max(x, 0) + log1p(e^-|x|).
    e = exp(E, E.sub(E.c(0.0), E.fabs(x)))
    pos = E.sel(E.cmp(">", x, E.c(0.0)), x, E.c(0.0))
    out = E.add(pos, log1p(E, e))
    return E.sel(E.isnan(x), x, out)


UNARY = {"exp": exp, "expm1": expm1, "log": log, "log1p": log1p, "tanh": tanh, "sigmoid": sigmoid,
         "softplus": softplus}
BINARY = {}
SPECIAL_UNARY = ("erf", "sin", "cos")
SPECIAL_BINARY = ("pow",)


def handles(name, dtype):
    """Whether ``name`` on ``dtype`` values is emitted here."""
    return str(dtype) in ("float32", "float64") and (
        name in UNARY or name in BINARY or name in SPECIAL_UNARY or name in SPECIAL_BINARY)


def emit(builder, name, args):
    """IR value of ``name`` applied to float32/float64 values ``args`` (all of one type)."""
    if name not in UNARY and name not in BINARY:
        UNARY.update(vecmath_special.UNARY)
        BINARY.update(vecmath_special.BINARY)
    t = args[0].type
    if t == F32 and name in vecmath_f32.UNARY:
        # Native float32 code: twice the lanes of the widened float64 evaluation below.
        return vecmath_f32.UNARY[name](vecmath_f32.Emitter32(builder), *args)
    wide = [builder.fpext(a, F64) if t == F32 else a for a in args]
    E = Emitter(builder, single=t == F32)
    out = (UNARY[name] if name in UNARY else BINARY[name])(E, *wide)
    return builder.fptrunc(out, F32) if t == F32 else out


def bind_symbols():
    """libm's sin, cos, sinf and cosf under the names vecmath_special calls them by.

    Bound on import, before any compilation: a cached object file may refer to them
    without this process ever emitting sin or cos.
    """
    import ctypes

    import llvmlite.binding as llvm

    libm = ctypes.CDLL("libm.so.6")
    for name in ("sin", "cos", "sinf", "cosf"):
        llvm.add_symbol(f"symgraph_libm_{name}", ctypes.cast(getattr(libm, name), ctypes.c_void_p).value)


bind_symbols()

# Both build on this module, so they come last.  Imported now rather than on first use: the disk
# cache's key hashes these sources (segment_key.py), and a process should run the code it hashed.
from . import vecmath_f32, vecmath_special

__all__ = ["BINARY", "UNARY", "Emitter", "bind_symbols", "emit", "handles"]
