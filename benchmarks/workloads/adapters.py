"""Each framework's idiom for 'compile this' and 'one SGD training step', written once for all workloads.

Workloads write the model itself once per framework; these helpers turn a
model into an ``Impl``: symgraph and PyTensor as shared variables with
updates, torch as leaf tensors stepped with ``torch._foreach_add_`` (eager or
under ``torch.compile``), TensorFlow as variables stepped inside one
``tf.function`` (``jit_compile`` for XLA), JAX as a jitted pure step that
donates the old parameters.
"""

import numpy as np

from .base import Impl

# ---- symgraph and PyTensor: graphs with shared variables and updates ---------------------------


def sg_function(variant, inputs, outputs, updates=None):
    """``sg.function`` on the variant's backend, and a note naming the nodes that backend runs in Python."""
    import symgraph as sg

    f = sg.function(inputs, outputs, updates=updates, mode=sg.Mode(backend=variant.opt("backend")))
    return f, fallback_note(f)


def fallback_note(f):
    nodes = getattr(getattr(f, "_run", None), "fallback_nodes", None) or []
    if not nodes:
        return ""
    names = sorted({type(n.op).__name__ for n in nodes})
    return f"{len(nodes)} node(s) in Python: {', '.join(names)}"


def sg_shared(values, names):
    import symgraph as sg

    return [sg.shared(v.copy(), name=n) for v, n in zip(values, names)]


def sg_sgd_step(variant, inputs, loss, params, lr, data, check=()):
    """A symgraph training step: loss out, ``p - lr * grad`` for every shared ``p`` as updates."""
    import symgraph as sg

    grads = sg.grad(loss, params)
    step = np.float32(lr)
    f, note = sg_function(variant, inputs, loss, updates=[(p, p - step * g) for p, g in zip(params, grads)])
    return Impl(run=lambda: f(*data), state=lambda: [params[i].get_value() for i in check], note=note)


def pt_sgd_step(variant, inputs, loss, params, lr, data, check=()):
    import pytensor

    from ..frameworks import pytensor_mode

    grads = pytensor.grad(loss, params)
    step = np.float32(lr)
    f = pytensor.function(inputs, loss, updates=[(p, p - step * g) for p, g in zip(params, grads)],
                          mode=pytensor_mode(variant))
    return Impl(run=lambda: f(*data), state=lambda: [params[i].get_value() for i in check])


def pt_shared(values, names):
    import pytensor

    return [pytensor.shared(v.copy(), name=n) for v, n in zip(values, names)]


def pt_function(variant, inputs, outputs):
    import pytensor

    from ..frameworks import pytensor_mode

    return pytensor.function(inputs, outputs, mode=pytensor_mode(variant))


# ---- torch -------------------------------------------------------------------------------------


def torch_maybe_compile(fn, variant):
    """``torch.compile(fn)`` for the compile variant, specialised to the case's static shapes.

    Dynamo caches by code object, and workloads share model code across cases
    (every convnet's loss is one function): without a reset, the third shape
    seen turns on dynamic shapes and later cases time a different, symbolic
    compilation (or hit the recompile limit and run eagerly).
    """
    import torch

    if not variant.opt("compile"):
        return fn
    torch._dynamo.reset()
    return torch.compile(fn, dynamic=False)


def torch_params(values):
    import torch

    return [torch.tensor(v, requires_grad=True) for v in values]


def torch_sgd_step(variant, loss_fn, params, lr, data, check=(), layout=None):
    """``loss_fn(params, *data)`` differentiated by autograd; the update runs as one fused foreach op.

    ``layout(i, array)`` converts parameter ``i`` to the common layout for the cross-check.
    """
    import torch

    loss_of = torch_maybe_compile(loss_fn, variant)

    def run():
        loss = loss_of(params, *data)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            torch._foreach_add_(params, grads, alpha=-lr)
        return loss

    return Impl(run=run, state=lambda: [_convert(layout, i, params[i].detach().numpy()) for i in check])


def torch_function(fn, variant):
    import torch

    compiled = torch_maybe_compile(fn, variant)

    def run(*args):
        with torch.no_grad():
            return compiled(*args)

    return run


# ---- TensorFlow --------------------------------------------------------------------------------


def tf_function(fn, variant):
    import tensorflow as tf

    return tf.function(fn, jit_compile=bool(variant.opt("xla")))


def tf_variables(values):
    import tensorflow as tf

    return [tf.Variable(v) for v in values]


def tf_sgd_step(variant, loss_fn, params, lr, data, check=(), layout=None):
    """One ``tf.function`` holding the tape, the gradient and the ``assign_sub`` updates."""
    import tensorflow as tf

    def step(*batch):
        with tf.GradientTape() as tape:
            loss = loss_fn(params, *batch)
        grads = tape.gradient(loss, params)
        for p, g in zip(params, grads):
            if isinstance(g, tf.IndexedSlices):  # an embedding's gradient: update only the rows looked up
                p.scatter_sub(tf.IndexedSlices(lr * g.values, g.indices, g.dense_shape))
            else:
                p.assign_sub(lr * g)
        return loss

    compiled = tf_function(step, variant)
    return Impl(run=lambda: compiled(*data), state=lambda: [_convert(layout, i, params[i].numpy()) for i in check])


# ---- JAX ---------------------------------------------------------------------------------------


def jax_sgd_step(loss_fn, params, lr, data, check=(), layout=None):
    """A jitted pure step ``(params, batch) -> (new params, loss)`` that donates the old parameters."""
    import jax

    def step(ps, *batch):
        loss, grads = jax.value_and_grad(loss_fn)(ps, *batch)
        return [p - lr * g for p, g in zip(ps, grads)], loss

    compiled = jax.jit(step, donate_argnums=0)
    holder = [[jax.numpy.asarray(p) for p in params]]

    def run():
        holder[0], loss = compiled(holder[0], *data)
        return jax.block_until_ready(loss)

    return Impl(run=run, state=lambda: [_convert(layout, i, np.asarray(holder[0][i])) for i in check])


def jax_function(fn):
    import jax

    compiled = jax.jit(fn)
    return lambda *args: jax.block_until_ready(compiled(*args))


def _convert(layout, i, array):
    return layout(i, array) if layout is not None else array
