"""erf, sin, cos and pow as inline IR (see vecmath.py for the approach and the Emitter).

Coefficients are Chebyshev fits (mpmath ``chebyfit``) rounded to float64;
the comments name the fitted function and interval.
"""

import math

from llvmlite import ir

from .codegen import F32
from .vecmath import LN2, LN2_LO, _split, exp, log

# erf(x) / x - 1 in z = x**2, |x| <= 1.
ERF_G = (0.12837916709551256, -0.37612638903183543, 0.11283791670945006, -0.02686617064323777,
         0.0052239776071164225, -0.0008548325975389692, 0.00012055294904839707, -1.492473690741966e-05,
         1.6447424703317362e-06, -1.6208483801871705e-07, 1.3720064546777686e-08, -7.795898827002142e-10)
# erfc(x) exp(x**2) in (x - centre) on [1, 2], [2, 3.5], [3.5, 6]: (centre, coefficients).
ERFC_R = (
    (1.5, (0.3215854164543175, -0.16362291773256007, 0.07615103985548055, -0.03293090529956347,
           0.013377340952802835, -0.005145957547915988, 0.0018861348854630824, -0.0006619300686179933,
           0.00022330981211640024, -7.265888759557882e-05, 2.286543658874603e-05, -6.975285854904505e-06,
           2.061689065129881e-06, -5.946998373950516e-07, 1.8038197652346406e-07, -4.932844202000261e-08)),
    (2.75, (0.19366209627906866, -0.06323763756063483, 0.01975859298732897, -0.005934337896999284,
            0.001719581885061462, -0.0004821950849322654, 0.0001311818037632169, -3.4698610270387155e-05,
            8.940133543917338e-06, -2.247368610883161e-06, 5.520607070345556e-07, -1.3264363071840677e-07,
            3.103266553704028e-08, -7.162110554563578e-09, 1.819371994210045e-09, -4.029989243785423e-10)),
    (4.75, (0.11630270720874594, -0.023503448597910273, 0.004661326438113046, -0.000908098908675339,
            0.00017392778941474965, -3.277569444797808e-05, 6.082510682228709e-06, -1.1118029273174716e-06,
            1.9859009944209772e-07, -3.5308951693218504e-08, 7.185117567525625e-09, -1.2397154955686125e-09,
            0.0, 0.0, 0.0, 0.0)),
)
# (sin(r) / r - 1) / r**2 and (cos(r) - 1 + r**2 / 2) / r**4 in z = r**2, |r| <= pi/4.
SIN_S = (-0.16666666666666666, 0.008333333333333331, -0.00019841269841265065, 2.7557319219339167e-06,
         -2.5052106232447578e-08, 1.6058531618986147e-10, -7.586697117706918e-13)
COS_C = (0.041666666666666664, -0.0013888888888888887, 2.4801587301584645e-05, -2.7557319221402824e-07,
         2.087675579108042e-09, -1.1470460887609959e-11, 4.7458719020432915e-14)
SIN_S32 = (-0.1666666666385529, 0.008333331874710208, -0.00019840086735384846, 2.724992580305979e-06)
COS_C32 = (0.0416666666643212, -0.001388888767201679, 2.480060037715673e-05, -2.730095920390147e-07)
# (LOG_H(z) - 2/3) / z: the terms of 2 atanh(s) from s**5 on, for pow's log in double-double.
LOG_T2 = (0.4, 0.28571428571429364, 0.22222222221656232, 0.18181818335314404, 0.15384594970895457,
          0.13334804238225345, 0.11706248540922386, 0.11723051028097753)
TWO_THIRDS, TWO_THIRDS_LO = 0.6666666666666666, 3.700743415417188e-17
# pi/2 as 33 + 33 + 53 bits: k * PIO2_1 and k * PIO2_2 are exact while k < 2**20.
PIO2_1, PIO2_2, PIO2_3 = 1.5707963267341256, 6.077100506303966e-11, 2.0222662487959506e-21
TWO_OVER_PI = 0.6366197723675814
# Beyond this the three-part reduction loses accuracy near multiples of pi/2: libm takes over.
TRIG_LIMIT = 1e5


def erf(E, x):
    a = E.fabs(x)
    small = E.fma(x, E.poly(E.mul(x, x), ERF_G), x)
    # erf = 1 - erfc, erfc(a) = e^(-a^2) R(a); a^2 = h + l exactly, e^(-h - l) ~ e^(-h) (1 - l).
    a = E.clamp(a, 1.0, 6.0)
    regions = [E.cmp("<", a, E.c(2.0)), E.cmp("<", a, E.c(3.5))]

    def pick(values):
        return E.sel(regions[0], E.c(values[0]), E.sel(regions[1], E.c(values[1]), E.c(values[2])))

    t = E.sub(a, pick([c for c, _ in ERFC_R]))
    coeffs = [pick(cs) for cs in zip(*[r for _, r in ERFC_R])]
    acc = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        acc = E.fma(acc, t, c)
    h = E.mul(a, a)
    l_ = E.fma(a, a, E.sub(E.c(0.0), h))
    e = exp(E, E.sub(E.c(0.0), h))
    erfc = E.mul(E.fma(E.sub(E.c(0.0), e), l_, e), acc)
    large = E.copysign(E.sub(E.c(1.0), erfc), x)
    return E.sel(E.cmp("<", E.fabs(x), E.c(1.0)), small, large)


# Vector widths the masked variants of the libm fallback are provided for.
VARIANT_WIDTHS = (2, 4, 8, 16)


def _libm_call(E, name, x):
    """libm's ``name`` (sin or cos, float64 or float32) on x, for the rare lanes that need it,
    in a loop LLVM still vectorises.

    The loop vectoriser only predicates a call that has a masked vector variant
    ("vector-function-abi-variant"); each variant calls libm for the lanes whose
    mask bit is set.  Under its own name ``sin`` would become ``llvm.sin``, which
    is widened into a call for every lane, taken or not.
    """
    module = E.b.module
    suffix = "f" if x.type == F32 else ""
    if module.globals.get(f"symgraph_libm_sin{suffix}") is None:
        # sin and cos of one precision at once (trig code often needs both); vecmath.bind_symbols binds them.
        used = []
        for scalar in (f"symgraph_libm_sin{suffix}", f"symgraph_libm_cos{suffix}"):
            fn = ir.Function(module, ir.FunctionType(x.type, [x.type]), name=scalar)
            for attr in ("nounwind", "readnone"):
                fn.attributes.add(attr)
            variants = ",".join(f"_ZGV_LLVM_M{n}v_{scalar}({scalar}_m{n})" for n in VARIANT_WIDTHS)
            set.add(fn.attributes, f'"vector-function-abi-variant"="{variants}"')  # llvmlite has no string attributes
            used += [_masked_variant(module, fn, n) for n in VARIANT_WIDTHS]
        _keep(module, used)
    return E.b.call(module.globals[f"symgraph_libm_{name}{suffix}"], [x])


def _masked_variant(module, scalar_fn, n):
    vec, mask_t = ir.VectorType(scalar_fn.return_value.type, n), ir.VectorType(ir.IntType(1), n)
    fn = ir.Function(module, ir.FunctionType(vec, [vec, mask_t]), name=f"{scalar_fn.name}_m{n}")
    fn.linkage = "internal"
    x, mask = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    acc = ir.Constant(vec, None)
    # Called for every vector of the loop: leave at once when no lane needs libm.
    none = b.icmp_unsigned("==", b.bitcast(mask, ir.IntType(n)), ir.Constant(ir.IntType(n), 0))
    with b.if_then(none, likely=True):
        b.ret(acc)
    for lane in range(n):
        i = ir.Constant(ir.IntType(32), lane)
        before = b.block
        with b.if_then(b.extract_element(mask, i)):
            taken = b.insert_element(acc, b.call(scalar_fn, [b.extract_element(x, i)]), i)
            then = b.block
        phi = b.phi(vec)
        phi.add_incoming(acc, before)
        phi.add_incoming(taken, then)
        acc = phi
    b.ret(acc)
    return fn


def _keep(module, functions):
    """List ``functions`` in llvm.compiler.used, so they outlive dead-code removal until vectorisation."""
    ptr = ir.PointerType()
    # One global per module: a later call (the other precision) extends it.
    used = module.globals.get("llvm.compiler.used")
    if used is None:
        used = ir.GlobalVariable(module, ir.ArrayType(ptr, 0), "llvm.compiler.used")
        used.linkage = "appending"
        used.section = "llvm.metadata"
        used.initializer = ir.Constant(used.value_type, [])
    elements = list(used.initializer.constant) + [f.bitcast(ptr) if f.type != ptr else f for f in functions]
    used.value_type = ir.ArrayType(ptr, len(elements))
    used.initializer = ir.Constant(used.value_type, elements)


def _trig(E, x, cosine):
    kf, k = E.round_int(E.mul(x, E.c(TWO_OVER_PI)))
    minus_k = E.sub(E.c(0.0), kf)
    t = E.fma(minus_k, E.c(PIO2_1), x)
    w = E.mul(kf, E.c(PIO2_2))
    # t - w as an exact sum (TwoSum), then the third part and the error folded in.
    r1 = E.sub(t, w)
    bb = E.sub(r1, t)
    e1 = E.add(E.sub(t, E.sub(r1, bb)), E.sub(E.sub(E.c(0.0), w), bb))
    y = E.fma(minus_k, E.c(PIO2_3), e1)
    hi = E.add(r1, y)
    lo = E.add(E.sub(r1, hi), y)
    z = E.mul(hi, hi)
    half_z = E.mul(E.c(0.5), z)
    sin_r = E.add(hi, E.fma(E.mul(hi, z), E.poly(z, E.pick(SIN_S, SIN_S32)), E.fma(E.sub(E.c(0.0), half_z), lo, lo)))
    w1 = E.sub(E.c(1.0), half_z)
    cos_r = E.add(w1, E.add(E.sub(E.sub(E.c(1.0), w1), half_z),
                            E.fma(E.mul(z, z), E.poly(z, E.pick(COS_C, COS_C32)), E.mul(E.sub(E.c(0.0), hi), lo))))
    return quadrant_result(E, x, k, sin_r, cos_r, cosine, TRIG_LIMIT)


def quadrant_result(E, x, k, sin_r, cos_r, cosine, limit):
    """sin or cos of x from those of its reduced argument r = x - k pi/2 (either precision).

    Arguments above ``limit`` (and inf) are rare: a branch to libm, which the
    vectoriser predicates, keeps them exact and the loop vectorisable.
    """
    q = E.b.add(k, E.i(1)) if cosine else k
    swap = E.b.icmp_unsigned("!=", E.b.and_(k, E.i(1)), E.i(0))
    negate = E.b.icmp_unsigned("!=", E.b.and_(q, E.i(2)), E.i(0))
    v = E.sel(swap, sin_r if cosine else cos_r, cos_r if cosine else sin_r)
    out = E.sel(negate, E.neg(v), v)
    if not cosine:
        out = E.sel(E.cmp("==", x, E.c(0.0)), x, out)  # keeps -0
    b = E.b
    huge = E.cmp(">", E.fabs(x), E.c(limit))
    before = b.block
    with b.if_then(huge, likely=False):
        slow = _libm_call(E, "cos" if cosine else "sin", x)
        slow_block = b.block
    phi = b.phi(x.type)
    phi.add_incoming(out, before)
    phi.add_incoming(slow, slow_block)
    return phi


def sin(E, x):
    return _trig(E, x, False)


def cos(E, x):
    return _trig(E, x, True)


def _two_sum(E, a, b):
    s = E.add(a, b)
    v = E.sub(s, a)
    return s, E.add(E.sub(a, E.sub(s, v)), E.sub(b, v))


def _log_dd(E, a):
    """log(a) for a > 0 as a double-double (head, tail), relative error near 2**-70.

    pow multiplies it by y: an error in log a grows by |y log a| (up to ~745), so
    the float64 log's half ulp is not enough.
    """
    tiny = E.cmp("<", a, E.c(2.2250738585072014e-308))
    kf, m = _split(E, E.sel(tiny, E.mul(a, E.c(2.0 ** 54)), a))
    kf = E.sub(kf, E.sel(tiny, E.c(54.0), E.c(0.0)))
    f = E.sub(m, E.c(1.0))
    # log(1 + f) = 2 atanh(s), s = f / (2 + f), with s and its powers carried with their tails.
    d = E.add(E.c(2.0), f)
    d_lo = E.add(E.sub(E.c(2.0), d), f)
    s = E.div(f, d)
    s_lo = E.div(E.sub(E.fma(E.sub(E.c(0.0), s), d, f), E.mul(s, d_lo)), d)
    z = E.mul(s, s)
    z_lo = E.fma(s, s, E.sub(E.c(0.0), z))
    z_lo = E.fma(E.mul(E.c(2.0), s), s_lo, z_lo)
    c3 = E.mul(z, s)
    c3_lo = E.add(E.fma(z, s, E.sub(E.c(0.0), c3)), E.fma(z, s_lo, E.mul(z_lo, s)))
    t1 = E.mul(c3, E.c(TWO_THIRDS))
    t1_lo = E.add(E.fma(c3, E.c(TWO_THIRDS), E.sub(E.c(0.0), t1)),
                  E.fma(c3, E.c(TWO_THIRDS_LO), E.mul(c3_lo, E.c(TWO_THIRDS))))
    t2 = E.mul(E.mul(c3, z), E.poly(z, LOG_T2))
    k_ln2 = E.mul(kf, E.c(LN2))
    k_ln2_lo = E.fma(kf, E.c(LN2), E.sub(E.c(0.0), k_ln2))
    k_ln2_lo = E.fma(kf, E.c(LN2_LO), k_ln2_lo)
    head, err = _two_sum(E, k_ln2, E.mul(E.c(2.0), s))
    head, err2 = _two_sum(E, head, t1)
    tail = E.add(E.add(E.add(err, err2), E.add(k_ln2_lo, E.mul(E.c(2.0), s_lo))), E.add(t1_lo, t2))
    hi = E.add(head, tail)
    return hi, E.add(E.sub(head, hi), tail)


def pow_(E, x, y):
    """x**y as exp(y log|x|) with C99's special cases."""
    b = E.b
    one, zero = E.c(1.0), E.c(0.0)
    ax = E.fabs(x)
    if E.single:
        out = exp(E, E.mul(y, log(E, ax)))
    else:
        lh, ll = _log_dd(E, ax)
        w = E.mul(y, lh)
        w_lo = E.fma(y, ll, E.fma(y, lh, E.sub(zero, w)))
        # Where y log|x| is out of exp's range (or inf, NaN) its tail is meaningless; 0 or inf
        # comes from the head alone.  log 0 and log inf come from the head too.
        finite = b.and_(E.cmp("<", E.fabs(w), E.c(1000.0)), E.cmp("<", ax, E.c(math.inf)))
        finite = b.and_(finite, E.cmp(">", ax, zero))
        w = E.sel(E.cmp("==", ax, zero), E.mul(y, E.c(-math.inf)), w)
        w = E.sel(E.cmp("==", ax, E.c(math.inf)), E.mul(y, E.c(math.inf)), w)
        out = exp(E, w, E.sel(finite, w_lo, zero))
    integer = E.cmp("==", E.rint(y), y)
    half = E.mul(y, E.c(0.5))
    odd = b.and_(integer, E.b.fcmp_unordered("!=", E.rint(half), half))
    negative = b.icmp_signed("<", E.bits(x), E.i(0))  # sign bit, so -0 counts
    out = E.sel(b.and_(negative, odd), E.neg(out), out)
    finite_negative = b.and_(E.cmp("<", x, zero), E.cmp(">", x, E.c(-math.inf)))
    not_integer = b.and_(b.not_(integer), E.cmp("<", E.fabs(y), E.c(math.inf)))
    out = E.sel(b.and_(finite_negative, not_integer), E.c(math.nan), out)
    # |x| == 1 with y = +-inf gives 0 * inf above; C99 says 1.
    out = E.sel(b.and_(E.cmp("==", ax, one), E.cmp("==", E.fabs(y), E.c(math.inf))), one, out)
    out = E.sel(b.fcmp_unordered("uno", x, y), E.add(x, y), out)
    return E.sel(b.or_(E.cmp("==", y, zero), E.cmp("==", x, one)), one, out)


UNARY = {"erf": erf, "sin": sin, "cos": cos}
BINARY = {"pow": pow_}
