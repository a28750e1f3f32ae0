"""Analysis tools for the theory papers: ReLU rescaling and linear-region counting.

``rescale_consecutive`` is Dinh et al.'s T_alpha: for a positively homogeneous
activation (ReLU, maxout), multiplying layer i (weights and bias) by alpha and
layer i+1's weights by 1/alpha leaves the network's function unchanged.
``count_activation_patterns`` counts the distinct on/off patterns of the
hidden units over a set of inputs (a lower bound on the number of linear
regions met), as in Montufar et al.
"""

import numpy as np


def rescale_consecutive(layer, next_layer, alpha):
    """In place: ``W_i, b_i <- alpha W_i, alpha b_i``; ``W_(i+1) <- W_(i+1) / alpha``."""
    layer.W.set_value(layer.W.get_value() * alpha)
    layer.b.set_value(layer.b.get_value() * alpha)
    next_layer.W.set_value(next_layer.W.get_value() / alpha)


def activation_patterns(preactivations):
    """Boolean (n, units) matrix of which hidden units are on, from a list of (n, units_l) arrays."""
    return np.concatenate([np.asarray(p) > 0 for p in preactivations], axis=1)


def count_activation_patterns(preactivations) -> int:
    """Number of distinct activation patterns over the rows."""
    patterns = activation_patterns(preactivations)
    return int(np.unique(np.packbits(patterns, axis=1), axis=0).shape[0])


def count_breakpoints_1d(values, xs):
    """Breakpoints of a piecewise-linear 1-D function sampled on a fine grid ``xs``.

    A breakpoint is where the slope changes; on a grid fine enough for each
    linear piece to span at least two intervals, the count of pieces is this + 1.
    """
    slopes = np.diff(values) / np.diff(xs)
    change = ~np.isclose(np.diff(slopes), 0.0, atol=1e-8 * max(1.0, np.abs(slopes).max()))
    # a kink inside one grid interval shows up as two consecutive slope changes
    kinks = np.flatnonzero(change)
    if kinks.size == 0:
        return 0
    return int(1 + np.count_nonzero(np.diff(kinks) > 1))


def max_relative_change(before, after, floor=1e-12):
    """``max |after - before| / max(|before|, floor)`` over all entries: a function-preservation check."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    return float(np.max(np.abs(after - before) / np.maximum(np.abs(before), floor)))
