"""RandomDraw: the one random primitive, standard uniform or normal draws from a Philox state.

Every distribution of RandomStreams is a symbolic transform of these draws,
so a backend implements two kernels and gradients flow through the
transforms (the reparameterisation trick) for free.
"""

import numpy as np

from ...errors import GraphTypeError, InputShapeError, where
from ...graph.basic import Apply
from ...graph.op import Op
from ..type import TensorType
from ..variable import as_tensor_variable
from .boxmuller import standard_normal_pairs
from .philox import uniform01

STATE_DTYPE = "uint64"


class RandomDraw(Op):
    """``(state, size) -> (new_state, sample)``; state is ``[key, counter]`` (uint64)."""

    __props__ = ("dist", "dtype")

    def __init__(self, dist, dtype):
        if dist not in ("uniform", "normal"):
            raise GraphTypeError(f"RandomDraw: unknown distribution {dist!r}")
        self.dist = dist
        self.dtype = np.dtype(dtype).name
        if self.dtype not in ("float32", "float64"):
            raise GraphTypeError(f"RandomDraw: draws are float32 or float64, not {self.dtype}")

    def __str__(self):
        return f"Random{self.dist.capitalize()}{{{self.dtype}}}"

    def make_node(self, state, size):
        state = as_tensor_variable(state)
        size = as_tensor_variable(size)
        if state.dtype != STATE_DTYPE or state.ndim != 1:
            raise GraphTypeError(f"{self}: the state must be a uint64 vector, got {state.type}")
        if size.ndim != 1 or size.dtype[0] not in "iu":
            raise GraphTypeError(f"{self}: size must be an integer vector, got {size.type}")
        ndim = size.type.shape[0]
        if ndim is None:
            raise GraphTypeError(f"{self}: the number of dimensions of size must be known")
        static = [None] * ndim
        if hasattr(size, "data"):
            static = [int(s) for s in size.data]
        elif size.owner is not None and hasattr(size.owner.op, "static_entries"):
            static = size.owner.op.static_entries(size.owner)
        return Apply(self, [state, size], [state.type(), TensorType(self.dtype, static)()])

    def perform(self, node, inputs, output_storage):
        state, size = inputs
        shape = tuple(int(s) for s in size)
        check_draw(self, node, len(state), shape)
        key, counter = int(state[0]), int(state[1])
        n = int(np.prod(shape, dtype=np.int64))
        if self.dist == "uniform":
            values, blocks = uniform01(key, counter, n, self.dtype)
        else:
            values, blocks = standard_normal(key, counter, n, self.dtype)
        output_storage[0][0] = np.array([key, (counter + blocks) % (1 << 64)], dtype=STATE_DTYPE)
        output_storage[1][0] = values.reshape(shape)

    def infer_shape(self, fgraph, node, input_shapes):
        size = node.inputs[1]
        return [input_shapes[0], tuple(size[i] for i in range(node.outputs[1].ndim))]

    def L_op(self, inputs, outputs, output_grads):
        from ...gradient import disconnected_type

        return [disconnected_type(), disconnected_type()]

    def R_op(self, inputs, eval_points):
        return [None, None]

    def connection_pattern(self, node):
        return [[False, False], [False, False]]

    def do_constant_folding(self, node):
        return False


def check_draw(op, node, state_length, shape):
    """Reject a state that is not ``[key, counter]`` and negative sizes (backends share the messages)."""
    message = draw_error(op, state_length, shape)
    if message is not None:
        raise InputShapeError(message + where(node.outputs[1]))


def draw_error(op, state_length, shape):
    if state_length != 2:
        return f"{op}: the state must hold [key, counter] (length 2), got length {state_length}"
    if any(s < 0 for s in shape):
        return f"{op}: the size must not be negative, got {tuple(shape)}"
    return None


def standard_normal(key, counter, n, dtype):
    """Box-Muller on pairs of uniforms (``boxmuller.py``: the same bits on every backend)."""
    pairs = (n + 1) // 2
    u, blocks = uniform01(key, counter, 2 * pairs, dtype)
    return standard_normal_pairs(u[0::2], u[1::2], dtype)[:n], blocks
