"""Scan: loops with carried state, per-step outputs and dropped histories, against NumPy loops.

The empty variant is a loop of zero steps (a sequence of length 0).
"""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from .harness import ALL, Arg, Case

SQUARE = Arg(shape=(4, 4), static=(4, 4))


def _running_sum(x):
    zero = T.zeros((x.shape[1],), dtype=x.dtype)
    out, _ = sg.scan(lambda v, acc: acc + v, sequences=x, outputs_info=zero)
    return out


def _rnn(xs, W):
    hs, _ = sg.scan(lambda x, h, W: T.tanh(T.dot(h, W) + x), sequences=xs,
                    outputs_info=T.zeros((4,), dtype=xs.dtype), non_sequences=W)
    return [hs, hs.sum(axis=0)]


def _rnn_reference(xs, W):
    h, hs = np.zeros(4, xs.dtype), []
    for x in xs:
        h = np.tanh(h @ W + x)
        hs.append(h)
    hs = np.array(hs, dtype=xs.dtype).reshape((len(xs), 4))
    return [hs, hs.sum(axis=0)]


def _two_carries(xs):
    zero = T.zeros((xs.shape[1],), dtype=xs.dtype)
    # b reads the old a; only b's last value is used, so its history is dropped.
    (a, b, y), _ = sg.scan(lambda x, a, b: (a * 0.5 + x, b + a, x * a), sequences=xs,
                           outputs_info=[zero, zero, None])
    return [a, b[-1], y]


def _two_carries_reference(xs):
    a = b = np.zeros(xs.shape[1], xs.dtype)
    hist, ys = [], []
    for x in xs:
        a, b, y = a * xs.dtype.type(0.5) + x, b + a, x * a
        hist.append(a)
        ys.append(y)
    return [np.array(hist), b, np.array(ys)]


CASES = [
    Case("scan_running_sum", _running_sum, lambda x: np.add.accumulate(x, axis=0, dtype=x.dtype),
         dtypes=ALL, variants=("random", "empty", "strided", "nonfinite")),
    Case("scan_rnn", _rnn, _rnn_reference, args=(Arg(shape=(5, 4)), SQUARE), dtypes=("float32", "float64"),
         variants=("random", "empty", "strided", "nonfinite"), rtol={"float32": 1e-4}),
    Case("scan_two_carries_and_outputs", _two_carries, _two_carries_reference, args=(Arg(shape=(5, 3)),),
         dtypes=("float32", "float64"), variants=("random", "strided", "nonfinite")),
]
