"""The diagonal Fisher information of a softmax classifier, from per-example gradients.

    fisher = DiagonalFisher(logits, params, x)             # compiles once
    F = fisher(X, rng=np.random.default_rng(0))             # one array per parameter
    F_emp = fisher(X, y=Y)                                  # the empirical-label variant

    fast = DenseDiagonalFisher(logits, x, [(h, z, W, b), ...])   # same numbers for dense stacks

``F_i = E_x E_{y ~ p_theta(y|x)} [(d log p_theta(y|x) / d theta_i)^2]`` (EWC's
Fisher, Kirkpatrick et al. 2017): labels are sampled from the model's own
predictive distribution, one per example. The "empirical Fisher" uses the
dataset's labels instead; it is cheaper to explain but is not the Fisher and
is biased where the model is wrong.
"""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from .curvature import per_example_gradients


class _Fisher:
    """Label sampling, chunking and reshaping shared by the Fisher estimators.

    Subclasses set ``params``, ``shapes``, ``_probs`` (x -> softmax
    probabilities) and ``_sum_sq`` ((x, y) -> flat sum over examples of the
    squared per-example gradients, parameters concatenated in order).
    """

    def sample_labels(self, x, rng):
        """One label per row of ``x`` drawn from the model's predictive distribution (inverse CDF)."""
        p = self._probs(x)
        u = rng.random(len(p))
        cdf = np.cumsum(p, axis=1)
        return np.minimum((u[:, None] >= cdf).sum(axis=1), p.shape[1] - 1).astype("int32")

    def __call__(self, x, y=None, rng=None, batch_size=None):
        """The diagonal Fisher, one array per parameter (shaped like it).

        With ``y`` given, the empirical Fisher on those labels; otherwise labels
        are sampled with ``rng`` (a ``numpy.random.Generator``; required then).
        ``batch_size`` bounds the examples per compiled call (memory only).
        """
        name = type(self).__name__
        x = np.asarray(x)
        if y is None:
            if rng is None:
                raise ValueError(f"{name}: sampled labels need rng (a numpy Generator); "
                                 "pass y= for the empirical Fisher")
            y = self.sample_labels(x, rng)
        y = np.asarray(y, dtype="int32")
        if len(y) != len(x):
            raise ValueError(f"{name}: {len(x)} inputs but {len(y)} labels")
        n = len(x)
        step = batch_size or n
        total = sum(self._sum_sq(x[s:s + step], y[s:s + step]) for s in range(0, n, step))
        return self.unflatten(total / n)

    def unflatten(self, flat):
        out, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            out.append(np.asarray(flat[start:start + size]).reshape(shape))
            start += size
        return out


class DiagonalFisher(_Fisher):
    """Compiled per-example squared log-likelihood gradients of ``softmax(logits)`` w.r.t. ``params``.

    ``logits`` is a symbolic (n, classes) function of the input ``x`` whose
    examples are independent (no batch statistics); ``params`` are shared
    variables.  All per-example gradients of a batch come from one compiled
    call (a scan over the examples, ``curvature.per_example_gradients``).
    """

    def __init__(self, logits, params, x):
        self.params = list(params)
        self.x = x
        self.y = T.ivector("fisher_y")
        self.shapes = [p.get_value().shape for p in self.params]
        probs = T.nnet.softmax(logits)
        # -log p(y|x): its square-gradient equals that of log p(y|x)
        nll = T.nnet.categorical_crossentropy(probs, self.y).mean()
        grads = per_example_gradients(nll, self.params, [x, self.y])
        self._probs = sg.function([x], probs)
        self._sum_sq = sg.function([x, self.y], T.sum(T.sqr(grads), axis=0))


class DenseDiagonalFisher(_Fisher):
    """The same Fisher for a stack of dense layers, without a loop over examples.

    ``dense`` lists ``(h, z, W, b)`` with ``z = dot(h, W) + b`` for every layer
    whose ``W`` and ``b`` (shared variables) are the parameters, in that order
    (``params = [W1, b1, W2, b2, ...]``).  Example i's gradient is
    ``h_i^T dz_i`` for W and ``dz_i`` for b, with ``dz`` the gradient of the
    *summed* loss w.r.t. ``z`` (row i depends on example i only), so the sum of
    squares over examples is ``(h^2)^T (dz^2)`` and ``sum_i dz_i^2``: one
    product per layer instead of a scan (Goodfellow 2015).
    """

    def __init__(self, logits, x, dense):
        self.params = [p for _, _, W, b in dense for p in (W, b)]
        self.x = x
        self.y = T.ivector("fisher_y")
        self.shapes = [p.get_value().shape for p in self.params]
        probs = T.nnet.softmax(logits)
        nll_sum = T.sum(T.nnet.categorical_crossentropy(probs, self.y))
        dzs = sg.grad(nll_sum, [z for _, z, _, _ in dense])
        parts = []
        for (h, _, _, _), dz in zip(dense, dzs):
            sq = T.sqr(dz)
            parts += [T.flatten(T.dot(T.sqr(h).T, sq)), T.sum(sq, axis=0)]
        self._probs = sg.function([x], probs)
        self._sum_sq = sg.function([x, self.y], T.concatenate(parts))
