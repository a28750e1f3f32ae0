"""Indexing: basic (ints, slices, new axes, Ellipsis, symbolic bounds), advanced
(integer arrays, boolean masks, take, nonzero) and set/inc_subtensor of both.

Out-of-range indices must raise IndexError as NumPy does: in the ``empty`` and
``broadcast`` variants a fixed index often falls outside the smaller array,
which checks exactly that.
"""

import numpy as np

import symgraph.tensor as T

from .harness import ALL, ARRAY, FLOATS, Arg, Case, fixed

CUBE = Arg(shape=(2, 3, 4))
IDX = fixed([2, 0, -1, 2])
INDEX_DTYPES = ("bool", "int8", "uint8", "int64", "float32", "float64")


def _set(index):
    def reference(x, y):
        out = np.array(x, copy=True)
        out[index] = y
        return out

    return reference


def _inc(index):
    def reference(x, y):
        out = np.array(x, copy=True)
        np.add.at(out, index, y)
        return out

    return reference


BASIC = [
    Case("getitem_int", lambda x: x[1], lambda x: x[1], dtypes=ALL, variants=ARRAY),
    Case("getitem_negative_int", lambda x: x[-1, -2], lambda x: x[-1, -2], dtypes=ALL, variants=ARRAY),
    Case("getitem_slice", lambda x: x[1:3], lambda x: x[1:3], dtypes=ALL, variants=ARRAY),
    Case("getitem_negative_step", lambda x: x[::-1, 3:0:-2], lambda x: x[::-1, 3:0:-2], dtypes=ALL,
         variants=ARRAY),
    Case("getitem_mixed", lambda x: x[:, 1:, None, 0], lambda x: x[:, 1:, None, 0], args=(CUBE,),
         dtypes=ALL, variants=ARRAY),
    Case("getitem_ellipsis", lambda x: x[..., -1], lambda x: x[..., -1], args=(CUBE,), dtypes=ALL,
         variants=ARRAY),
    Case("getitem_out_of_range", lambda x: x[3], lambda x: x[3], dtypes=("float64",),
         variants=("random",)),
    Case("getitem_symbolic_int", lambda x, i: x[i], lambda x, i: x[i], args=(Arg(), fixed(-2)),
         dtypes=ALL, variants=ARRAY),
    Case("getitem_symbolic_slice", lambda x, i, j: x[:, i:j], lambda x, i, j: x[:, i:j],
         args=(Arg(), fixed(1), fixed(-1, "int32")), dtypes=INDEX_DTYPES, variants=ARRAY),
    Case("set_subtensor_slice", lambda x, y: T.set_subtensor(x[1:3], y), _set(np.s_[1:3]),
         args=(Arg(), Arg(shape=(2, 4))), dtypes=INDEX_DTYPES + (("float64", "int8"),),
         variants=("random", "strided", "nonfinite")),
    Case("set_subtensor_broadcast_value", lambda x, y: T.set_subtensor(x[:, ::2], y),
         _set(np.s_[:, ::2]), args=(Arg(), Arg(shape=(1, 2), static=(1, None))), dtypes=INDEX_DTYPES,
         variants=("random", "empty", "strided", "nonfinite")),
    Case("inc_subtensor_int", lambda x, y: T.inc_subtensor(x[:, 1], y), _inc(np.s_[:, 1]),
         args=(Arg(), Arg(shape=(3,))), dtypes=("int8", "int64", "float32", "float64"),
         variants=("random", "empty", "strided", "nonfinite")),
]

ADVANCED = [
    Case("getitem_int_vector", lambda x, i: x[i], lambda x, i: x[i], args=(Arg(), IDX), dtypes=ALL,
         variants=ARRAY),
    Case("getitem_int_vector_axis1", lambda x, i: x[:, i], lambda x, i: x[:, i],
         args=(Arg(), fixed([3, -4, 1])), dtypes=INDEX_DTYPES, variants=ARRAY),
    Case("getitem_int_matrix", lambda x, i: x[i], lambda x, i: x[i],
         args=(Arg(), fixed([[0, 1], [2, 0]])),
         dtypes=INDEX_DTYPES, variants=ARRAY),
    Case("getitem_two_arrays", lambda x, i, j: x[i, j], lambda x, i, j: x[i, j],
         args=(CUBE, fixed([1, 0]), fixed([2, -1])), dtypes=INDEX_DTYPES, variants=ARRAY),
    Case("getitem_arrays_apart", lambda x, i, j: x[i, :, j], lambda x, i, j: x[i, :, j],
         args=(CUBE, fixed([1, 0, 1]), fixed([3, 0, 2])), dtypes=("int16", "float32"), variants=ARRAY),
    Case("getitem_mask", lambda x, m: x[m], lambda x, m: x[m],
         args=(Arg(), Arg(domain="bool", dtype="bool")), dtypes=INDEX_DTYPES,
         variants=("random", "empty", "strided", "nonfinite")),
    Case("getitem_mask_expression", lambda x: x[x > 0], lambda x: x[x > 0],
         dtypes=("int8", "float32", "float64"), variants=ARRAY),
    Case("getitem_index_out_of_range", lambda x, i: x[i], lambda x, i: x[i],
         args=(Arg(), fixed([0, 3])),
         dtypes=("float64",), variants=("random",)),
    Case("take_axis1", lambda x, i: T.take(x, i, axis=1), lambda x, i: np.take(x, i, axis=1),
         args=(Arg(), IDX), dtypes=INDEX_DTYPES, variants=ARRAY),
    Case("take_flat", lambda x, i: T.take(x, i), lambda x, i: np.take(x, i),
         args=(Arg(), fixed([5, -1, 0])),
         dtypes=("int32", "float64"), variants=ARRAY),
    Case("take_wrap", lambda x, i: T.take(x, i, axis=0, mode="wrap"),
         lambda x, i: np.take(x, i, axis=0, mode="wrap"), args=(Arg(), fixed([4, -5, 1])),
         dtypes=("float32",), variants=("random", "strided", "broadcast")),
    Case("nonzero", T.nonzero, np.nonzero, args=(Arg(domain="halves"),), dtypes=ALL, variants=ARRAY),
    Case("flatnonzero", T.flatnonzero, np.flatnonzero, args=(Arg(domain="halves"),),
         dtypes=("bool", "int8", "float64"), variants=ARRAY),
    Case("nonzero_values", T.nonzero_values, lambda x: x[x != 0], args=(Arg(domain="halves"),),
         dtypes=("int8", "float32"), variants=ARRAY),
    Case("set_subtensor_int_vector", lambda x, y, i: T.set_subtensor(x[i], y),
         lambda x, y, i: _set(np.asarray(i))(x, y), args=(Arg(), Arg(shape=(3, 4)), fixed([2, 0, -2])),
         dtypes=INDEX_DTYPES, variants=("random", "strided", "nonfinite")),
    Case("inc_subtensor_repeated", lambda x, y, i: T.inc_subtensor(x[i], y),
         lambda x, y, i: _inc(np.asarray(i))(x, y), args=(Arg(), Arg(shape=(4, 4)), IDX),
         dtypes=("int8", "int64", "float32", "float64"), variants=("random", "strided", "nonfinite")),
    Case("inc_subtensor_mask", lambda x, y, m: T.inc_subtensor(x[m], y),
         lambda x, y, m: np.where(m, x + y, x), args=(Arg(), Arg(shape=()), Arg(domain="bool", dtype="bool")),
         dtypes=FLOATS, variants=("random", "strided", "nonfinite")),
]

CASES = BASIC + ADVANCED
