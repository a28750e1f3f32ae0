"""Linear algebra (``T.linalg``): NumPy/SciPy-named matrix functions with derivatives.

Every function takes a matrix or a stack of matrices ``(..., m, n)`` where NumPy
batches, returns float32 for float32 input and float64 otherwise, and raises a
SymgraphError that is also ``numpy.linalg.LinAlgError`` for a singular or
indefinite matrix at run time.  Each Op's derivative is built from the Ops of
this package and the core ones, so derivatives of any order exist.
"""

from .decompositions import QR, Cholesky, cholesky, qr
from .functions import Expm, expm, kron, matrix_dot, matrix_power, norm, trace
from .inverse import (
    Det,
    MatrixInverse,
    MatrixPinv,
    SLogDet,
    det,
    inv,
    matrix_inverse,
    pinv,
    slogdet,
)
from .solve import (
    Solve,
    SolveTriangular,
    cho_solve,
    solve,
    solve_lower_triangular,
    solve_symmetric,
    solve_triangular,
    solve_upper_triangular,
)
from .spectral import SVD, Eigh, Eigvalsh, eigh, eigvalsh, svd

__all__ = [
    "QR",
    "SVD",
    "Cholesky",
    "Det",
    "Eigh",
    "Eigvalsh",
    "Expm",
    "MatrixInverse",
    "MatrixPinv",
    "SLogDet",
    "Solve",
    "SolveTriangular",
    "cho_solve",
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "expm",
    "inv",
    "kron",
    "matrix_dot",
    "matrix_inverse",
    "matrix_power",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_lower_triangular",
    "solve_symmetric",
    "solve_triangular",
    "solve_upper_triangular",
    "svd",
    "trace",
]
