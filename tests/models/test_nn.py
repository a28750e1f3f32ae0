"""Layers' shapes, initialisation statistics, Params bookkeeping, and that small nets train."""

import numpy as np
import pytest
from symgraph.models import nn, optim

import symgraph as sg
import symgraph.tensor as T


def _rng():
    return np.random.default_rng(0)


def test_dense_conv_maxout_embedding_output_shapes():
    x = T.matrix("x")
    img = T.tensor4("img")
    idx = T.imatrix("idx")
    dense = nn.Dense(5, 3, activation=T.tanh, rng=_rng())
    conv = nn.Conv2D(2, 4, 3, activation=T.nnet.relu, rng=_rng())
    maxout = nn.Maxout(5, 3, pieces=4, rng=_rng())
    emb = nn.Embedding(10, 6, rng=_rng())
    f = sg.function([x, img, idx], [dense(x), conv(img), maxout(x), emb(idx)])
    d, c, m, e = f(np.ones((7, 5)), np.ones((2, 2, 6, 6)), np.array([[1, 2], [3, 9]], dtype="int32"))
    assert d.shape == (7, 3) and c.shape == (2, 4, 4, 4) and m.shape == (7, 3) and e.shape == (2, 2, 6)
    np.testing.assert_allclose(e[1, 1], emb.W.get_value()[9])


def test_maxout_takes_max_over_pieces():
    layer = nn.Maxout(3, 2, pieces=3, rng=_rng())
    x = T.matrix("x")
    xv = _rng().normal(size=(4, 3))
    z = xv @ layer.W.get_value() + layer.b.get_value()
    np.testing.assert_allclose(sg.function([x], layer(x))(xv), z.reshape(4, 2, 3).max(axis=2))


@pytest.mark.parametrize("scheme,std", [
    (nn.glorot_uniform, np.sqrt(2 / (200 + 300))),
    (nn.glorot_normal, np.sqrt(2 / (200 + 300))),
    (nn.he_normal, np.sqrt(2 / 200)),
    (nn.he_uniform, np.sqrt(2 / 200)),
])
def test_init_scheme_has_its_variance(scheme, std):
    w = scheme(_rng(), (200, 300))
    assert abs(w.std() / std - 1) < 0.03 and abs(w.mean()) < 0.01


def test_init_is_reproducible_from_the_seed():
    np.testing.assert_array_equal(nn.glorot_uniform(_rng(), (4, 5)), nn.glorot_uniform(_rng(), (4, 5)))


@pytest.mark.parametrize("shape", [(6, 6), (4, 9), (9, 4), (8, 2, 3, 3)])
def test_orthogonal_init_has_orthonormal_rows_or_columns(shape):
    w = nn.orthogonal(_rng(), shape).reshape(shape[0], -1)
    small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(small, np.eye(small.shape[0]), atol=1e-12)


def test_params_freeze_snapshot_restore_count():
    mlp = nn.MLP([4, 3, 2], rng=_rng())
    ps = mlp.params
    assert len(ps) == 4 and ps.count() == 4 * 3 + 3 + 3 * 2 + 2
    first = mlp.layers[0]
    ps.freeze(first.W, "mlp.0.b")
    assert ps.list() == [mlp.layers[1].W, mlp.layers[1].b]
    assert ps.count(trainable_only=True) == 8
    snap = ps.snapshot()
    first.W.set_value(np.zeros((4, 3)))
    ps.restore(snap)
    np.testing.assert_array_equal(first.W.get_value(), snap["mlp.0.W"])
    ps.unfreeze()
    assert len(ps.list()) == 4
    with pytest.raises(KeyError, match="nope"):
        ps.freeze("nope")


def test_mlp_trains_on_xor_and_frozen_layer_is_untouched():
    x, y = T.matrix("x"), T.ivector("y")
    xv = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    yv = np.array([0, 1, 1, 0], dtype="int32")
    mlp = nn.MLP([2, 8, 2], activation=T.tanh, rng=np.random.default_rng(1))
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(mlp(x)), y).mean()
    train = sg.function([x, y], loss, updates=optim.Adam(lr=0.05).updates(loss, mlp.params.list()))
    losses = [float(train(xv, yv)) for _ in range(150)]
    assert losses[-1] < 0.05 < losses[0]

    mlp.params.freeze(mlp.layers[0].W)
    before = mlp.layers[0].W.get_value()
    train2 = sg.function([x, y], loss, updates=optim.SGD(lr=0.1).updates(loss, mlp.params.list()))
    train2(xv, yv)
    np.testing.assert_array_equal(mlp.layers[0].W.get_value(), before)


def _lstm_numpy(cell, xs):
    W, U, b = cell.W.get_value(), cell.U.get_value(), cell.b.get_value()
    H = cell.n_hidden
    h = np.zeros((xs.shape[1], H))
    c = np.zeros_like(h)
    sig = lambda a: 1 / (1 + np.exp(-a))
    out = []
    for x in xs:
        z = x @ W + h @ U + b
        i, f, o, g = sig(z[:, :H]), sig(z[:, H:2 * H]), sig(z[:, 2 * H:3 * H]), np.tanh(z[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out)


def _gru_numpy(cell, xs):
    W, U, b = cell.W.get_value(), cell.U.get_value(), cell.b.get_value()
    H = cell.n_hidden
    sig = lambda a: 1 / (1 + np.exp(-a))
    h = np.zeros((xs.shape[1], H))
    out = []
    for x in xs:
        wx = x @ W + b
        z = sig(wx[:, :H] + h @ U[:, :H])
        r = sig(wx[:, H:2 * H] + h @ U[:, H:2 * H])
        h = (1 - z) * h + z * np.tanh(wx[:, 2 * H:] + (r * h) @ U[:, 2 * H:])
        out.append(h)
    return np.stack(out)


def test_lstm_and_gru_run_over_time_with_the_right_shapes_and_values():
    x = T.tensor3("x")
    lstm = nn.LSTM(3, 4, rng=_rng())
    gru = nn.GRU(3, 5, rng=_rng())
    xv = _rng().normal(size=(6, 2, 3))
    hl, hg = sg.function([x], [lstm(x), gru(x)])(xv)
    assert hl.shape == (6, 2, 4) and hg.shape == (6, 2, 5)
    np.testing.assert_allclose(hl, _lstm_numpy(lstm.cell, xv), atol=1e-12)
    np.testing.assert_allclose(hg, _gru_numpy(gru.cell, xv), atol=1e-12)


def test_lstm_learns_to_report_the_first_input_at_the_last_step():
    rng = np.random.default_rng(0)
    n, steps = 32, 5
    first = rng.integers(0, 2, size=n)
    xs = rng.normal(0, 0.3, size=(steps, n, 1))
    xs[0, :, 0] = 2.0 * first - 1.0
    x, y = T.tensor3("x"), T.ivector("y")
    lstm = nn.LSTM(1, 6, rng=rng)
    head = nn.Dense(6, 2, rng=rng)
    logits = head(lstm(x)[-1])
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(logits), y).mean()
    acc = T.mean(T.eq(T.argmax(logits, axis=1), y))
    params = lstm.params.list() + head.params.list()
    train = sg.function([x, y], [loss, acc], updates=optim.Adam(lr=0.05).updates(loss, params))
    hist = [train(xs, first.astype("int32")) for _ in range(60)]
    assert float(hist[-1][0]) < 0.5 * float(hist[0][0])
    assert float(hist[-1][1]) == 1.0
