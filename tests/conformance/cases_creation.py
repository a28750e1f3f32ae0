"""Array creation: arange, eye, identity_like, tri, tril/triu, repeat, tile."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from .harness import ALL, ARRAY, FLOATS, Arg, Case, fixed

CUBE = Arg(shape=(2, 3, 4))
FIXED_ONLY = ((),)


def _floatx(*args):
    return sg.config.floatX


CREATION = [
    Case("arange_stop", T.arange, np.arange, args=(fixed(5),), dtypes=FIXED_ONLY, variants=("random",)),
    Case("arange_start_stop_step", T.arange, np.arange, args=(fixed(7), fixed(-2), fixed(-3)),
         dtypes=FIXED_ONLY, variants=("random",)),
    Case("arange_empty", T.arange, np.arange, args=(fixed(3), fixed(1)), dtypes=FIXED_ONLY,
         variants=("random",)),
    Case("arange_int32_bounds", T.arange, np.arange,
         args=(fixed(1, "int32"), fixed(9, "int32"), fixed(2, "int32")), dtypes=FIXED_ONLY,
         variants=("random",)),
    Case("arange_float", lambda a, b: T.arange(a, b, 0.5), lambda a, b: np.arange(a, b, 0.5),
         args=(fixed(-1.0, "float64"), fixed(2.0, "float64")), dtypes=FIXED_ONLY, variants=("random",)),
    Case("arange_dtype_float32", lambda n: T.arange(n, dtype="float32"),
         lambda n: np.arange(n, dtype="float32"), args=(fixed(6),), dtypes=FIXED_ONLY,
         variants=("random",)),
    Case("arange_zero_step", T.arange, np.arange, args=(fixed(0), fixed(3), fixed(0)),
         dtypes=FIXED_ONLY, variants=("random",)),
    Case("eye", lambda n, m, k: T.eye(n, m, k), lambda n, m, k: np.eye(n, m, k, dtype=_floatx()),
         args=(fixed(3), fixed(4), fixed(1)), dtypes=FIXED_ONLY, variants=("random",)),
    Case("eye_square_int8", lambda n: T.eye(n, dtype="int8"), lambda n: np.eye(n, dtype="int8"),
         args=(fixed(3),), dtypes=FIXED_ONLY, variants=("random",)),
    Case("eye_negative_k", lambda n, k: T.eye(n, None, k),
         lambda n, k: np.eye(n, None, k, dtype=_floatx()),
         args=(fixed(4), fixed(-2)), dtypes=FIXED_ONLY, variants=("random",)),
    Case("identity_like", T.identity_like, lambda x: np.eye(*x.shape, dtype=x.dtype), dtypes=ALL,
         variants=ARRAY),
    Case("tri", lambda n, m: T.tri(n, m, 1, dtype="int16"), lambda n, m: np.tri(n, m, 1, dtype="int16"),
         args=(fixed(3), fixed(5)), dtypes=FIXED_ONLY, variants=("random",)),
    Case("tril", T.tril, np.tril, dtypes=ALL, variants=ARRAY),
    Case("tril_k1_3d", lambda x: T.tril(x, 1), lambda x: np.tril(x, 1), args=(CUBE,), dtypes=FLOATS,
         variants=ARRAY),
    Case("triu_kneg1", lambda x: T.triu(x, -1), lambda x: np.triu(x, -1), dtypes=ALL, variants=ARRAY),
    Case("repeat_flat", lambda x: T.repeat(x, 2), lambda x: np.repeat(x, 2), dtypes=ALL,
         variants=ARRAY + ("scalar",)),
    Case("repeat_axis1", lambda x: T.repeat(x, 3, axis=1), lambda x: np.repeat(x, 3, axis=1),
         dtypes=ALL, variants=ARRAY),
    Case("repeat_counts", lambda x, r: T.repeat(x, r, axis=0), lambda x, r: np.repeat(x, r, axis=0),
         args=(Arg(), fixed([2, 0, 1])), dtypes=("bool", "int16", "float32"), variants=ARRAY),
    Case("repeat_method", lambda x: x.repeat(2, axis=0), lambda x: x.repeat(2, axis=0),
         dtypes=("float64",), variants=ARRAY),
    Case("tile", lambda x: T.tile(x, (2, 3)), lambda x: np.tile(x, (2, 3)), dtypes=ALL, variants=ARRAY),
    Case("tile_new_axes", lambda x: T.tile(x, (2, 1, 2)), lambda x: np.tile(x, (2, 1, 2)),
         args=(Arg(shape=(4,)),), dtypes=("int8", "float32"), variants=ARRAY + ("scalar",)),
]

CASES = CREATION
