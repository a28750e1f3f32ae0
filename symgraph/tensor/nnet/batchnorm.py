"""Batch normalization (Ioffe & Szegedy, 2015), as compositions of elementwise ops and reductions.

The gradients, R_op and shapes come from the pieces, and the fusion pass is
free to merge the elementwise parts.  Signatures and return values are
Theano's ``theano.tensor.nnet.bn``.
"""

import numbers

from ...errors import GraphShapeError, GraphTypeError, where
from ..variable import as_tensor_variable
from .softmax import as_float

__all__ = ["batch_normalization", "batch_normalization_test", "batch_normalization_train"]


def batch_normalization(inputs, gamma, beta, mean, std, mode="low_mem"):
    """(inputs - mean) * (gamma / std) + beta, all broadcasting elementwise.

    ``mode`` ('low_mem' or 'high_mem') chose between two implementations in
    Theano; both give the same values, and here the same graph up to order.
    """
    if mode not in ("low_mem", "high_mem"):
        raise GraphTypeError(f"batch_normalization: mode must be 'low_mem' or 'high_mem', got {mode!r}")
    inputs = as_float(inputs)
    if mode == "low_mem":
        return (inputs - mean) * (gamma / std) + beta
    return (inputs - mean) * gamma / std + beta


def batch_normalization_train(inputs, gamma, beta, axes="per-activation", epsilon=1e-4,
                              running_average_factor=0.1, running_mean=None, running_var=None):
    """Normalize ``inputs`` with the mean and variance of the batch, over ``axes``.

    Parameters
    ----------
    axes : 'per-activation', 'spatial' or tuple of int
        'per-activation' normalizes over axis 0, 'spatial' over axis 0 and
        every axis from 2 on (per channel, for NCHW images).
    gamma, beta : tensors
        Scale and shift, either of the input's rank with length 1 on ``axes``
        or of the rank of the remaining axes (then the returned statistics
        have that rank too).
    running_mean, running_var : tensors, optional
        Give both to also get the updated running averages: the batch
        statistics mixed in with weight ``running_average_factor``, the
        variance unbiased (``m / (m - 1)``).

    Returns
    -------
    out, mean, invstd[, new_running_mean, new_running_var]
    """
    from ..math import cast, sqrt
    from ..reduction import mean as tmean
    from ..reduction import var as tvar
    from ..shape import shape_i

    inputs = as_float(inputs)
    axes = _normalize_axes(axes, inputs.ndim, "batch_normalization_train")
    if (running_mean is None) != (running_var is None):
        raise GraphTypeError("batch_normalization_train: give both running_mean and running_var, or neither")
    expand, squeeze = _param_patterns(inputs.ndim, axes)
    params = [gamma, beta] + ([running_mean, running_var] if running_mean is not None else [])
    reduced = [_is_reduced(p, inputs, axes, "batch_normalization_train") for p in params]
    gamma, beta = (_expand(p, expand, r) for p, r in zip(params[:2], reduced[:2]))

    mean = tmean(inputs, axis=axes, keepdims=True)
    var = tvar(inputs, axis=axes, keepdims=True)
    invstd = 1.0 / sqrt(var + epsilon)
    out = (inputs - mean) * invstd * gamma + beta

    def shaped(v):
        # Statistics come back in the rank the parameters were given in.
        return v.dimshuffle(*squeeze) if reduced[0] else v

    results = [out, shaped(mean), shaped(invstd)]
    if running_mean is not None:
        f = running_average_factor
        m = shape_i(inputs, axes[0])
        for a in axes[1:]:
            m = m * shape_i(inputs, a)
        m = cast(m, inputs.dtype)
        unbiased = var * (m / (m - 1))
        rm, rv = (_expand(p, expand, r) for p, r in zip(params[2:], reduced[2:]))
        new_mean = rm * (1.0 - f) + mean * f
        new_var = rv * (1.0 - f) + unbiased * f
        results += [new_mean.dimshuffle(*squeeze) if reduced[2] else new_mean,
                    new_var.dimshuffle(*squeeze) if reduced[3] else new_var]
    return tuple(results)


def batch_normalization_test(inputs, gamma, beta, mean, var, axes="per-activation", epsilon=1e-4):
    """(inputs - mean) * gamma / sqrt(var + epsilon) + beta, with statistics given (inference)."""
    from ..math import sqrt

    inputs = as_float(inputs)
    axes = _normalize_axes(axes, inputs.ndim, "batch_normalization_test")
    expand, _ = _param_patterns(inputs.ndim, axes)
    gamma, beta, mean, var = (
        _expand(p, expand, _is_reduced(p, inputs, axes, "batch_normalization_test"))
        for p in (gamma, beta, mean, var))
    return (inputs - mean) * (gamma / sqrt(var + epsilon)) + beta


def _normalize_axes(axes, ndim, name):
    if axes == "per-activation":
        return (0,)
    if axes == "spatial":
        return (0,) + tuple(range(2, ndim))
    if isinstance(axes, numbers.Integral):
        axes = (axes,)
    try:
        out = tuple(sorted({int(a) % ndim for a in axes}))
        ok = len(out) == len(tuple(axes)) and all(isinstance(a, numbers.Integral) and -ndim <= a < ndim
                                                 for a in axes)
    except (TypeError, ZeroDivisionError):
        ok = False
    if not ok or not out:
        raise GraphTypeError(f"{name}: axes must be 'per-activation', 'spatial' or distinct axes of an input "
                             f"of ndim {ndim}; got {axes!r}")
    return out


def _param_patterns(ndim, axes):
    """DimShuffle patterns from the reduced rank to the full rank and back."""
    kept = [a for a in range(ndim) if a not in axes]
    expand, k = [], 0
    for a in range(ndim):
        if a in axes:
            expand.append("x")
        else:
            expand.append(k)
            k += 1
    return tuple(expand), tuple(kept)


def _is_reduced(p, inputs, axes, name):
    p = as_tensor_variable(p)
    if p.ndim == inputs.ndim - len(axes) and len(axes) > 0 and p.ndim != inputs.ndim:
        return True
    if p.ndim != inputs.ndim:
        raise GraphShapeError(
            f"{name}: a parameter of type {p.type} fits neither the input's rank {inputs.ndim} nor the "
            f"rank {inputs.ndim - len(axes)} of its axes outside {axes}" + where(p))
    return False


def _expand(p, pattern, reduced):
    p = as_tensor_variable(p)
    return p.dimshuffle(*pattern) if reduced else p
