"""An episodic memory with kNN retrieval, and MbPA's per-query adaptation of a linear output layer.

    memory = EpisodicMemory(key_dim=32, capacity=450)
    memory.append(embed(x), y)
    knn = KNN(k=20)                                         # compiles once
    nb = knn(queries, memory.keys, memory.values)           # .indices .keys .values .distances .weights
    mbpa = MbPA(n_in=32, n_classes=10, k=20, steps=5, alpha=0.5, beta=0.01)
    logits = mbpa(queries, memory.keys, memory.values, W, b)

Sprechmann et al. (2018): for a query h = f(x), retrieve the K nearest keys
h_k with values v_k, weight them w_k ∝ 1 / (eps + |h - h_k|^2), and take n
gradient steps on the output parameters theta = (W, b) from theta0:
theta <- theta - alpha grad [sum_k w_k CE(softmax(h_k W + b), v_k) + beta/2 |theta - theta0|^2];
predict with the adapted parameters, then discard them.  A batch of queries is
adapted at once: the graph carries one (W, b) per query, (B, d, C) and (B, C),
so every step is a batched matrix product, unrolled ``steps`` times.
"""

from dataclasses import dataclass

import numpy as np

import symgraph as sg
import symgraph.tensor as T


class EpisodicMemory:
    """Keys (n, key_dim) and integer values; when full, the oldest entries are overwritten first."""

    def __init__(self, key_dim, capacity, dtype=None):
        if capacity < 1:
            raise ValueError(f"EpisodicMemory: capacity must be >= 1, got {capacity}")
        self.key_dim, self.capacity = key_dim, capacity
        self._keys = np.zeros((capacity, key_dim), dtype=dtype or sg.config.floatX)
        self._values = np.zeros(capacity, dtype="int32")
        self._size = 0
        self._next = 0          # the slot the next write goes to (a ring buffer once full)

    def append(self, keys, values):
        keys = np.asarray(keys, dtype=self._keys.dtype).reshape(-1, self.key_dim)
        values = np.asarray(values, dtype="int32").reshape(-1)
        if len(keys) != len(values):
            raise ValueError(f"EpisodicMemory.append: {len(keys)} keys but {len(values)} values")
        for key, value in zip(keys[-self.capacity:], values[-self.capacity:]):
            self._keys[self._next], self._values[self._next] = key, value
            self._next = (self._next + 1) % self.capacity
            self._size = min(self._size + 1, self.capacity)
        return self

    def set_keys(self, keys):
        """Replace every stored key (re-embedding the stored inputs with a newer network)."""
        keys = np.asarray(keys, dtype=self._keys.dtype)
        if keys.shape != (self._size, self.key_dim):
            raise ValueError(f"EpisodicMemory.set_keys: expected shape {(self._size, self.key_dim)}, "
                             f"got {keys.shape}")
        self._keys[:self._size] = keys

    @property
    def keys(self):
        return self._keys[:self._size]

    @property
    def values(self):
        return self._values[:self._size]

    def __len__(self):
        return self._size


def knn_graph(queries, keys, k, eps=1e-3):
    """Symbolic kNN: (indices (B, k), squared distances (B, k), weights (B, k) summing to 1 per row).

    Squared distances of the chosen neighbours are recomputed from the gathered
    keys, exactly, rather than read off the ||q||^2 - 2 q.k + ||k||^2 ranking
    matrix, which loses digits by cancellation.
    """
    ranking = T.sum(T.sqr(keys), axis=1).dimshuffle("x", 0) - 2 * T.dot(queries, keys.T)
    idx = T.argsort(ranking, axis=1)[:, :k]
    near = keys[idx]                                                     # (B, k, d)
    dist = T.sum(T.sqr(near - queries.dimshuffle(0, "x", 1)), axis=2)
    inv = 1.0 / (eps + dist)
    return idx, dist, inv / T.sum(inv, axis=1, keepdims=True)


@dataclass
class Neighbours:
    indices: np.ndarray       # (B, k) rows of the memory, nearest first
    keys: np.ndarray          # (B, k, d)
    values: np.ndarray        # (B, k)
    distances: np.ndarray     # (B, k) squared Euclidean
    weights: np.ndarray       # (B, k), w ∝ 1 / (eps + distance), each row sums to 1


class KNN:
    """Compiled K-nearest-neighbour retrieval and the weighted-vote classifier on it."""

    def __init__(self, k, eps=1e-3, n_classes=None):
        self.k, self.eps, self.n_classes = k, eps, n_classes
        q, keys, values = T.matrix("queries"), T.matrix("keys"), T.ivector("values")
        idx, dist, w = knn_graph(q, keys, k, eps)
        self._retrieve = sg.function([q, keys, values], [idx, keys[idx], values[idx], dist, w])
        if n_classes is not None:
            votes = T.sum(w.dimshuffle(0, 1, "x") * T.nnet.to_one_hot(values[idx].flatten(), n_classes)
                          .reshape((idx.shape[0], idx.shape[1], n_classes)), axis=1)
            self._vote = sg.function([q, keys, values], votes)

    def __call__(self, queries, keys, values):
        _check_memory("KNN", keys, values, self.k)
        return Neighbours(*self._retrieve(queries, keys, np.asarray(values, dtype="int32")))

    def vote(self, queries, keys, values):
        """(B, n_classes) summed neighbour weights per class (argmax: the kNN prediction)."""
        if self.n_classes is None:
            raise ValueError("KNN.vote needs n_classes given at construction")
        _check_memory("KNN", keys, values, self.k)
        return self._vote(queries, keys, np.asarray(values, dtype="int32"))


def adapt_output_layer(near_keys, near_values, weights, W0, b0, n_classes, steps, alpha, beta):
    """Symbolic MbPA inner loop: per-query (W, b) of shapes (B, d, C) and (B, C) after ``steps`` steps.

    Each query's objective involves only its own (W, b), so the gradient of the
    sum over queries is every query's own gradient, in one ``sg.grad`` per step.
    """
    B = near_keys.shape[0]
    W = T.alloc(W0, B, W0.shape[0], W0.shape[1])
    b = T.alloc(b0, B, b0.shape[0])
    targets = T.nnet.to_one_hot(near_values.flatten(), n_classes).reshape(
        (near_values.shape[0], near_values.shape[1], n_classes))
    for _ in range(steps):
        logits = T.batched_dot(near_keys, W) + b.dimshuffle(0, "x", 1)           # (B, k, C)
        nll = -T.sum(targets * T.nnet.log_softmax(logits), axis=2)               # (B, k)
        anchor = T.sum(T.sqr(W - W0.dimshuffle("x", 0, 1))) + T.sum(T.sqr(b - b0.dimshuffle("x", 0)))
        objective = T.sum(weights * nll) + 0.5 * beta * anchor
        gW, gb = sg.grad(objective, [W, b])
        W, b = W - alpha * gW, b - alpha * gb
    return W, b


class MbPA:
    """Compiled memory-based parameter adaptation of a linear softmax output layer ``h W + b``.

    ``__call__(queries, keys, values, W, b)`` retrieves each query's k
    neighbours, adapts (W, b) per query and returns the adapted logits (B, C).
    """

    def __init__(self, n_in, n_classes, k=20, steps=5, alpha=0.5, beta=0.01, eps=1e-3):
        self.k, self.steps, self.alpha, self.beta = k, steps, alpha, beta
        q, keys, values = T.matrix("queries"), T.matrix("keys"), T.ivector("values")
        W0, b0 = T.matrix("W0"), T.vector("b0")
        # alpha and beta are inputs, not constants, so a grid over them reuses one compiled function
        self._alpha, self._beta = T.scalar("alpha"), T.scalar("beta")
        idx, _, w = knn_graph(q, keys, k, eps)
        W, b = adapt_output_layer(keys[idx], values[idx], w, W0, b0, n_classes, steps, self._alpha, self._beta)
        logits = T.batched_dot(q.dimshuffle(0, "x", 1), W)[:, 0, :] + b
        self._logits = sg.function([q, keys, values, W0, b0, self._alpha, self._beta], logits)
        self._n_classes, self._eps = n_classes, eps
        self._adapt = None

    def __call__(self, queries, keys, values, W, b, alpha=None, beta=None):
        """Adapted logits (B, C); ``alpha``/``beta`` default to the constructor's."""
        _check_memory("MbPA", keys, values, self.k)
        return self._logits(queries, keys, np.asarray(values, dtype="int32"), W, b,
                            self.alpha if alpha is None else alpha, self.beta if beta is None else beta)

    def adapt(self, near_keys, near_values, weights, W, b, alpha=None, beta=None):
        """The adapted per-query parameters for given neighbours: ((B, d, C), (B, C))."""
        if self._adapt is None:         # compiled on first use: the unrolled loop costs seconds to compile
            nk, nv, w_in = T.tensor3("near_keys"), T.imatrix("near_values"), T.matrix("weights")
            W0, b0 = T.matrix("W0"), T.vector("b0")
            Wa, ba = adapt_output_layer(nk, nv, w_in, W0, b0, self._n_classes, self.steps, self._alpha,
                                        self._beta)
            self._adapt = sg.function([nk, nv, w_in, W0, b0, self._alpha, self._beta], [Wa, ba])
        return self._adapt(near_keys, np.asarray(near_values, dtype="int32"), weights, W, b,
                           self.alpha if alpha is None else alpha, self.beta if beta is None else beta)


def _check_memory(who, keys, values, k):
    if len(keys) != len(values):
        raise ValueError(f"{who}: {len(keys)} keys but {len(values)} values")
    if len(keys) < k:
        raise ValueError(f"{who}: the memory holds {len(keys)} entries, fewer than k = {k}")
