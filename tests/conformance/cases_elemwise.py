"""Elementwise cases: unary and binary math, comparisons, logic and bit ops,
switch, clip, casts between every dtype pair, and Python-scalar operands."""

import numpy as np
import scipy.special

import symgraph.tensor as T

from .harness import ALL, FLOATS, INTS, NUMERIC, Arg, Case

# ---- unary --------------------------------------------------------------------------------------

# (name, symbolic, NumPy, domain of the input, loosened rtol by output dtype)
_UNARY = [
    ("neg", T.neg, np.negative, "real", {}),
    ("abs", T.abs, np.absolute, "real", {}),
    ("sgn", T.sgn, np.sign, "real", {}),
    ("exp", T.exp, np.exp, "real", {}),
    ("exp2", T.exp2, np.exp2, "real", {}),
    ("expm1", T.expm1, np.expm1, "real", {}),
    ("log", T.log, np.log, "positive", {}),
    ("log2", T.log2, np.log2, "positive", {}),
    ("log10", T.log10, np.log10, "positive", {}),
    ("log1p", T.log1p, np.log1p, "positive", {}),
    ("sqrt", T.sqrt, np.sqrt, "positive", {}),
    ("sqr", T.sqr, np.square, "real", {}),
    ("reciprocal", T.reciprocal, np.reciprocal, "nonzero", {}),
    ("sin", T.sin, np.sin, "real", {}),
    ("cos", T.cos, np.cos, "real", {}),
    ("tan", T.tan, np.tan, "real", {}),
    ("arcsin", T.arcsin, np.arcsin, "unit", {}),
    ("arccos", T.arccos, np.arccos, "unit", {}),
    ("arctan", T.arctan, np.arctan, "real", {}),
    ("sinh", T.sinh, np.sinh, "real", {}),
    ("cosh", T.cosh, np.cosh, "real", {}),
    ("tanh", T.tanh, np.tanh, "real", {}),
    ("arcsinh", T.arcsinh, np.arcsinh, "real", {}),
    ("arccosh", T.arccosh, np.arccosh, "ge1", {}),
    ("arctanh", T.arctanh, np.arctanh, "unit", {}),
    ("erf", T.erf, scipy.special.erf, "real", {}),
    ("erfc", T.erfc, scipy.special.erfc, "real", {}),
    ("erfinv", T.erfinv, scipy.special.erfinv, "unit", {"float32": 1e-4}),
    ("gammaln", T.gammaln, scipy.special.gammaln, "positive", {"float32": 1e-4}),
    ("psi", T.psi, scipy.special.psi, "positive", {"float32": 1e-4}),
    ("sigmoid", T.sigmoid, scipy.special.expit, "real", {}),
    ("softplus", T.softplus, lambda x: np.logaddexp(np.zeros((), x.dtype), x), "real", {}),
    ("floor", T.floor, np.floor, "real", {}),
    ("ceil", T.ceil, np.ceil, "real", {}),
    ("trunc", T.trunc, np.trunc, "real", {}),
    ("round", T.round, np.round, "real", {}),
    ("round_ties", T.round, np.round, "halves", {}),
    ("isnan", T.isnan, np.isnan, "real", {}),
    ("isinf", T.isinf, np.isinf, "real", {}),
    ("isfinite", T.isfinite, np.isfinite, "real", {}),
    ("logical_not", T.logical_not, np.logical_not, "real", {}),
    ("invert", T.invert, np.invert, "real", {}),
    ("identity", T.identity, np.copy, "real", {}),
]

UNARY = [
    Case(name, build, ref, args=(Arg(domain=domain),), rtol=rtol)
    for name, build, ref, domain, rtol in _UNARY
]


def _like_sin(numpy_dtypes, input_dtypes):
    out = np.sin(np.ones(1, dtype=input_dtypes[0])).dtype.name
    return ["float32" if out == "float16" else out]


UNARY.append(Case(
    "polygamma1", lambda x: T.polygamma(1, x), lambda x: scipy.special.polygamma(1, x),
    args=(Arg(domain="positive"),), rtol={"float32": 1e-4}, dtype_rule=_like_sin,
    deviation="scipy's polygamma always returns float64; symgraph's keeps float32 as the other "
              "unary functions do (the dtype np.sin gives)",
))

# ---- binary -------------------------------------------------------------------------------------

# Mixed signatures exercise NumPy 2 promotion (int8 + uint8 -> int16, int64 + float32 -> float64 ...).
MIXED = (
    ("bool", "int8"), ("int8", "uint8"), ("int16", "uint8"), ("int32", "float32"),
    ("int64", "float32"), ("uint8", "float32"), ("int16", "float64"), ("float32", "float64"),
)
BINARY_SIGS = ALL + MIXED

# (name, symbolic, NumPy, domains of the two inputs)
_BINARY = [
    ("add", T.add, np.add, ("real", "real")),
    ("sub", T.sub, np.subtract, ("real", "real")),
    ("mul", T.mul, np.multiply, ("real", "real")),
    ("true_div", T.true_div, np.true_divide, ("real", "nonzero")),
    ("int_div", T.int_div, np.floor_divide, ("real", "nonzero")),
    ("mod", T.mod, np.mod, ("real", "nonzero")),
    ("pow", T.pow, np.power, ("real", "nonneg")),
    ("maximum", T.maximum, np.maximum, ("real", "real")),
    ("minimum", T.minimum, np.minimum, ("real", "real")),
    ("arctan2", T.arctan2, np.arctan2, ("real", "real")),
    ("logaddexp", T.logaddexp, np.logaddexp, ("real", "real")),
    ("lt", T.lt, np.less, ("real", "real")),
    ("gt", T.gt, np.greater, ("real", "real")),
    ("le", T.le, np.less_equal, ("real", "real")),
    ("ge", T.ge, np.greater_equal, ("real", "real")),
    ("eq", T.eq, np.equal, ("halves", "halves")),
    ("neq", T.neq, np.not_equal, ("halves", "halves")),
    ("and", T.and_, np.bitwise_and, ("real", "real")),
    ("or", T.or_, np.bitwise_or, ("real", "real")),
    ("xor", T.xor, np.bitwise_xor, ("real", "real")),
    ("logical_and", T.logical_and, np.logical_and, ("bool", "real")),
    ("logical_or", T.logical_or, np.logical_or, ("bool", "real")),
    ("logical_xor", T.logical_xor, np.logical_xor, ("bool", "real")),
]

# Integers over their whole range: sums and products wrap around, as in NumPy.
WRAPPING = [
    Case(f"{name}_wrap", build, ref, args=(Arg(domain="wide"), Arg(domain="wide")), dtypes=INTS)
    for name, build, ref in (("add", T.add, np.add), ("sub", T.sub, np.subtract),
                             ("mul", T.mul, np.multiply))
]

BINARY = [
    Case(name, build, ref, args=(Arg(domain=d0), Arg(domain=d1)), dtypes=BINARY_SIGS)
    for name, build, ref, (d0, d1) in _BINARY
]

# Operators, and a vector broadcast against a matrix by rank.
OPERATORS = [
    Case("operator_add_rank", lambda a, b: a + b, lambda a, b: a + b,
         args=(Arg(shape=(4,)), Arg()), dtypes=NUMERIC + MIXED),
    Case("operator_sub", lambda a, b: a - b, lambda a, b: a - b, args=(Arg(), Arg()),
         dtypes=NUMERIC),
    Case("operator_mul_rank", lambda a, b: a * b, lambda a, b: a * b,
         args=(Arg(), Arg(shape=(2, 1, 4), static=(None, 1, None))), dtypes=NUMERIC,
         variants=("random", "strided", "nonfinite")),
    Case("operator_div", lambda a, b: a / b, lambda a, b: a / b,
         args=(Arg(), Arg(domain="nonzero")), dtypes=NUMERIC),
    Case("operator_floordiv", lambda a, b: a // b, lambda a, b: a // b,
         args=(Arg(), Arg(domain="nonzero")), dtypes=NUMERIC),
    Case("operator_mod", lambda a, b: a % b, lambda a, b: a % b,
         args=(Arg(), Arg(domain="nonzero")), dtypes=NUMERIC),
    Case("operator_pow", lambda a, b: a ** b, lambda a, b: a ** b,
         args=(Arg(domain="positive"), Arg(domain="nonneg")), dtypes=NUMERIC),
    Case("operator_neg", lambda a: -a, lambda a: -a, dtypes=NUMERIC),
    Case("operator_abs", lambda a: abs(a), lambda a: abs(a), dtypes=NUMERIC),
    Case("operator_invert", lambda a: ~a, lambda a: ~a, dtypes=("bool",) + INTS),
    Case("operator_cmp_chain", lambda a, b: (a < b) | (a >= 1), lambda a, b: (a < b) | (a >= 1),
         args=(Arg(), Arg()), dtypes=NUMERIC),
]

# Python scalars take the other operand's dtype, as NumPy 2 (NEP 50).
PYTHON_SCALARS = [
    Case("pyscalar_add_int", lambda x: x + 2, lambda x: x + 2, dtypes=NUMERIC),
    Case("pyscalar_radd_bool_int", lambda x: 2 + x, lambda x: 2 + x, dtypes=("bool",)),
    Case("pyscalar_mul_float", lambda x: x * 1.5, lambda x: x * 1.5, dtypes=ALL),
    Case("pyscalar_rsub_int", lambda x: 3 - x, lambda x: 3 - x, dtypes=NUMERIC),
    Case("pyscalar_div_int", lambda x: x / 2, lambda x: x / 2, dtypes=ALL),
    Case("pyscalar_rdiv_float", lambda x: 1.0 / x, lambda x: 1.0 / x,
         args=(Arg(domain="nonzero"),), dtypes=NUMERIC),
    Case("pyscalar_pow_int", lambda x: x ** 2, lambda x: x ** 2, dtypes=NUMERIC),
    Case("pyscalar_rpow_float", lambda x: 2.0 ** x, lambda x: 2.0 ** x, dtypes=NUMERIC),
    Case("pyscalar_gt_float", lambda x: x > 0.5, lambda x: x > 0.5, dtypes=ALL),
    Case("pyscalar_maximum_int", lambda x: T.maximum(x, 1), lambda x: np.maximum(x, 1),
         dtypes=NUMERIC),
]

# ---- switch and clip ----------------------------------------------------------------------------

_COND = Arg(domain="bool")
SWITCH = [
    Case("switch", T.switch, np.where, args=(_COND, Arg(), Arg()),
         dtypes=[(c, d, d) for c, d in zip(("bool",) * 8, ALL)]
         + [("bool", "int8", "float32"), ("bool", "uint8", "int8"), ("int8", "float32", "float32"),
            ("float64", "int32", "int32")]),
    Case("where", T.where, np.where, args=(_COND, Arg(), Arg()),
         dtypes=[("bool", "float32", "float64")]),
    Case("switch_pyscalar", lambda c, a: T.switch(c, a, 0), lambda c, a: np.where(c, a, 0),
         args=(_COND, Arg()), dtypes=[("bool", d) for d in ALL]),
]

CLIP = [
    Case("clip", T.clip, lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
         args=(Arg(), Arg(domain="real"), Arg(domain="positive")),
         dtypes=NUMERIC + (("float32", "float64", "float32"), ("int8", "uint8", "int16"))),
    Case("clip_pyscalar", lambda x: T.clip(x, 1, 4), lambda x: np.clip(x, 1, 4), dtypes=NUMERIC),
    Case("clip_method", lambda x: x.clip(0.5, 2.5), lambda x: np.clip(x, 0.5, 2.5), dtypes=FLOATS),
]

# ---- casts --------------------------------------------------------------------------------------


def _cast_domain(source, target):
    # Floats become unsigned only from non-negative values: a negative float
    # converted to uint8 is undefined in C, so NumPy's result is the platform's.
    if np.dtype(target).kind == "u" and np.dtype(source).kind == "f":
        return "wide_nonneg"
    return "wide"


def _float_to_int_nonfinite(dtypes, variant):
    # NaN and inf have no integer value: NumPy's cast result is undefined.
    return variant == "nonfinite" and "undefined in NumPy"


def _cast_cases():
    cases = []
    for target in ALL:
        excl = _float_to_int_nonfinite if np.dtype(target).kind in "iu" else None
        for source in ALL:
            cases.append(Case(
                f"cast_to_{target}",
                lambda x, target=target: T.cast(x, target),
                lambda x, target=target: x.astype(target),
                args=(Arg(domain=_cast_domain(source, target)),),
                dtypes=(source,),
                exclude=excl,
            ))
    return cases


CASTS = _cast_cases() + [
    Case("astype_float32", lambda x: x.astype("float32"), lambda x: x.astype("float32"),
         dtypes=ALL),
]

CASES = UNARY + BINARY + WRAPPING + OPERATORS + PYTHON_SCALARS + SWITCH + CLIP + CASTS
