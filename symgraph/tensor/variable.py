"""TensorVariable (operators and NumPy-style methods), constants and conversion."""

import numbers

import numpy as np

from ..config import config
from ..errors import GraphTypeError, SymgraphError
from ..graph.basic import Constant, Variable
from .type import TensorType


class _TensorMethods:
    """Operators and methods shared by tensor variables, constants and shared variables."""

    # NumPy must hand `ndarray + variable` to our __radd__ instead of looping.
    __array_ufunc__ = None

    @property
    def ndim(self):
        return self.type.ndim

    @property
    def dtype(self):
        return self.type.dtype

    @property
    def broadcastable(self):
        return self.type.broadcastable

    @property
    def shape(self):
        from .shape import shape

        return shape(self)

    @property
    def size(self):
        from .reduction import prod

        return prod(self.shape)

    @property
    def T(self):
        return self.transpose()

    def __bool__(self):
        raise SymgraphError(
            f"the truth value of symbolic variable {self} is unknown until the graph runs; "
            "use T.switch or sg.ifelse.ifelse for conditions"
        )

    def __len__(self):
        raise SymgraphError(f"len() of symbolic {self.type} {self} is unknown; use x.shape[0]")

    def __iter__(self):
        length = self.type.shape[0] if self.ndim else None
        if length is None:
            raise SymgraphError(f"cannot iterate over {self.type} {self}: its length is not static")
        for i in range(length):
            yield self[i]

    # ---- arithmetic ----
    def __add__(self, other):
        return _m().add(self, other)

    def __radd__(self, other):
        return _m().add(other, self)

    def __sub__(self, other):
        return _m().sub(self, other)

    def __rsub__(self, other):
        return _m().sub(other, self)

    def __mul__(self, other):
        return _m().mul(self, other)

    def __rmul__(self, other):
        return _m().mul(other, self)

    def __truediv__(self, other):
        return _m().true_div(self, other)

    def __rtruediv__(self, other):
        return _m().true_div(other, self)

    def __floordiv__(self, other):
        return _m().int_div(self, other)

    def __rfloordiv__(self, other):
        return _m().int_div(other, self)

    def __mod__(self, other):
        return _m().mod(self, other)

    def __rmod__(self, other):
        return _m().mod(other, self)

    def __pow__(self, other):
        return _m().pow(self, other)

    def __rpow__(self, other):
        return _m().pow(other, self)

    def __neg__(self):
        return _m().neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _m().abs(self)

    def __matmul__(self, other):
        from .blas import matmul

        return matmul(self, other)

    def __rmatmul__(self, other):
        from .blas import matmul

        return matmul(other, self)

    def __lt__(self, other):
        return _m().lt(self, other)

    def __le__(self, other):
        return _m().le(self, other)

    def __gt__(self, other):
        return _m().gt(self, other)

    def __ge__(self, other):
        return _m().ge(self, other)

    def __and__(self, other):
        return _m().and_(self, other)

    def __rand__(self, other):
        return _m().and_(other, self)

    def __or__(self, other):
        return _m().or_(self, other)

    def __ror__(self, other):
        return _m().or_(other, self)

    def __xor__(self, other):
        return _m().xor(self, other)

    def __rxor__(self, other):
        return _m().xor(other, self)

    def __invert__(self):
        return _m().invert(self)

    # ---- indexing and shape ----
    def __getitem__(self, index):
        from .subtensor import getitem

        return getitem(self, index)

    def dimshuffle(self, *pattern):
        from .elemwise import DimShuffle

        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = pattern[0]
        return DimShuffle(self.ndim, pattern)(self)

    def transpose(self, *axes):
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        elif len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return self.dimshuffle(*[a % self.ndim for a in axes])

    def reshape(self, *shape, ndim=None):
        from .shape import reshape

        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = shape[0]
        return reshape(self, shape, ndim=ndim)

    def flatten(self, ndim=1):
        from .shape import flatten

        return flatten(self, ndim)

    def ravel(self):
        return self.flatten()

    def squeeze(self, axis=None):
        from .shape import squeeze

        return squeeze(self, axis)

    def astype(self, dtype):
        return _m().cast(self, dtype)

    def copy(self, name=None):
        return _m().identity(self, name=name)

    def dot(self, other):
        from .blas import dot

        return dot(self, other)

    def clip(self, lo, hi):
        return _m().clip(self, lo, hi)

    def round(self):
        return _m().round(self)

    def nonzero(self):
        from .subtensor import nonzero

        return nonzero(self)

    def repeat(self, repeats, axis=None):
        from .creation import repeat

        return repeat(self, repeats, axis)

    def sort(self, axis=-1):
        from .sort import sort

        return sort(self, axis)

    def argsort(self, axis=-1):
        from .sort import argsort

        return argsort(self, axis)


def _add_reductions():
    def make(name):
        def method(self, *args, **kwargs):
            from . import reduction

            return getattr(reduction, name)(self, *args, **kwargs)

        method.__name__ = name
        return method

    for name in ("sum", "prod", "mean", "var", "std", "max", "min", "all", "any",
                 "argmax", "argmin", "cumsum", "cumprod"):
        setattr(_TensorMethods, name, make(name))


_add_reductions()


def _m():
    from . import math

    return math


class TensorVariable(_TensorMethods, Variable):
    """A symbolic array."""


class TensorConstant(_TensorMethods, Constant):
    """A constant array embedded in the graph."""

    def __getstate__(self):
        return self.__dict__


def _constant_dtype(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, numbers.Integral) and not isinstance(value, np.integer):
        return "int64"
    if isinstance(value, float):
        return config.floatX
    return None


_small_constants = {}


def constant(value, name=None, dtype=None, ndim=None):
    """A TensorConstant holding ``value`` (Python floats become floatX)."""
    if dtype is None:
        dtype = _constant_dtype(value)
    arr = np.asarray(value, dtype=dtype)
    if arr.dtype.kind not in "biuf":
        raise GraphTypeError(f"cannot make a tensor constant from {type(value).__name__} {value!r}")
    if ndim is not None and arr.ndim != ndim:
        if arr.ndim > ndim:
            raise GraphTypeError(f"constant {value!r} has ndim {arr.ndim}, more than {ndim}")
        arr = arr.reshape((1,) * (ndim - arr.ndim) + arr.shape)
    # Tiny constants are shared objects, so `x + 1` built twice is one node.
    key = None
    if arr.size <= 16 and name is None:
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        c = _small_constants.get(key)
        if c is not None:
            return c
    shape = arr.shape
    arr = arr.copy()
    arr.flags.writeable = False
    c = TensorType(arr.dtype, shape).make_constant(arr, name=name)
    if key is not None and len(_small_constants) < 10000:
        _small_constants[key] = c
    return c


def as_tensor_variable(x, name=None, ndim=None, dtype=None):
    """``x`` as a tensor variable: variables pass through, data becomes a constant."""
    if isinstance(x, Variable):
        if not isinstance(x.type, TensorType):
            raise GraphTypeError(f"expected a tensor variable, got {x} of type {x.type}")
        if ndim is not None and x.ndim != ndim:
            raise GraphTypeError(f"expected a tensor of ndim {ndim}, got {x} of type {x.type}")
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(e, Variable) for e in _flatten(x)):
        from .basic import stack

        return stack([as_tensor_variable(e) for e in x])
    try:
        return constant(x, name=name, dtype=dtype, ndim=ndim)
    except (TypeError, ValueError) as e:
        if isinstance(e, GraphTypeError):
            raise
        raise GraphTypeError(f"cannot convert {type(x).__name__} {x!r} to a tensor: {e}") from None


def _flatten(seq):
    for e in seq:
        if isinstance(e, (list, tuple)):
            yield from _flatten(e)
        else:
            yield e


def _is_python_scalar(x):
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def as_tensor_variables_weak(args):
    """Convert ``args``; Python scalars take the dtype the other operands imply.

    This is NumPy 2's rule: ``float32_array + 1.5`` stays float32, while the
    scalar alone would be floatX.
    """
    tensors = [as_tensor_variable(a) for a in args if not _is_python_scalar(a)]
    if not tensors or len(tensors) == len(args):
        return tensors if tensors else [as_tensor_variable(a) for a in args]
    dtypes = [np.dtype(t.dtype) for t in tensors]
    out = []
    for a in args:
        if not _is_python_scalar(a):
            out.append(as_tensor_variable(a))
            continue
        dtype = np.result_type(*dtypes, a)
        if dtype.kind in "iu" and not isinstance(a, bool):
            info = np.iinfo(dtype)
            if not info.min <= a <= info.max:
                dtype = np.result_type(*dtypes, np.min_scalar_type(a))
        out.append(constant(a, dtype=dtype))
    return out
