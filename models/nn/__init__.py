"""Layers, recurrent cells, initialisation schemes and parameter collections."""

from . import init
from .init import (
    constant,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    orthogonal,
    xavier_normal,
    xavier_uniform,
    zeros,
)
from .layers import MLP, Conv2D, Dense, Embedding, Layer, Maxout, Sequential
from .lp import Lp, lp_pool
from .params import Params
from .recurrent import GRU, LSTM, GRUCell, LSTMCell, Recurrent

__all__ = [
    "GRU", "LSTM", "MLP", "Conv2D", "Dense", "Embedding", "GRUCell", "LSTMCell", "Layer", "Lp", "Maxout", "Params",
    "Recurrent", "Sequential", "constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "init",
    "lp_pool", "orthogonal", "xavier_normal", "xavier_uniform", "zeros",
]
