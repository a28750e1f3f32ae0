"""W6: a LeNet-style convnet training step, batch 64 of 1x28x28 images.

conv 5x5x20, ReLU, max-pool 2, conv 5x5x50, ReLU, max-pool 2, dense 500,
ReLU, dense 10, softmax cross-entropy, SGD (the Theano tutorial's LeNet with
ReLU).  symgraph builds it from ``T.nnet.conv2d`` and ``T.nnet.pool_2d``.
"""

import numpy as np

from . import convnet
from .base import Case

WORKLOAD = "W6"
TITLE = "LeNet-style convnet training step, batch 64, 1x28x28"
SPEC = [("conv", 20, 5, 1, 0), ("pool", 2, 2), ("conv", 50, 5, 1, 0), ("pool", 2, 2), ("fc", 500), ("fc", 10)]
BATCH = {"quick": 8, "default": 64, "full": 64}
LR = 0.01


def cases(size):
    batch = BATCH[size]
    rng = np.random.default_rng(6)
    params, flat_chw, flops = convnet.init(rng, SPEC, (1, 28, 28), batch)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int32)
    return [Case(WORKLOAD, f"LeNet step b={batch}", "ms", convnet.builders(SPEC, params, flat_chw, x, y, LR),
                 work=("flop", flops), tol=2e-3, missing={"pytensor": convnet.MISSING_PYTENSOR})]
