"""Which BLAS native code calls, and that both choices compute the same products."""

import ctypes
import os
import subprocess
import sys
import textwrap

import pytest
from numpy._core import _multiarray_umath
from symgraph.backends.llvm.blas_library import blas_library


def _numpy_exports_ilp64():
    lib = ctypes.CDLL(_multiarray_umath.__file__)
    return any(hasattr(lib, name) for name in ("scipy_dgemm_64_", "dgemm_64_"))


def test_numpy_blas_is_chosen_exactly_when_numpy_exports_it():
    lib = blas_library()
    assert (lib.source == "numpy") == (_numpy_exports_ilp64() and os.environ.get("SYMGRAPH_BLAS") != "scipy")
    assert lib.int_bits == (64 if lib.source == "numpy" else 32)
    assert set(lib.addresses) == {"sgemm", "dgemm", "sgemv", "dgemv", "sdot", "ddot"}
    assert all(isinstance(a, int) and a for a in lib.addresses.values())


_PRODUCTS = textwrap.dedent("""
    import numpy as np, symgraph as sg, symgraph.tensor as T
    from symgraph.backends.llvm.blas_library import blas_library
    rng = np.random.default_rng(0)
    out = {}
    for dtype in ("float32", "float64"):
        A, B, v = T.matrix(dtype=dtype), T.matrix(dtype=dtype), T.vector(dtype=dtype)
        f = sg.function([A, B, v], [T.dot(A, B), T.dot(A, v), T.dot(v, v), T.dot(A[::2].T, A[::2])],
                        mode=sg.Mode(backend="llvm"))
        a, b, x = (rng.standard_normal(s).astype(dtype) for s in ((7, 5), (5, 4), (5,)))
        got = f(a, b, x)
        want = [a @ b, a @ x, x @ x, a[::2].T @ a[::2]]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    print(blas_library().source)
""")


def test_scipy_blas_fallback_gives_the_same_products():
    env = dict(os.environ, SYMGRAPH_BLAS="scipy")
    done = subprocess.run([sys.executable, "-c", _PRODUCTS], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "scipy"


def test_one_openblas_pool_serves_numpy_and_native_code():
    if blas_library().source != "numpy":
        pytest.skip("NumPy exports no ILP64 BLAS here: native code uses SciPy's")
    # NumPy's matmul and symgraph's native GEMM resolve to one library.
    lib = ctypes.CDLL(_multiarray_umath.__file__)
    name = "scipy_dgemm_64_" if hasattr(lib, "scipy_dgemm_64_") else "dgemm_64_"
    assert blas_library().addresses["dgemm"] == ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
