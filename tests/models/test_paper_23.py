"""Paper 23 (saddle-free Newton): the exact batched MLP Hessian the experiment is to be built on."""

import numpy as np
import symgraph.tensor as T
from symgraph.models import curvature, nn
from symgraph.models.mlp_hessian import MLPHessian


def test_batched_mlp_hessian_matches_the_scan_hessian():
    import symgraph.tensor as T_
    rng = np.random.default_rng(0)
    net = nn.MLP([3, 4, 3], activation=T.tanh, rng=rng)
    x, y = T_.matrix("x"), T_.ivector("y")
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(net(x)), y).mean()
    curv = curvature.Curvature(loss, net.params.list(), [x, y])
    X, Y = rng.normal(size=(20, 3)), rng.integers(0, 3, 20).astype("int32")
    mh = MLPHessian([3, 4, 3], X, Y)
    theta = curv.get_flat()
    np.testing.assert_allclose(mh.hessian(theta), curv.hessian(X, Y), atol=1e-12)
    l1, g1 = mh.loss_and_grad(theta)
    l2, g2 = curv.loss_and_grad(X, Y)
    np.testing.assert_allclose([l1, *g1], [l2, *g2], atol=1e-12)
