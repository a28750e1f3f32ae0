"""Shape and construction cases: DimShuffle, shape, reshape, flatten, squeeze,
specify_shape, expand_dims; alloc, make_vector, stack of scalars, zeros/ones/
full(_like); and the gradient-modifying identities of ``symgraph.gradient``."""

import numpy as np

import symgraph as sg
import symgraph.gradient as G
import symgraph.tensor as T

from .harness import ALL, ARRAY, FIXED, FLOATS, Arg, Case, fixed

ROW = Arg(shape=(1, 4), static=(1, None))
CUBE = Arg(shape=(2, 3, 4))


def _raises(exc, message):
    def reference(*args):
        raise exc(message)

    return reference


DIMSHUFFLE = [
    Case("dimshuffle_transpose", lambda x: x.dimshuffle(1, 0), lambda x: x.T, dtypes=ALL,
         variants=ARRAY),
    Case("dimshuffle_permute_3d", lambda x: x.dimshuffle(2, 0, 1), lambda x: np.transpose(x, (2, 0, 1)),
         args=(CUBE,), dtypes=ALL, variants=ARRAY),
    Case("dimshuffle_augment", lambda x: x.dimshuffle("x", 0, "x", 1), lambda x: x[None, :, None, :],
         dtypes=ALL, variants=ARRAY),
    Case("dimshuffle_drop", lambda x: x.dimshuffle(1), lambda x: x[0], args=(ROW,), dtypes=ALL,
         variants=ARRAY),
    Case("dimshuffle_drop_augment", lambda x: x.dimshuffle("x", 1, "x"), lambda x: x[0][None, :, None],
         args=(ROW,), dtypes=ALL, variants=ARRAY),
    Case("transpose_method", lambda x: x.transpose(1, 2, 0), lambda x: x.transpose(1, 2, 0),
         args=(CUBE,), dtypes=ALL, variants=ARRAY),
    Case("transpose_T", lambda x: x.T, lambda x: x.T, args=(CUBE,), dtypes=ALL, variants=ARRAY),
]

SHAPE = [
    Case("shape", T.shape, lambda x: np.array(x.shape, dtype="int64"), dtypes=ALL),
    Case("shape_i", lambda x: T.shape_i(x, 1), lambda x: np.int64(x.shape[1]), dtypes=("float64",),
         variants=ARRAY),
    Case("reshape_minus_one", lambda x: T.reshape(x, (2, -1)), lambda x: np.reshape(x, (2, -1)),
         dtypes=ALL, variants=ARRAY),
    Case("reshape_flat", lambda x: T.reshape(x, (-1,)), lambda x: np.reshape(x, (-1,)), args=(CUBE,),
         dtypes=ALL, variants=ARRAY),
    Case("reshape_method", lambda x: x.reshape((4, 3)), lambda x: x.reshape((4, 3)),
         dtypes=("int8", "float32"), variants=FIXED),
    Case("reshape_symbolic_vector", lambda x, s: T.reshape(x, s, ndim=2), np.reshape,
         args=(Arg(), fixed([4, -1])), dtypes=ALL, variants=ARRAY),
    Case("reshape_symbolic_entries", lambda x, n: T.reshape(x, (n, -1, 2)),
         lambda x, n: np.reshape(x, (n, -1, 2)), args=(Arg(), fixed(2)), dtypes=("float32", "int16"),
         variants=ARRAY),
    Case("reshape_to_scalar", lambda x: T.reshape(x, ()), lambda x: np.reshape(x, ()),
         args=(Arg(shape=(1, 1)),), dtypes=("float64", "bool"), variants=FIXED),
    Case("reshape_wrong_size", lambda x: T.reshape(x, (5, -1)), lambda x: np.reshape(x, (5, -1)),
         dtypes=("float64",), variants=("random",)),
    Case("flatten", T.flatten, lambda x: x.reshape(-1), args=(CUBE,), dtypes=ALL, variants=ARRAY),
    # Spelled out, not -1: NumPy cannot resolve (0, -1) for an empty array.
    Case("flatten_ndim2", lambda x: T.flatten(x, 2),
         lambda x: x.reshape(x.shape[0], int(np.prod(x.shape[1:]))), args=(CUBE,), dtypes=ALL,
         variants=ARRAY),
    Case("squeeze", T.squeeze, lambda x: np.squeeze(x, axis=1),
         args=(Arg(shape=(3, 1, 4), static=(None, 1, None)),), dtypes=ALL, variants=ARRAY),
    Case("squeeze_axis", lambda x: T.squeeze(x, axis=0), lambda x: np.squeeze(x, axis=0),
         args=(ROW,), dtypes=ALL, variants=ARRAY),
    Case("expand_dims", lambda x: T.expand_dims(x, (0, -1)), lambda x: np.expand_dims(x, (0, -1)),
         dtypes=ALL, variants=ARRAY),
    Case("specify_shape", lambda x: T.specify_shape(x, (None, 4)), np.copy, dtypes=ALL,
         variants=ARRAY),
    Case("specify_shape_mismatch", lambda x: T.specify_shape(x, (None, 5)),
         _raises(ValueError, "length 4 on axis 1, expected 5"), dtypes=("float64",),
         variants=("random",)),
    Case("addbroadcast", lambda x: T.addbroadcast(x, 0), np.copy, args=(Arg(shape=(1, 4)),),
         dtypes=("float32", "int64"), variants=FIXED),
]


def _alloc_ref(v, *shape):
    return np.array(np.broadcast_to(v, tuple(int(s) for s in shape)))


def _stack_scalars(*xs):
    return np.array(np.stack(xs))


BASIC = [
    Case("alloc", lambda v, n, m: T.alloc(v, n, m), _alloc_ref,
         args=(Arg(shape=(4,)), fixed(3), fixed(4)), dtypes=ALL, variants=ARRAY),
    Case("alloc_scalar_value", lambda v, n: T.alloc(v, n, 2), lambda v, n: _alloc_ref(v, n, 2),
         args=(Arg(shape=()), fixed(3)), dtypes=ALL, variants=("random", "nonfinite")),
    Case("alloc_zero_length", lambda v, n: T.alloc(v, n, 4), lambda v, n: _alloc_ref(v, n, 4),
         args=(Arg(shape=(4,)), fixed(0)), dtypes=ALL, variants=("random",)),
    Case("make_vector", lambda a, b, c: T.make_vector(a, b, c), _stack_scalars,
         args=(Arg(shape=()),) * 3, dtypes=ALL + (("int8", "uint8", "float32"),),
         variants=("random", "nonfinite")),
    Case("stack_scalars", lambda a, b: T.stack([a, b]), _stack_scalars, args=(Arg(shape=()),) * 2,
         dtypes=ALL, variants=("random", "nonfinite")),
    Case("zeros_like", T.zeros_like, np.zeros_like, dtypes=ALL, variants=ARRAY),
    Case("ones_like", T.ones_like, np.ones_like, dtypes=ALL),
    Case("full_like_dtype", lambda x: T.full_like(x, 3, dtype="int16"),
         lambda x: np.full_like(x, 3, dtype="int16"), dtypes=ALL, variants=ARRAY),
    Case("zeros_like_dtype", lambda x: T.zeros_like(x, dtype="float32"),
         lambda x: np.zeros_like(x, dtype="float32"), dtypes=("int8", "float64"), variants=ARRAY),
    Case("zeros", lambda n, m: T.zeros((n, m)), lambda n, m: np.zeros((n, m), dtype=sg.config.floatX),
         args=(fixed(2), fixed(3)), dtypes=((),), variants=("random",)),
    Case("ones_dtype", lambda n: T.ones((n, 2), dtype="int32"), lambda n: np.ones((n, 2), "int32"),
         args=(fixed(3),), dtypes=((),), variants=("random",)),
    Case("full", lambda n: T.full((n,), 2.5, dtype="float32"), lambda n: np.full((n,), 2.5, "float32"),
         args=(fixed(4),), dtypes=((),), variants=("random",)),
]

# Identities in the forward pass; they differ only in what gradient flows back.
GRADIENT_IDENTITIES = [
    Case("zero_grad", G.zero_grad, np.copy, dtypes=ALL),
    Case("disconnected_grad", G.disconnected_grad, np.copy, dtypes=ALL),
    Case("grad_clip", lambda x: G.grad_clip(x, -1, 1), np.copy, dtypes=FLOATS),
    Case("grad_scale", lambda x: G.grad_scale(x, 2.0), np.copy, dtypes=FLOATS),
]

CASES = DIMSHUFFLE + SHAPE + BASIC + GRADIENT_IDENTITIES
