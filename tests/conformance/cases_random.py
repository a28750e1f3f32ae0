"""Random draws: RandomDraw's next state and samples from fixed Philox states (``perform``'s streams).

The reference is the NumPy definition of the streams (``philox.uniform01``
and ``ops.standard_normal``); a backend must reproduce it (its own tests check
bitwise equality, the suite checks values within the usual tolerance).
"""

import numpy as np

from symgraph.tensor.random import RandomDraw
from symgraph.tensor.random.ops import standard_normal
from symgraph.tensor.random.philox import uniform01

from .harness import Arg, Case

FIXED_ONLY = ((),)
U64 = (1 << 64) - 1


def _state(key, counter):
    return Arg(shape=(2,), dtype="uint64", value=np.array([key, counter], dtype="uint64"))


def _size(shape, dtype="int64"):
    return Arg(shape=(len(shape),), dtype=dtype, static=(len(shape),), value=np.array(shape, dtype=dtype))


def _reference(dist, dtype):
    def draw(state, size):
        key, counter = int(state[0]), int(state[1])
        shape = tuple(int(s) for s in size)
        n = int(np.prod(shape, dtype=np.int64))
        values, blocks = (uniform01 if dist == "uniform" else standard_normal)(key, counter, n, dtype)
        return np.array([key, (counter + blocks) % (1 << 64)], dtype="uint64"), values.reshape(shape)

    return draw


def _case(name, dist, dtype, state, size):
    return Case(name, lambda s, z: RandomDraw(dist, dtype)(s, z), _reference(dist, dtype), args=(state, size),
                dtypes=FIXED_ONLY, variants=("random",))


RANDOM = [
    _case("random_uniform_float32", "uniform", "float32", _state(123, 0), _size((3, 5))),
    _case("random_uniform_float64", "uniform", "float64", _state(U64 - 4, (1 << 32) - 3), _size((7, 9))),
    _case("random_normal_float32", "normal", "float32", _state(7, 11), _size((5, 3))),
    _case("random_normal_float64", "normal", "float64", _state(2 ** 40, U64 - 2), _size((3, 3))),
    _case("random_normal_empty", "normal", "float32", _state(1, 2), _size((0, 4))),
    _case("random_uniform_0d_uint8_size", "uniform", "float64", _state(9, 9), _size((), "uint8")),
]

CASES = RANDOM
