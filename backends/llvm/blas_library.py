"""Which BLAS native code calls: NumPy's own when it can be found, else SciPy's.

One OpenBLAS per process matters on a small machine: each OpenBLAS keeps a
pool of worker threads that spin for a while after every call, and two pools
(NumPy's ILP64 build for NumPy and peers, SciPy's LP64 build for symgraph)
preempt each other on two cores.  NumPy's wheels bundle an ILP64 OpenBLAS
whose Fortran-convention routines are exported as ``scipy_dgemm_64_`` (NumPy
2) or ``dgemm_64_`` (NumPy 1.26): 64-bit integers by pointer.  Any other NumPy
build (MKL, Accelerate, a distribution's LP64 BLAS) gives no such symbol, and
native code then calls SciPy's ``cython_blas`` capsules (32-bit integers).
``SYMGRAPH_BLAS=scipy`` forces the latter.
"""

import ctypes
import functools
import os
from typing import NamedTuple

ROUTINES = [p + r for p in "sd" for r in ("gemm", "gemv", "dot")]
# Exported names of NumPy's bundled ILP64 OpenBLAS, newest first.
_NUMPY_NAMES = ("scipy_{}_64_", "{}_64_")


class BlasLibrary(NamedTuple):
    addresses: dict  # routine ('dgemm', ...) -> address of its Fortran-convention entry
    int_bits: int    # width of the integer arguments: 64 (ILP64) or 32
    source: str      # 'numpy' or 'scipy', for cache keys and reports

    @property
    def int_max(self):
        return 2 ** (self.int_bits - 1) - 1


@functools.cache
def blas_library():
    if os.environ.get("SYMGRAPH_BLAS", "").lower() != "scipy":
        found = _numpy_blas()
        if found is not None:
            return BlasLibrary(found, 64, "numpy")
    return BlasLibrary(_scipy_blas(), 32, "scipy")


def _numpy_blas():
    from numpy._core import _multiarray_umath

    try:
        # dlsym on this handle also searches the libraries NumPy's extension was linked with.
        lib = ctypes.CDLL(_multiarray_umath.__file__)
    except OSError:
        return None
    for pattern in _NUMPY_NAMES:
        try:
            return {r: ctypes.cast(getattr(lib, pattern.format(r)), ctypes.c_void_p).value for r in ROUTINES}
        except AttributeError:
            continue
    return None


def _scipy_blas():
    from scipy.linalg import cython_blas

    from .jit import capsule_pointer

    capsules = cython_blas.__pyx_capi__
    return {r: capsule_pointer(capsules[r]) for r in ROUTINES}
