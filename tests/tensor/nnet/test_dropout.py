"""dropout: the mask rate, rescaling, fresh masks per call and gradients through kept entries."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T


def test_dropout_rate_rescaling_and_fresh_masks():
    x = T.dmatrix("x")
    y = T.nnet.dropout(x, 0.3, srng=T.random.RandomStreams(0))
    f = sg.function([x], y)
    data = np.ones((200, 500))
    a, b = f(data), f(data)
    kept = a != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(a[kept], 1 / 0.7)
    assert not np.array_equal(a, b)


def test_dropout_gradient_passes_only_through_kept_entries():
    x = T.dvector("x")
    y = T.nnet.dropout(x, 0.5, seed=1, rescale=False)
    out, g = sg.function([x], [y, sg.grad(y.sum(), x)])(np.arange(1.0, 1001.0))
    np.testing.assert_array_equal(g, (out != 0).astype(float))
