"""Typed symbolic inputs: scalar, vector, matrix, ... with Theano's dtype prefixes.

``b`` int8, ``w`` int16, ``i`` int32, ``l`` int64, ``f`` float32, ``d``
float64; no prefix means ``floatX``.  ``row``/``col`` are matrices with a
broadcastable (length-1) first/second axis.
"""

from .type import TensorType

_PREFIXES = {"": None, "b": "int8", "w": "int16", "i": "int32", "l": "int64",
             "f": "float32", "d": "float64"}
_KINDS = {
    "scalar": (),
    "vector": (None,),
    "matrix": (None, None),
    "row": (1, None),
    "col": (None, 1),
    "tensor3": (None,) * 3,
    "tensor4": (None,) * 4,
    "tensor5": (None,) * 5,
}


def tensor(dtype=None, shape=None, name=None, broadcastable=None, ndim=None):
    """A symbolic input of ``dtype`` and static ``shape`` (ints, 1 or None per axis)."""
    if isinstance(dtype, (tuple, list)) and shape is None:
        dtype, shape = None, dtype
    if shape is None and broadcastable is None:
        shape = (None,) * (ndim or 0)
    return TensorType(dtype, shape, broadcastable)(name)


def _make(dtype, shape, kind):
    def constructor(name=None, dtype=dtype, shape=None):
        return TensorType(dtype, shape if shape is not None else _KINDS[kind])(name)

    return constructor


__all__ = ["tensor"]
for _p, _dtype in _PREFIXES.items():
    for _kind, _shape in _KINDS.items():
        _name = _p + _kind
        _fn = _make(_dtype, _shape, _kind)
        _fn.__name__ = _fn.__qualname__ = _name
        _fn.__doc__ = f"A symbolic {_kind} of dtype {_dtype or 'floatX'}."
        globals()[_name] = _fn
        __all__.append(_name)
