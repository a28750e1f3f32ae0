"""Reduction cases: sum/prod/max/min/all/any over every kind of axis, mean, var,
std, logsumexp, argmax/argmin and the cumulative ops."""

import numpy as np
import scipy.special

import symgraph.tensor as T

from .harness import ALL, ARRAY, FLOATS, NUMERIC, Arg, Case

MATRIX = Arg(shape=(3, 4))
CUBE = Arg(shape=(2, 3, 4))

# (label, axis, keepdims, input): axis None, int, negative, tuple, empty tuple.
AXES = [
    ("all", None, False, MATRIX),
    ("all_keepdims", None, True, MATRIX),
    ("axis1", 1, False, MATRIX),
    ("axisneg2_keepdims", -2, True, MATRIX),
    ("axis02_3d", (0, 2), False, CUBE),
    ("axisneg1neg3_keepdims_3d", (-1, -3), True, CUBE),
]


def _logsumexp(x, axis=None, keepdims=False):
    """scipy's logsumexp, with NumPy's rules where scipy has its own.

    Deviation (documented): over an empty axis symgraph raises ValueError, as
    ``max`` does (scipy raises IndexError; the mathematical value is -inf).
    A 0-d input keeps its shape with ``keepdims`` as ``np.sum`` does (scipy
    gives shape (1,)).
    """
    shape = np.sum(x, axis=axis, keepdims=keepdims).shape
    np.max(x, axis=axis)  # raises ValueError over an empty axis
    return np.reshape(scipy.special.logsumexp(x, axis=axis, keepdims=keepdims), shape)


def _variants(axis):
    # A 0-d input can only be reduced over all of its (no) axes.
    return ARRAY + ("scalar",) if axis is None else ARRAY


def _careduce_cases():
    ops = [("sum", T.sum, np.sum), ("prod", T.prod, np.prod), ("max", T.max, np.max),
           ("min", T.min, np.min), ("all", T.all, np.all), ("any", T.any, np.any)]
    cases = []
    for name, sym, ref in ops:
        for label, axis, keep, arg in AXES:
            cases.append(Case(
                f"{name}_{label}",
                lambda x, sym=sym, axis=axis, keep=keep: sym(x, axis=axis, keepdims=keep),
                lambda x, ref=ref, axis=axis, keep=keep: ref(x, axis=axis, keepdims=keep),
                args=(arg,), dtypes=ALL, variants=_variants(axis),
            ))
    cases.append(Case("sum_axis_empty_tuple", lambda x: T.sum(x, axis=()),
                      lambda x: np.sum(x, axis=()), dtypes=ALL, variants=ARRAY))
    cases.append(Case("sum_dtype_float32", lambda x: T.sum(x, axis=0, dtype="float32"),
                      lambda x: np.sum(x, axis=0, dtype="float32"), dtypes=NUMERIC, variants=ARRAY))
    cases.append(Case("prod_dtype_int32", lambda x: T.prod(x, axis=1, dtype="int32"),
                      lambda x: np.prod(x, axis=1, dtype="int32"), dtypes=("int8", "uint8", "int64"),
                      variants=ARRAY))
    return cases


def _statistic_cases():
    cases = []
    for label, axis, keep, arg in AXES[:5]:
        cases += [
            Case(f"mean_{label}", lambda x, a=axis, k=keep: T.mean(x, axis=a, keepdims=k),
                 lambda x, a=axis, k=keep: np.mean(x, axis=a, keepdims=k),
                 args=(arg,), dtypes=ALL, variants=_variants(axis)),
            Case(f"var_{label}", lambda x, a=axis, k=keep: T.var(x, axis=a, keepdims=k),
                 lambda x, a=axis, k=keep: np.var(x, axis=a, keepdims=k),
                 args=(arg,), dtypes=ALL, variants=_variants(axis), rtol={"float32": 1e-4}),
            Case(f"logsumexp_{label}", lambda x, a=axis, k=keep: T.logsumexp(x, axis=a, keepdims=k),
                 lambda x, a=axis, k=keep: _logsumexp(x, axis=a, keepdims=k),
                 args=(arg,), dtypes=ALL, variants=_variants(axis)),
        ]
    cases += [
        Case("mean_dtype_float32", lambda x: T.mean(x, axis=1, dtype="float32"),
             lambda x: np.mean(x, axis=1, dtype="float32"), dtypes=NUMERIC, variants=ARRAY),
        Case("var_ddof1_axis1", lambda x: T.var(x, axis=1, ddof=1), lambda x: np.var(x, axis=1, ddof=1),
             dtypes=NUMERIC, variants=ARRAY, rtol={"float32": 1e-4}),
        Case("var_corrected_all", lambda x: T.var(x, corrected=True), lambda x: np.var(x, ddof=1),
             dtypes=FLOATS, variants=ARRAY, rtol={"float32": 1e-4}),
        Case("std_all", lambda x: T.std(x), lambda x: np.std(x), dtypes=ALL,
             variants=ARRAY + ("scalar",), rtol={"float32": 1e-4}),
        Case("std_axisneg1_keepdims", lambda x: T.std(x, axis=-1, keepdims=True),
             lambda x: np.std(x, axis=-1, keepdims=True), dtypes=NUMERIC, variants=ARRAY,
             rtol={"float32": 1e-4}),
        Case("std_ddof1_axis0", lambda x: T.std(x, axis=0, ddof=1), lambda x: np.std(x, axis=0, ddof=1),
             dtypes=FLOATS, variants=ARRAY, rtol={"float32": 1e-4}),
        Case("logsumexp_large", lambda x: T.logsumexp(x * 300, axis=1),
             lambda x: _logsumexp(x * 300, axis=1), dtypes=FLOATS, variants=ARRAY),
        # Integers spanning their dtype's range: x - max(x) must not wrap around.
        Case("logsumexp_wide", lambda x: T.logsumexp(x, axis=1), lambda x: _logsumexp(x, axis=1),
             args=(Arg(domain="wide"),), dtypes=ALL, variants=ARRAY),
    ]
    return cases


def _arg_cases():
    cases = []
    for name, sym, ref in (("argmax", T.argmax, np.argmax), ("argmin", T.argmin, np.argmin)):
        for label, axis, keep, arg in [("all", None, False, MATRIX), ("axis1", 1, False, MATRIX),
                                       ("axisneg1_keepdims", -1, True, MATRIX),
                                       ("axis0_3d", 0, False, CUBE)]:
            cases.append(Case(
                f"{name}_{label}",
                lambda x, sym=sym, axis=axis, keep=keep: sym(x, axis=axis, keepdims=keep),
                lambda x, ref=ref, axis=axis, keep=keep: ref(x, axis=axis, keepdims=keep),
                args=(arg,), dtypes=ALL, variants=_variants(axis),
            ))
    return cases


def _cumulative_cases():
    cases = []
    for name, sym, ref in (("cumsum", T.cumsum, np.cumsum), ("cumprod", T.cumprod, np.cumprod)):
        for label, axis, arg in [("all", None, MATRIX), ("axis0", 0, MATRIX), ("axisneg1", -1, MATRIX),
                                 ("axis1_3d", 1, CUBE)]:
            cases.append(Case(
                f"{name}_{label}", lambda x, sym=sym, axis=axis: sym(x, axis=axis),
                lambda x, ref=ref, axis=axis: ref(x, axis=axis),
                args=(arg,), dtypes=ALL, variants=_variants(axis),
            ))
    return cases


METHODS = [
    Case("method_sum", lambda x: x.sum(axis=0), lambda x: x.sum(axis=0), dtypes=NUMERIC, variants=ARRAY),
    Case("method_max_keepdims", lambda x: x.max(axis=1, keepdims=True),
         lambda x: x.max(axis=1, keepdims=True), dtypes=NUMERIC, variants=ARRAY),
    Case("method_mean", lambda x: x.mean(), lambda x: x.mean(), dtypes=FLOATS, variants=ARRAY),
    Case("method_argmax", lambda x: x.argmax(axis=-1), lambda x: x.argmax(axis=-1), dtypes=NUMERIC,
         variants=ARRAY),
]

CASES = _careduce_cases() + _statistic_cases() + _arg_cases() + _cumulative_cases() + METHODS
