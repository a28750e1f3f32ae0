"""The normal transform of RandomDraw: one definition that every backend evaluates to the same bits.

Box-Muller on a pair of uniforms ``(u1, u2)`` in [0, 1):
``r = sqrt(-2 ln(1 - u1))``, ``z = (r cos 2πu2, r sin 2πu2)``.

A library's ``log``/``cos``/``sin`` differ by an ulp between libm, NumPy's
SIMD loops and a backend's vector math, so the same seed would give
different normals on different backends.  Here the transform is written
once against a small arithmetic interface (``ops``: :class:`NumpyOps` for
``perform``; a backend supplies its own, e.g. one emitting LLVM IR) and uses
only operations IEEE 754 defines to the bit: ``+ - * /`` and ``sqrt``
(correctly rounded), and exact ones (``rint``, comparisons, selection,
splitting off the exponent).  The same operations in the same order give the
same bits everywhere, provided nothing contracts ``a * b + c`` into one fma.

Both dtypes are computed in float64 (float32 uniforms widen exactly) and
float32 results are rounded once at the end.  The log is fdlibm's (error
below 1 ulp); the sine and cosine of ``2πu2`` reduce ``4 u2`` exactly to a
quadrant and ``r`` in [-1/2, 1/2], then evaluate Taylor polynomials of
``sin(πr/2)`` and ``cos(πr/2)`` (truncation below 1e-19), so no rounded
multiple of π is ever formed.  Results are within about 2 ulp (float64) of
``np.sqrt(-2 * np.log(1 - u1)) * np.cos(2 * np.pi * u2)``.
"""

import numpy as np

SQRT_HALF = 0.7071067811865476
# ln 2 split so that k * LN2_HI is exact for |k| < 2**11 (fdlibm e_log.c).
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
# fdlibm's log(1 + f) remainder: even and odd powers of z = s**2, s = f / (2 + f).
LG_EVEN = (3.999999999940941908e-01, 2.222219843214978396e-01, 1.531383769920937332e-01)
LG_ODD = (6.666666666666735130e-01, 2.857142874366239149e-01, 1.818357216161805012e-01,
          1.479819860511658591e-01)
# Taylor coefficients of sin(πr/2) / r and cos(πr/2) in r**2 (mpmath, 50 digits, rounded).
SIN_HALF_PI = (1.5707963267948966, -0.6459640975062463, 0.07969262624616705, -0.004681754135318688,
               0.00016044118478735983, -3.598843235212085e-06, 5.692172921967927e-08,
               -6.688035109811468e-10, 6.0669357311061955e-12)
COS_HALF_PI = (1.0, -1.2337005501361697, 0.25366950790104803, -0.02086348076335296,
               0.0009192602748394266, -2.5202042373060607e-05, 4.710874778818172e-07,
               -6.386603083791852e-09, 6.565963114979473e-11, -5.294400200734623e-13)


def box_muller(ops, u1, u2):
    """``(r cos 2πu2, r sin 2πu2)`` with ``r = sqrt(-2 ln(1 - u1))``; float64 in, float64 out.

    ``1 - u1`` lies in (0, 1] (exact), so the log is finite.
    """
    radius = ops.sqrt(ops.mul(ops.c(-2.0), log_unit(ops, ops.sub(ops.c(1.0), u1))))
    cos, sin = sincos_turn(ops, u2)
    return ops.mul(radius, cos), ops.mul(radius, sin)


def log_unit(ops, x):
    """ln x for normal x > 0 (fdlibm's reduction and polynomial, every branch as a selection)."""
    m, k = ops.split_exponent(x)  # x = m 2**k, m in [1/2, 1)
    low = ops.lt(m, ops.c(SQRT_HALF))
    m = ops.sel(low, ops.add(m, m), m)  # now in [sqrt(1/2), sqrt(2)): |log m| is smallest
    k = ops.sel(low, ops.sub(k, ops.c(1.0)), k)
    f = ops.sub(m, ops.c(1.0))
    s = ops.div(f, ops.add(ops.c(2.0), f))
    z = ops.mul(s, s)
    w = ops.mul(z, z)
    t1 = ops.mul(w, _horner(ops, w, LG_EVEN))
    t2 = ops.mul(z, _horner(ops, w, LG_ODD))
    remainder = ops.add(t2, t1)
    hfsq = ops.mul(ops.mul(ops.c(0.5), f), f)
    inner = ops.add(ops.mul(s, ops.add(hfsq, remainder)), ops.mul(k, ops.c(LN2_LO)))
    return ops.sub(ops.mul(k, ops.c(LN2_HI)), ops.sub(ops.sub(hfsq, inner), f))


def sincos_turn(ops, u):
    """``(cos 2πu, sin 2πu)`` for u in [0, 1) (u a float64 with at most 53 significant bits)."""
    t = ops.mul(ops.c(4.0), u)  # exact
    q = ops.rint(t)  # the quadrant, 0..4
    r = ops.sub(t, q)  # exact, in [-1/2, 1/2]: the angle is π/2 (q + r)
    r2 = ops.mul(r, r)
    s = ops.mul(r, _horner(ops, r2, SIN_HALF_PI))
    c = _horner(ops, r2, COS_HALF_PI)
    q1, q2, q3 = (ops.eq(q, ops.c(v)) for v in (1.0, 2.0, 3.0))
    cos = ops.sel(q1, ops.neg(s), ops.sel(q2, ops.neg(c), ops.sel(q3, s, c)))
    sin = ops.sel(q1, c, ops.sel(q2, ops.neg(s), ops.sel(q3, ops.neg(c), s)))
    return cos, sin


def _horner(ops, x, coeffs):
    acc = ops.c(coeffs[-1])
    for a in reversed(coeffs[:-1]):
        acc = ops.add(ops.mul(acc, x), ops.c(a))
    return acc


class NumpyOps:
    """The arithmetic of :func:`box_muller` on float64 NumPy arrays (each ufunc rounds once)."""

    c = staticmethod(np.float64)
    add = staticmethod(np.add)
    sub = staticmethod(np.subtract)
    mul = staticmethod(np.multiply)
    div = staticmethod(np.divide)
    neg = staticmethod(np.negative)
    sqrt = staticmethod(np.sqrt)
    rint = staticmethod(np.rint)
    lt = staticmethod(np.less)
    eq = staticmethod(np.equal)
    sel = staticmethod(np.where)

    @staticmethod
    def split_exponent(x):
        m, e = np.frexp(x)
        return m, e.astype(np.float64)


def standard_normal_pairs(u1, u2, dtype):
    """Interleaved normals ``[z0[0], z1[0], z0[1], ...]`` of ``dtype`` from uniforms of any float dtype."""
    with np.errstate(all="ignore"):
        z0, z1 = box_muller(NumpyOps, np.asarray(u1, dtype=np.float64), np.asarray(u2, dtype=np.float64))
    z = np.empty(2 * z0.size, dtype=np.float64)
    z[0::2] = z0
    z[1::2] = z1
    return z.astype(dtype, copy=False)
