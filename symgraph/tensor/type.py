"""TensorType: the type of n-dimensional arrays of one dtype."""

import numpy as np

from ..config import config
from ..errors import InputShapeError, InputTypeError
from ..graph.basic import Type

DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64",
)
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOAT_DTYPES = ("float16", "float32", "float64")
DISCRETE_DTYPES = ("bool",) + INT_DTYPES


def normalize_dtype(dtype):
    if dtype is None or dtype == "floatX":
        return config.floatX
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise InputTypeError(f"unsupported dtype {name!r}; symgraph supports {', '.join(DTYPES)}")
    return name


class TensorType(Type):
    """Arrays of ``dtype`` whose static shape is ``shape``.

    ``shape`` has one entry per axis: an int when the length is known (1 means
    broadcastable) or None.
    """

    def __init__(self, dtype, shape=None, broadcastable=None):
        self.dtype = normalize_dtype(dtype)
        if shape is None:
            shape = tuple(1 if b else None for b in (broadcastable or ()))
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.ndim = len(self.shape)
        self.numpy_dtype = np.dtype(self.dtype)

    @property
    def broadcastable(self):
        return tuple(s == 1 for s in self.shape)

    def clone(self, dtype=None, shape=None):
        return TensorType(self.dtype if dtype is None else dtype, self.shape if shape is None else shape)

    def __eq__(self, other):
        return type(other) is type(self) and other.dtype == self.dtype and other.shape == self.shape

    def __hash__(self):
        return hash((type(self), self.dtype, self.shape))

    def is_compatible(self, other):
        """Whether a value of ``other`` may stand where this type is expected."""
        return (
            isinstance(other, TensorType)
            and other.dtype == self.dtype
            and other.ndim == self.ndim
            and all(a is None or b is None or a == b for a, b in zip(self.shape, other.shape))
        )

    def __str__(self):
        kind = {0: "scalar", 1: "vector", 2: "matrix"}.get(self.ndim, f"tensor{self.ndim}")
        if all(s is None for s in self.shape):
            return f"{self.dtype} {kind}"
        dims = ", ".join("?" if s is None else str(s) for s in self.shape)
        return f"{self.dtype} {kind} of shape ({dims}{',' if self.ndim == 1 else ''})"

    __repr__ = __str__

    def filter(self, value, name=None, strict=False, allow_downcast=None):
        """Convert ``value`` to an ndarray of this type or raise a clear error.

        A lossless conversion is always allowed.  A lossy one (float64 to
        float32, or an int that does not fit) needs ``allow_downcast``; with
        ``allow_downcast=None``, Python floats may become ``floatX`` as in
        Theano.
        """
        what = name if name else "value"
        if isinstance(value, np.ndarray) and value.dtype == self.numpy_dtype:
            arr = value
        elif strict:
            raise InputTypeError(
                f"{what}: expected an ndarray of dtype {self.dtype}, got {_describe(value)}"
            )
        else:
            arr = self._convert(value, what, allow_downcast)
        if arr.ndim != self.ndim:
            raise InputShapeError(
                f"{what}: expected {self} (ndim {self.ndim}), got {_describe(arr)} (ndim {arr.ndim})"
            )
        for axis, (want, got) in enumerate(zip(self.shape, arr.shape)):
            if want is not None and want != got:
                raise InputShapeError(
                    f"{what}: expected length {want} on axis {axis} ({self}), got shape {arr.shape}"
                )
        return arr

    def _convert(self, value, what, allow_downcast):
        from_python = not isinstance(value, (np.ndarray, np.generic))
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as e:
            raise InputTypeError(f"{what}: cannot convert {_describe(value)} to an array: {e}") from None
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise InputTypeError(f"{what}: expected numeric data for {self}, got {_describe(value)}")
        if arr.dtype == self.numpy_dtype:
            return arr
        if np.can_cast(arr.dtype, self.numpy_dtype, "safe"):
            return arr.astype(self.numpy_dtype)
        cast = arr.astype(self.numpy_dtype)
        if allow_downcast:
            return cast
        if from_python and allow_downcast is None:
            if self.numpy_dtype.kind == "f" and arr.dtype.kind in "biuf":
                return cast
            with np.errstate(invalid="ignore"):
                if np.array_equal(cast, arr):
                    return cast
        raise InputTypeError(
            f"{what}: expected {self}, got {_describe(value)}; converting it to {self.dtype} "
            f"would lose precision (cast it yourself, or pass allow_input_downcast=True)"
        )

    def value_signature(self, value):
        return (value.dtype.str, value.shape, value.tobytes())

    def value_str(self, value):
        if value.ndim == 0:
            return str(value.item())
        if value.size <= 6:
            return np.array2string(value, separator=",").replace("\n", "")
        return f"Constant{{{self}}}"

    def values_eq(self, a, b):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)

    def make_variable(self, name=None):
        from .variable import TensorVariable

        return TensorVariable(self, None, None, name)

    def make_constant(self, value, name=None):
        from .variable import TensorConstant

        return TensorConstant(self, value, name)


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"ndarray of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, np.generic):
        return f"NumPy scalar of dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"[:120]


def upcast(*dtypes):
    """The dtype NumPy gives for combining arrays of ``dtypes``."""
    return np.result_type(*[np.dtype(d) for d in dtypes]).name
