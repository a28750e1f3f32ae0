"""The rewritten gradient of an MLP is no bigger than a forward+backward pass written by hand."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T
from symgraph.graph.fg import FunctionGraph

from .helpers import compile_fn

# Nodes of the hand-written graph below as built: forward 14 (per tanh layer dot, bias
# dimshuffle, add, tanh; the last layer without tanh; sub, sqr, sum), backward 20 (2 * diff;
# per layer dot(h.T, d) with its transpose, the bias sum, and for hidden layers
# dot(d, W.T) * (1 - h * h)).
HAND_WRITTEN_NODES = 34
# FAST_RUN without fusion on grad()'s graph, when this test was written: the hand-written
# graph with each dot + bias folded into a Gemm (3 nodes fewer).
REWRITTEN_NODES = 31


def mlp_inputs():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    ws = [T.dmatrix(f"W{i}") for i in range(3)]
    bs = [T.dvector(f"b{i}") for i in range(3)]
    return x, y, ws, bs


def forward(x, ws, bs):
    h, hidden = x, []
    for i, (w, b) in enumerate(zip(ws, bs)):
        h = T.dot(h, w) + b
        if i < len(ws) - 1:
            h = T.tanh(h)
            hidden.append(h)
    return h, hidden


def automatic(x, y, ws, bs):
    out, _ = forward(x, ws, bs)
    loss = T.sum((out - y) ** 2)
    return [loss] + sg.grad(loss, ws + bs)


def hand_written(x, y, ws, bs):
    out, (h0, h1) = forward(x, ws, bs)
    diff = out - y
    loss = T.sum(T.sqr(diff))
    d2 = 2 * diff
    d1 = T.dot(d2, ws[2].T) * (1 - h1 * h1)
    d0 = T.dot(d1, ws[1].T) * (1 - h0 * h0)
    gws = [T.dot(x.T, d0), T.dot(h0.T, d1), T.dot(h1.T, d2)]
    gbs = [T.sum(d0, axis=0), T.sum(d1, axis=0), T.sum(d2, axis=0)]
    return [loss] + gws + gbs


def test_rewritten_mlp_gradient_is_no_bigger_than_the_hand_written_one():
    x, y, ws, bs = mlp_inputs()
    inputs = [x, y] + ws + bs
    hand = hand_written(x, y, ws, bs)
    hand_nodes = len(FunctionGraph(inputs, hand).toposort())
    f = compile_fn(inputs, automatic(x, y, ws, bs))
    auto_nodes = len(f.fgraph.toposort())
    assert hand_nodes == HAND_WRITTEN_NODES
    assert auto_nodes <= REWRITTEN_NODES <= HAND_WRITTEN_NODES

    rng = np.random.default_rng(5)
    values = [rng.normal(size=s) for s in ((6, 4), (6, 2), (4, 3), (3, 3), (3, 2), (3,), (3,), (2,))]
    by_hand = sg.function(inputs, hand, mode="FAST_COMPILE")(*values)
    for got, want in zip(f(*values), by_hand):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_nothing_is_computed_twice_in_the_rewritten_gradient():
    x, y, ws, bs = mlp_inputs()
    f = compile_fn([x, y] + ws + bs, automatic(x, y, ws, bs))
    keys = [(n.op, tuple(n.inputs)) for n in f.fgraph.toposort()]
    assert len(keys) == len(set(keys))
    # each tanh, and each product, is computed once
    names = [str(n.op) for n in f.fgraph.toposort()]
    assert names.count("tanh") == 2
    assert names.count("Dot") + names.count("Gemm") == 3 + 5  # forward 3, backward 3 weights + 2 inputs
