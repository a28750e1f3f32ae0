"""float32 transcendental functions as inline IR in float32 arithmetic (see vecmath.py).

Widening float32 to float64 halves the lanes of every vector instruction
(4 doubles instead of 8 floats in a 256-bit register) and adds conversions;
these kernels stay in float32 throughout, so the loop vectoriser widens them
to the full register.  Each is range reduction with Cody–Waite constants
(split so the products with the reduction integer are exact inside an
``fma``), a float32 polynomial, and integer work on the i32 bit pattern for
powers of two and exponents.  Results are within 4 ulp of the correctly
rounded float32 value (2 in practice); pow still widens (vecmath.py): its
log would need float32 double-word arithmetic to survive the product with y.

Coefficients are Chebyshev fits (mpmath ``chebyfit``, 50 digits) of the named
remainder functions over the reduced interval, rounded to float32; each
comment gives the interval.
"""


import numpy as np
from llvmlite import ir

from . import vecmath_special
from .codegen import F32, I32
from .vecmath import Emitter, log1p_with, log_tails

# 2**23 + 2**22: adding it rounds to an integer whose value sits in the low mantissa bits.
MAGIC = 12582912.0
MAGIC_BITS = 0x4B400000
LOG2E = 1.4426950216293335
# ln 2 = LN2_HI + LN2_LO + O(1e-16); k * LN2_HI is exact inside an fma for |k| < 2**8.
LN2_HI, LN2_LO = 0.6931471824645996, -1.9046542121259336e-09
SQRT_HALF_BITS = 0x3F3504F3          # sqrt(2)/2: the mantissa is reduced into [sqrt(2)/2, sqrt(2))
TINY = 1.1754943508222875e-38         # smallest normal float32
# pi/2 in three float32 parts: x - k PIO2_1 is exact for |x| <= TRIG_LIMIT (see _trig).
PIO2_1, PIO2_2, PIO2_3 = 1.5707963705062866, -4.371138828673793e-08, -1.7151245100058819e-15
TWO_OVER_PI = 0.6366197466850281
TRIG_LIMIT = 1e5

# (exp(r) - 1 - r) / r**2 for |r| <= ln(2)/2; one coefficient more for expm1, whose result can be small.
EXP_P = (0.5, 0.16666577756404877, 0.041666556149721146, 0.008363173343241215, 0.0013926175888627768)
EXPM1_P = (0.5, 0.1666666716337204, 0.04166646674275398, 0.00833331048488617, 0.0013933641603216529,
           0.00019890980911441147)
# (log1p(f) - f + f**2 / 2) / f**3 for f in [sqrt(2)/2 - 1, sqrt(2) - 1].
LOG_P = (0.3333333134651184, -0.2499999701976776, 0.20000715553760529, -0.1666780263185501, 0.14249058067798615,
         -0.12425687164068222, 0.11685419827699661, -0.11479733884334564, 0.06971611827611923)
# (tanh(x) - x) / x**3 in z = x**2 for |x| <= 0.55.
TANH_P = (-0.3333333134651184, 0.13333113491535187, -0.05390942841768265, 0.021309388801455498,
          -0.00661022774875164)
TANH_SMALL = 0.55
# erf(x) / x - 1 in z = x**2 for |x| <= 1.
ERF_P = (0.12837916612625122, -0.3761262595653534, 0.11283594369888306, -0.02685421146452427,
         0.005189087241888046, -0.000801686430349946, 7.875874871388078e-05)
# erfc(a) in (a - ERFC_CENTRE) for a in [1, ERF_ONE]; from ERF_ONE on, erf rounds to 1.
ERFC_P = (0.0005033536581322551, -0.0026563082356005907, 0.00653451681137085, -0.009831209667026997,
          0.009914210066199303, -0.0068058655597269535, 0.0029370991978794336, -0.00044521427480503917,
          -0.000355802068952471, 0.00028342942823655903, -7.589318556711078e-05, -1.4765855667064898e-05,
          1.735417390591465e-05, -3.2035138701758115e-06, -1.0973852795359562e-06, 3.888801245466311e-07)
ERFC_CENTRE, ERF_ONE = 2.46, 3.92
# (sin(r) / r - 1) / r**2 and (cos(r) - 1 + r**2 / 2) / r**4 in z = r**2, |r| <= pi/4.
SIN_P = (-0.1666666716337204, 0.008333331905305386, -0.00019840087043121457, 2.7249925551586784e-06)
COS_P = (0.0416666641831398, -0.001388830249197781, 2.454794230288826e-05)


class Emitter32(Emitter):
    """The Emitter with float32 constants and i32 bit patterns."""

    def __init__(self, builder):
        super().__init__(builder, single=True)

    @staticmethod
    def c(value):
        return ir.Constant(F32, float(np.float32(value)))

    @staticmethod
    def i(value):
        return ir.Constant(I32, int(value))

    def bits(self, x):
        return self.b.bitcast(x, I32)

    def from_bits(self, n):
        return self.b.bitcast(n, F32)

    def pow2(self, k):
        """2**k for an i32 k in the normal exponent range."""
        return self.from_bits(self.b.shl(self.b.add(k, self.i(127)), self.i(23)))

    def round_int(self, x):
        """(rint(x) as float, as i32) for |x| < 2**22, without a float-to-int conversion."""
        t = self.add(x, self.c(MAGIC))
        return self.sub(t, self.c(MAGIC)), self.b.sub(self.bits(t), self.i(MAGIC_BITS))


# ---- exp family -------------------------------------------------------------------------------

def _reduce_ln2(E, x):
    """x = k ln2 + r, |r| <= ln2/2 (a little more where x log2(e) rounds): (k as i32, r)."""
    kf, k = E.round_int(E.mul(x, E.c(LOG2E)))
    minus_k = E.neg(kf)
    # The first fma is exact: k LN2_HI is exact in it and x - k LN2_HI is a float32 (Sterbenz-like).
    r = E.fma(minus_k, E.c(LN2_LO), E.fma(minus_k, E.c(LN2_HI), x))
    return k, r


def exp(E, x):
    k, p = _exp_parts(E, E.clamp(x, -104.0, 89.0))
    # Two factors keep each power of two normal (k reaches -150 and 128); the second product
    # rounds once into the subnormal range or overflows to inf.  NaN propagates through p.
    k1 = E.b.ashr(k, E.i(1))
    return E.mul(E.mul(p, E.pow2(k1)), E.pow2(E.b.sub(k, k1)))


def _exp_parts(E, x):
    """(k, e**r) with x = k ln2 + r."""
    k, r = _reduce_ln2(E, x)
    return k, E.add(E.c(1.0), E.fma(E.mul(r, r), E.poly(r, EXP_P), r))


def _exp_moderate(E, x):
    """e**x for x in [-125 ln2, 127 ln2]: one power of two suffices."""
    k, p = _exp_parts(E, x)
    return E.mul(p, E.pow2(k))


def expm1(E, x):
    k, r = _reduce_ln2(E, E.clamp(x, -30.0, 89.0))
    p = E.fma(E.mul(r, r), E.poly(r, EXPM1_P), r)
    big = E.b.icmp_signed(">", k, E.i(24))
    # 2**k (1 + p) - 1 in one rounding; 2**k - 1 is exact while -24 <= k <= 24.
    two_k = E.pow2(E.sel(big, E.i(0), k))
    small = E.fma(two_k, p, E.sub(two_k, E.c(1.0)))
    # Beyond, the -1 is below half an ulp; 2**(k-1) * 2 reaches the overflow threshold.
    large = E.mul(E.mul(E.add(E.c(1.0), p), E.pow2(E.b.sub(k, E.i(1)))), E.c(2.0))
    out = E.sel(big, large, small)
    return E.sel(E.cmp("==", x, E.c(0.0)), x, out)  # keeps -0


# ---- log family -------------------------------------------------------------------------------

def _split(E, x):
    """x = 2**k m, m in [sqrt(2)/2, sqrt(2)), for positive normal x: (k as float, m)."""
    u = E.b.add(E.bits(x), E.i(0x3F800000 - SQRT_HALF_BITS))
    k = E.b.sub(E.b.lshr(u, E.i(23)), E.i(127))
    m = E.from_bits(E.b.add(E.b.and_(u, E.i((1 << 23) - 1)), E.i(SQRT_HALF_BITS)))
    return E.b.sitofp(k, F32), m


def _log1p_reduced(E, f, kf, c):
    """k ln2 + log(1 + f) + c for f in [sqrt(2)/2 - 1, sqrt(2) - 1], c a small correction."""
    z = E.mul(f, f)
    t = E.fma(E.mul(z, f), E.poly(f, LOG_P), E.fma(kf, E.c(LN2_LO), c))
    t = E.fma(E.c(-0.5), z, t)
    # |k ln2| >= 2 |log(1 + f)| when k != 0, so the last rounding is the result's own.
    return E.fma(kf, E.c(LN2_HI), E.add(f, t))


def log(E, x):
    tiny = E.cmp("<", x, E.c(TINY))
    kf, m = _split(E, E.sel(tiny, E.mul(x, E.c(2.0 ** 23)), x))
    kf = E.sub(kf, E.sel(tiny, E.c(23.0), E.c(0.0)))
    return log_tails(E, x, _log1p_reduced(E, E.sub(m, E.c(1.0)), kf, E.c(0.0)))


def log1p(E, x):
    # u = 1 + x is never subnormal: x >= -1 makes it 0 or at least 2**-24.
    return log1p_with(E, x, _split, _log1p_reduced, 25)


# ---- compositions -----------------------------------------------------------------------------

def tanh(E, x):
    a = E.fabs(x)
    z = E.mul(x, x)
    small = E.fma(E.mul(x, z), E.poly(z, TANH_P), x)
    # 1 - 2 / (e^(2a) + 1): for a >= 0.55 the subtracted term is at most half, so its error
    # stays near an ulp of the result.  tanh(9.1) rounds to 1 already.
    e = _exp_moderate(E, E.mul(E.c(2.0), E.clamp(a, 0.0, 10.0)))
    large = E.copysign(E.sub(E.c(1.0), E.div(E.c(2.0), E.add(e, E.c(1.0)))), x)
    out = E.sel(E.cmp("<", a, E.c(TANH_SMALL)), small, large)
    return E.sel(E.cmp("==", x, E.c(0.0)), x, out)  # keeps -0


def sigmoid(E, x):
    # scipy's expit: 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below, so e <= 1 never overflows.
    e = exp(E, E.neg(E.fabs(x)))
    num = E.sel(E.cmp("<", x, E.c(0.0)), e, E.c(1.0))
    return E.div(num, E.add(E.c(1.0), e))


def softplus(E, x):
    # NumPy's logaddexp(0, x): max(x, 0) + log1p(e^-|x|).
    e = exp(E, E.neg(E.fabs(x)))
    pos = E.sel(E.cmp(">", x, E.c(0.0)), x, E.c(0.0))
    out = E.add(pos, log1p(E, e))
    return E.sel(E.isnan(x), x, out)


def erf(E, x):
    a = E.fabs(x)
    small = E.fma(x, E.poly(E.mul(x, x), ERF_P), x)
    # 1 - erfc(a): float32 needs erfc only to ~1e-8 absolute, which one polynomial in a reaches
    # (no e**(-a*a) factor as in float64).
    erfc = E.poly(E.sub(E.clamp(a, 1.0, ERF_ONE), E.c(ERFC_CENTRE)), ERFC_P)
    large = E.sel(E.cmp(">=", a, E.c(ERF_ONE)), E.c(1.0), E.sub(E.c(1.0), erfc))
    return E.sel(E.cmp("<", a, E.c(1.0)), small, E.copysign(large, x))


# ---- sin, cos ---------------------------------------------------------------------------------

def _trig(E, x, cosine):
    kf, k = E.round_int(E.mul(x, E.c(TWO_OVER_PI)))
    minus_k = E.neg(kf)
    # Exact: k PIO2_1 is exact in the fma, and for |x| <= TRIG_LIMIT both x and k PIO2_1 are
    # multiples of 2**-23 while their difference is below 1.  Each later step rounds relative
    # to r itself, even next to multiples of pi/2 where r is small.
    r = E.fma(minus_k, E.c(PIO2_1), x)
    r = E.fma(minus_k, E.c(PIO2_2), r)
    r = E.fma(minus_k, E.c(PIO2_3), r)
    z = E.mul(r, r)
    sin_r = E.fma(E.mul(r, z), E.poly(z, SIN_P), r)
    cos_r = E.fma(E.mul(z, z), E.poly(z, COS_P), E.fma(E.c(-0.5), z, E.c(1.0)))
    return vecmath_special.quadrant_result(E, x, k, sin_r, cos_r, cosine, TRIG_LIMIT)


def sin(E, x):
    return _trig(E, x, False)


def cos(E, x):
    return _trig(E, x, True)


UNARY = {"exp": exp, "expm1": expm1, "log": log, "log1p": log1p, "tanh": tanh, "sigmoid": sigmoid,
         "softplus": softplus, "erf": erf, "sin": sin, "cos": cos}

__all__ = ["UNARY", "Emitter32"]
