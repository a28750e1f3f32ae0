"""Powers of symmetric positive semi-definite matrices (whitening, AdaGrad, PRONG), symbolic and NumPy.

``M^p`` for any real ``p`` (``-1/2`` for an inverse square root) comes from one
eigendecomposition; eigenvalues are clipped at zero and shifted by ``eps``
so the result exists for singular covariance estimates.
"""

import numpy as np

import symgraph.tensor as T


def sym_matrix_power(M, p, eps=0.0):
    """Symbolic ``(M + eps I)^p`` for symmetric ``M`` via ``T.linalg.eigh``."""
    w, V = T.linalg.eigh(M)
    return T.dot(V * (T.maximum(w, 0.0) + eps) ** p, V.T)


def inverse_sqrt(M, eps=0.0):
    """Symbolic ``(M + eps I)^(-1/2)``."""
    return sym_matrix_power(M, -0.5, eps)


def np_sym_matrix_power(M, p, eps=0.0):
    """NumPy ``(M + eps I)^p`` for symmetric ``M``."""
    w, V = np.linalg.eigh(M)
    return (V * (np.maximum(w, 0.0) + eps) ** p) @ V.T


def np_inverse_sqrt(M, eps=0.0):
    return np_sym_matrix_power(M, -0.5, eps)
