"""An LSTM language model (embedding, LSTM via scan, softmax cross-entropy, SGD) learns a sequence task."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

VOCAB, EMBED, HIDDEN, STEPS, BATCH = 6, 8, 16, 12, 8


def make_batch(rng):
    """Sequences that count up modulo VOCAB from a random start: the next token is predictable."""
    start = rng.integers(0, VOCAB, size=BATCH)
    tokens = (start[:, None] + np.arange(STEPS + 1)[None, :]) % VOCAB
    return tokens[:, :-1].T.astype("int64"), tokens[:, 1:].T.astype("int64")  # (time, batch)


def build(rng, learning_rate=0.5):
    def param(*shape, scale=0.3):
        return sg.shared(rng.standard_normal(shape) * scale)

    emb = param(VOCAB, EMBED)
    W = param(EMBED, 4 * HIDDEN)
    U = param(HIDDEN, 4 * HIDDEN)
    b = sg.shared(np.zeros(4 * HIDDEN))
    V = param(HIDDEN, VOCAB)
    c_out = sg.shared(np.zeros(VOCAB))
    params = [emb, W, U, b, V, c_out]

    x = T.lmatrix("x")  # (time, batch) token ids
    y = T.lmatrix("y")

    def step(x_t, h, c):
        z = T.dot(emb[x_t], W) + T.dot(h, U) + b
        i = T.nnet.sigmoid(z[:, :HIDDEN])
        f = T.nnet.sigmoid(z[:, HIDDEN:2 * HIDDEN])
        o = T.nnet.sigmoid(z[:, 2 * HIDDEN:3 * HIDDEN])
        g = T.tanh(z[:, 3 * HIDDEN:])
        c_new = f * c + i * g
        return o * T.tanh(c_new), c_new

    zeros = T.zeros((x.shape[1], HIDDEN))
    (hs, _), _ = sg.scan(step, sequences=x, outputs_info=[zeros, zeros])
    logits = T.dot(hs.reshape((-1, HIDDEN)), V) + c_out
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(logits), y.flatten()).mean()
    grads = sg.grad(loss, params)
    updates = [(p, p - learning_rate * g) for p, g in zip(params, grads)]
    return sg.function([x, y], loss, updates=updates)


def test_lstm_language_model_trains_below_a_stated_loss():
    rng = np.random.default_rng(0)
    train = build(rng)
    losses = [float(train(*make_batch(rng))) for _ in range(150)]
    # Chance level is log(6) = 1.79; a model that learned the counting rule is far below.
    assert np.mean(losses[:5]) > 1.5
    assert np.mean(losses[-10:]) < 0.3, losses[-10:]
