"""Dropout through RandomStreams: the mask is a Bernoulli draw, so it changes on every call."""

from ...errors import SymgraphError


def dropout(x, p, srng=None, seed=None, rescale=True):
    """Zero each entry of ``x`` with probability ``p``.

    With ``rescale`` (inverted dropout) the kept entries are divided by
    ``1 - p`` so the expectation is unchanged and no scaling is needed at test
    time.  ``srng`` is a ``T.random.RandomStreams``; one is made from ``seed``
    if not given.  The mask's state advances through the compiled function's
    default updates.
    """
    from ..random import RandomStreams
    from ..variable import as_tensor_variable

    x = as_tensor_variable(x)
    if isinstance(p, (int, float)) and not 0 <= p < 1:
        raise SymgraphError(f"dropout: p must be in [0, 1), got {p!r}")
    if srng is None:
        srng = RandomStreams(seed)
    keep = 1 - p
    mask = srng.bernoulli(keep, size=x.shape, dtype=x.dtype)
    out = x * mask
    return out / keep if rescale else out
