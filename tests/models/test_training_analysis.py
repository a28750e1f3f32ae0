"""The classifier trainer on digits, ReLU rescaling invariance, activation-pattern counting."""

import numpy as np
from symgraph.models import analysis, data, nn, optim
from symgraph.models.training import Classifier

import symgraph as sg
import symgraph.tensor as T


def test_classifier_learns_digits_and_reports_history():
    rng = np.random.default_rng(0)
    d = data.load_digits(seed=0)
    clf = Classifier(nn.MLP([64, 32, 10], activation=T.nnet.relu, rng=rng), optim.Adam(lr=0.01))
    hist = clf.fit(d.train.subset(np.arange(400)), epochs=8, batch_size=50, rng=rng, valid=d.valid)
    assert len(hist["train_loss"]) == 8 and hist["train_loss"][-1] < hist["train_loss"][0]
    _, acc = clf.evaluate(d.test)
    assert acc > 0.85 and hist["valid_acc"][-1] > 0.85


def test_relu_rescaling_keeps_the_function_and_scales_weights():
    rng = np.random.default_rng(0)
    mlp = nn.MLP([4, 5, 3], activation=T.nnet.relu, rng=rng)
    mlp.layers[0].b.set_value(rng.normal(size=5))
    x = T.matrix("x")
    f = sg.function([x], mlp(x))
    xv = rng.normal(size=(6, 4))
    before = f(xv)
    w0 = mlp.layers[0].W.get_value()
    analysis.rescale_consecutive(mlp.layers[0], mlp.layers[1], 10.0)
    np.testing.assert_allclose(f(xv), before, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mlp.layers[0].W.get_value(), 10 * w0)


def _tent_network(depth, xs):
    """Width-2 ReLU layers computing the tent map t(x) = 2 relu(x) - 4 relu(x - 1/2) repeatedly."""
    h = xs
    for _ in range(depth):
        h = 2 * np.maximum(h, 0) - 4 * np.maximum(h - 0.5, 0)
    return h


def test_breakpoints_of_composed_tent_maps_double_with_depth():
    xs = np.linspace(0, 1, 2 ** 12 + 1)
    for depth in (1, 3, 5):
        assert analysis.count_breakpoints_1d(_tent_network(depth, xs), xs) + 1 == 2 ** depth


def test_activation_patterns_count_distinct_rows():
    pre = [np.array([[1.0, -1.0], [2.0, -3.0], [-1.0, 1.0]]), np.array([[0.5], [0.5], [0.5]])]
    assert analysis.count_activation_patterns(pre) == 2
