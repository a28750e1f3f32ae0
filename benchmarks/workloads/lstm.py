"""Stacked LSTMs once per framework, for the language model (W5) and the seq2seq model (W9).

Common parameters per layer: ``W`` (inputs, 4H), ``U`` (H, 4H), ``b`` (4H),
gates in the order input, forget, candidate, output (Keras's order too; torch
takes the transposes and a second bias, set to zero).  Every version projects
all time steps' inputs with one GEMM before the loop, as cuDNN-style kernels
do, and loops only over the recurrent part: ``sg.scan``, ``pytensor.scan``,
``lax.scan``, torch's ``nn.LSTM`` and Keras's ``LSTM`` layer.
"""

import numpy as np

from .base import dense_init


def init_stack(rng, n_in, hidden, layers):
    """``[W0, U0, b0, W1, U1, b1, ...]`` as float32."""
    params = []
    for layer in range(layers):
        params += [dense_init(rng, n_in if layer == 0 else hidden, 4 * hidden) * 0.5,
                   dense_init(rng, hidden, 4 * hidden) * 0.5,
                   np.zeros(4 * hidden, np.float32)]
    return params


def stack_flops(steps, batch, n_in, hidden, layers):
    """Forward multiply-adds x2 of the input and recurrent GEMMs of every layer."""
    return sum(2 * steps * batch * ((n_in if i == 0 else hidden) + hidden) * 4 * hidden for i in range(layers))


# ---- symgraph and PyTensor (the same Theano idiom) ------------------------------------------------


def theano_stack(lib, scan, inputs, params, hidden, initial=None):
    """``lib`` is ``symgraph.tensor`` or ``pytensor.tensor``; ``inputs`` (T, B, n_in). Returns (hs, finals)."""
    sigmoid = lib.nnet.sigmoid if hasattr(lib, "nnet") else lib.sigmoid
    h = inputs
    finals = []
    for layer in range(len(params) // 3):
        W, U, b = params[3 * layer: 3 * layer + 3]
        steps, batch = h.shape[0], h.shape[1]
        xw = (lib.dot(h.reshape((steps * batch, h.shape[2])), W) + b).reshape((steps, batch, 4 * hidden))

        def step(z_x, h_prev, c_prev, U=U):
            z = z_x + lib.dot(h_prev, U)
            i = sigmoid(z[:, :hidden])
            f = sigmoid(z[:, hidden:2 * hidden])
            g = lib.tanh(z[:, 2 * hidden:3 * hidden])
            o = sigmoid(z[:, 3 * hidden:])
            c = f * c_prev + i * g
            return o * lib.tanh(c), c

        if initial is None:
            zeros = lib.zeros((batch, hidden), dtype="float32")
            start = [zeros, zeros]
        else:
            start = list(initial[layer])
        (h, c), _ = scan(step, sequences=xw, outputs_info=start)
        finals.append((h[-1], c[-1]))
    return h, finals


def symgraph_stack(inputs, params, hidden, initial=None):
    import symgraph as sg
    import symgraph.tensor as T

    return theano_stack(T, sg.scan, inputs, params, hidden, initial)


def pytensor_stack(inputs, params, hidden, initial=None):
    import pytensor
    import pytensor.tensor as pt

    return theano_stack(pt, pytensor.scan, inputs, params, hidden, initial)


# ---- JAX ---------------------------------------------------------------------------------------------


def jax_stack(inputs, params, hidden, initial=None):
    import jax
    import jax.numpy as jnp

    h = inputs
    finals = []
    for layer in range(len(params) // 3):
        W, U, b = params[3 * layer: 3 * layer + 3]
        xw = h @ W + b

        def step(carry, z_x, U=U):
            h_prev, c_prev = carry
            z = z_x + h_prev @ U
            i, f, g, o = jnp.split(z, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c_prev + jax.nn.sigmoid(i) * jnp.tanh(g)
            h_new = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h_new, c), h_new

        if initial is None:
            zeros = jnp.zeros((inputs.shape[1], hidden), jnp.float32)
            start = (zeros, zeros)
        else:
            start = tuple(initial[layer])
        final, h = jax.lax.scan(step, start, xw)
        finals.append(final)
    return h, finals


# ---- torch: nn.LSTM --------------------------------------------------------------------------------


def torch_lstm(params, n_in, hidden):
    """An ``nn.LSTM`` holding ``params``; its parameters in ``module.parameters()`` order."""
    import torch

    layers = len(params) // 3
    module = torch.nn.LSTM(n_in, hidden, num_layers=layers)
    with torch.no_grad():
        for layer in range(layers):
            W, U, b = params[3 * layer: 3 * layer + 3]
            getattr(module, f"weight_ih_l{layer}").copy_(torch.from_numpy(W.T.copy()))
            getattr(module, f"weight_hh_l{layer}").copy_(torch.from_numpy(U.T.copy()))
            getattr(module, f"bias_ih_l{layer}").copy_(torch.from_numpy(b))
            getattr(module, f"bias_hh_l{layer}").zero_()
    return module


# ---- TensorFlow: Keras LSTM layers -----------------------------------------------------------------


def keras_lstms(params, n_in, hidden):
    """One Keras ``LSTM`` layer per layer of ``params`` (batch-major, returning sequences and states)."""
    import keras

    layers = []
    for layer in range(len(params) // 3):
        W, U, b = params[3 * layer: 3 * layer + 3]
        lstm = keras.layers.LSTM(hidden, return_sequences=True, return_state=True)
        lstm.build((None, None, W.shape[0]))
        lstm.set_weights([W, U, b])
        layers.append(lstm)
    return layers


def keras_stack(layers, inputs, initial=None):
    """``inputs`` (B, T, n_in) through the Keras layers; returns (hs, [(h, c) per layer])."""
    h, finals = inputs, []
    for layer, lstm in enumerate(layers):
        h, h_last, c_last = lstm(h, initial_state=None if initial is None else list(initial[layer]))
        finals.append((h_last, c_last))
    return h, finals


def keras_variables(layers):
    return [v for lstm in layers for v in lstm.trainable_variables]
