"""Sorting: sort and argsort along an axis or of the flattened array (stable; NaN last)."""

import numpy as np

import symgraph.tensor as T

from .harness import ALL, ARRAY, Arg, Case

# "halves" draws repeated values, so stability (the order of ties) is checked.
TIES = Arg(domain="halves")
CUBE = Arg(shape=(2, 3, 4), domain="halves")

SORT = [
    Case("sort_last_axis", T.sort, lambda x: np.sort(x, kind="stable"), args=(TIES,), dtypes=ALL,
         variants=ARRAY),
    Case("sort_axis0_3d", lambda x: T.sort(x, axis=0), lambda x: np.sort(x, axis=0, kind="stable"),
         args=(CUBE,), dtypes=ALL, variants=ARRAY),
    Case("sort_flat", lambda x: T.sort(x, axis=None), lambda x: np.sort(x, axis=None, kind="stable"),
         args=(TIES,), dtypes=ALL, variants=ARRAY),
    Case("sort_method", lambda x: x.sort(axis=-1), lambda x: np.sort(x, axis=-1, kind="stable"),
         args=(TIES,), dtypes=("float32",), variants=ARRAY),
    Case("argsort_last_axis", T.argsort, lambda x: np.argsort(x, kind="stable"), args=(TIES,),
         dtypes=ALL, variants=ARRAY),
    Case("argsort_axisneg2_3d", lambda x: T.argsort(x, axis=-2),
         lambda x: np.argsort(x, axis=-2, kind="stable"), args=(CUBE,), dtypes=ALL, variants=ARRAY),
    Case("argsort_flat", lambda x: T.argsort(x, axis=None),
         lambda x: np.argsort(x, axis=None, kind="stable"), args=(TIES,), dtypes=ALL, variants=ARRAY),
]

CASES = SORT
