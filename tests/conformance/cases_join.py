"""Joining and splitting: concatenate/join, stack, hstack/vstack, split, flip."""

import numpy as np

import symgraph.tensor as T

from .harness import ALL, ARRAY, Arg, Case, fixed

NO_BROADCAST = ("random", "empty", "strided", "nonfinite")
ROW = Arg(shape=(1, 4), static=(1, None))
JOIN_SIGS = ALL + (("int8", "uint8"), ("int32", "float32"), ("bool", "float64"))


def _split(x, sizes, axis):
    # NumPy's split takes cut points; symgraph's takes lengths, which must add up.
    sizes = [int(s) for s in sizes]
    if sum(sizes) != x.shape[axis]:
        raise ValueError(f"split sizes {sizes} do not add up to length {x.shape[axis]}")
    return [np.copy(p) for p in np.split(x, np.cumsum(sizes)[:-1], axis=axis)]


JOIN = [
    Case("concatenate_axis0", lambda a, b: T.concatenate([a, b], axis=0),
         lambda a, b: np.concatenate([a, b], axis=0), args=(Arg(), Arg(shape=(2, 4))),
         dtypes=JOIN_SIGS, variants=NO_BROADCAST),
    Case("concatenate_axisneg1", lambda a, b, c: T.concatenate([a, b, c], axis=-1),
         lambda a, b, c: np.concatenate([a, b, c], axis=-1),
         args=(Arg(), Arg(shape=(3, 1)), Arg(shape=(3, 2))), dtypes=ALL, variants=NO_BROADCAST),
    Case("concatenate_rows", lambda a, b: T.concatenate([a, b]), lambda a, b: np.concatenate([a, b]),
         args=(ROW, ROW), dtypes=("int16", "float32"), variants=NO_BROADCAST),
    Case("concatenate_mismatch", lambda a, b: T.concatenate([a, b], axis=0),
         lambda a, b: np.concatenate([a, b], axis=0), args=(Arg(), Arg(shape=(3, 5))),
         dtypes=("float64",), variants=("random",)),
    Case("join", lambda a, b: T.join(1, a, b), lambda a, b: np.concatenate([a, b], axis=1),
         args=(Arg(shape=(2, 3, 4)), Arg(shape=(2, 1, 4))), dtypes=("int64", "float32"),
         variants=NO_BROADCAST),
    Case("stack_axis0", lambda a, b: T.stack([a, b]), lambda a, b: np.stack([a, b]),
         args=(Arg(), Arg()), dtypes=JOIN_SIGS, variants=NO_BROADCAST),
    Case("stack_axisneg1", lambda a, b: T.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], axis=-1),
         args=(Arg(), Arg()), dtypes=ALL, variants=NO_BROADCAST),
    Case("hstack", lambda a, b: T.hstack([a, b]), lambda a, b: np.hstack([a, b]),
         args=(Arg(shape=(3, 2)), Arg()), dtypes=("bool", "int8", "float64"),
         variants=("random", "strided")),
    Case("vstack_vectors", lambda a, b: T.vstack([a, b]), lambda a, b: np.vstack([a, b]),
         args=(Arg(shape=(4,)), Arg(shape=(4,))), dtypes=("uint8", "float32"), variants=NO_BROADCAST),
    Case("split_axis0", lambda x: T.split(x, [1, 2], axis=0), lambda x: _split(x, [1, 2], 0),
         dtypes=ALL, variants=ARRAY),
    Case("split_symbolic_sizes", lambda x, s: T.split(x, s, 3, axis=1), lambda x, s: _split(x, s, 1),
         args=(Arg(), fixed([1, 0, 3])), dtypes=("int32", "float64"), variants=ARRAY),
    Case("flip_all", T.flip, np.flip, dtypes=ALL, variants=ARRAY + ("scalar",)),
    Case("flip_axis1", lambda x: T.flip(x, 1), lambda x: np.flip(x, 1), args=(Arg(shape=(2, 3, 4)),),
         dtypes=ALL, variants=ARRAY),
]

CASES = JOIN
