"""Small synthetic datasets: two moons, blobs, and a teacher-network regression task."""

import itertools

import numpy as np

import symgraph as sg


def two_moons(n, noise=0.1, seed=0):
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x.astype(sg.config.floatX), y.astype("int32")


def blobs(n, centers=3, n_features=2, std=1.0, seed=0):
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=n, centers=centers, n_features=n_features, cluster_std=std, random_state=seed)
    return x.astype(sg.config.floatX), y.astype("int32")


def teacher_regression(n, sizes=(4, 16, 1), noise=0.0, seed=0, activation=np.tanh):
    """Inputs N(0, I) and targets from a random MLP with weights N(0, 1/fan_in) (plus optional noise).

    Returns ``(x, y, teacher_weights)``; ``teacher_weights`` is a list of (W, b).
    """
    rng = np.random.default_rng(seed)
    weights = [(rng.normal(0, 1 / np.sqrt(a), (a, b)), rng.normal(0, 0.1, b)) for a, b in itertools.pairwise(sizes)]
    x = rng.normal(size=(n, sizes[0]))
    h = x
    for i, (W, b) in enumerate(weights):
        h = h @ W + b
        if i < len(weights) - 1:
            h = activation(h)
    y = h + noise * rng.normal(size=h.shape)
    return x.astype(sg.config.floatX), y.astype(sg.config.floatX), weights
