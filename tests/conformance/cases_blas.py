"""Products: dot (every rank pairing), tensordot, matmul / ``@``, batched_dot, outer."""

import numpy as np

import symgraph.tensor as T

from .harness import ALL, ARRAY, FLOATS, Arg, Case

PRODUCT_SIGS = ALL + (("int8", "float32"), ("int32", "float64"), ("float32", "float64"))

# The empty variant empties the summed axis, so the product is all zeros.
M34 = Arg(shape=(3, 4), empty_axis=1)
M45 = Arg(shape=(4, 5), empty_axis=0)
V4 = Arg(shape=(4,), empty_axis=0)


BLAS = [
    Case("dot_mm", T.dot, np.dot, args=(M34, M45), dtypes=PRODUCT_SIGS, variants=ARRAY),
    Case("dot_mv", T.dot, np.dot, args=(M34, V4), dtypes=PRODUCT_SIGS, variants=ARRAY),
    Case("dot_vm", T.dot, np.dot, args=(V4, M45), dtypes=PRODUCT_SIGS, variants=ARRAY),
    Case("dot_vv", T.dot, np.dot, args=(V4, V4), dtypes=PRODUCT_SIGS, variants=ARRAY),
    Case("dot_3d_2d", T.dot, np.dot, args=(Arg(shape=(2, 3, 4), empty_axis=2), M45),
         dtypes=("int16", "float32", "float64"), variants=ARRAY),
    Case("dot_scalar", T.dot, np.dot, args=(Arg(shape=()), M34), dtypes=("int8", "float64"),
         variants=("random", "nonfinite")),
    Case("tensordot_axes1", lambda a, b: T.tensordot(a, b, axes=1),
         lambda a, b: np.tensordot(a, b, axes=1),
         args=(Arg(shape=(2, 3, 4), empty_axis=2), M45), dtypes=("int32", "float32", "float64"),
         variants=ARRAY),
    Case("tensordot_pairs", lambda a, b: T.tensordot(a, b, axes=([0, 2], [2, 0])),
         lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 0])),
         args=(Arg(shape=(2, 3, 4), empty_axis=0), Arg(shape=(4, 5, 2), empty_axis=2)),
         dtypes=("int64", "float32", "float64"), variants=ARRAY),
    Case("matmul_batched", T.matmul, np.matmul,
         args=(Arg(shape=(2, 3, 4), empty_axis=2), Arg(shape=(2, 4, 5), empty_axis=1)),
         dtypes=("int8", "float32", "float64", ("int16", "float32")),
         variants=("random", "empty", "strided", "nonfinite")),
    Case("matmul_broadcast_batch", T.matmul, np.matmul,
         args=(Arg(shape=(1, 3, 4), static=(1, None, None)), Arg(shape=(2, 4, 5))),
         dtypes=FLOATS, variants=("random", "strided", "nonfinite")),
    Case("operator_matmul", lambda a, b: a @ b, lambda a, b: a @ b, args=(M34, M45),
         dtypes=("int64", "float32", "float64"), variants=ARRAY),
    Case("batched_dot", T.batched_dot, np.matmul,
         args=(Arg(shape=(2, 3, 4), empty_axis=2), Arg(shape=(2, 4, 5), empty_axis=1)),
         dtypes=("int32", "float32", "float64"), variants=("random", "empty", "strided", "nonfinite")),
    Case("outer", T.outer, np.outer, args=(Arg(shape=(3,)), Arg(shape=(4,))), dtypes=PRODUCT_SIGS,
         variants=ARRAY),
]

CASES = BLAS
