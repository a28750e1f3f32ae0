"""The optimizer API: parameter groups, global-norm clipping, a shared step counter.

    opt = Adam(lr=1e-3, clip_norm=5.0)
    updates = opt.updates(loss, params)            # [(shared, new_value_expr), ...]
    train = sg.function([x, y], loss, updates=updates)

``params`` is a list of shared variables, or a list of groups
``{"params": [...], "lr": 0.1, ...}`` whose keys override the optimizer's
hyperparameters for that group (PyTorch's convention).  State (moments,
accumulators) lives in shared variables the optimizer creates, named after the
parameter, and listed in ``opt.state[param]``; ``opt.step`` counts the updates
applied and drives the learning-rate schedules.
"""

from typing import ClassVar

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from .schedules import as_schedule


class Optimizer:
    """Base class; subclasses set ``defaults`` and implement ``_group_updates``."""

    defaults: ClassVar[dict] = {}

    def __init__(self, lr=0.01, clip_norm=None, **hyper):
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown hyperparameters {sorted(unknown)}; "
                            f"known: lr, clip_norm, {', '.join(sorted(self.defaults))}")
        self.hyper = {"lr": lr, **self.defaults, **hyper}
        self.clip_norm = clip_norm
        self.step = sg.shared(np.asarray(0, dtype="int64"), name=f"{type(self).__name__}.step")
        self.state: dict = {}

    # ---- public -------------------------------------------------------------------------------

    def updates(self, loss, params):
        """Updates minimising the scalar ``loss`` over ``params`` (shared variables or groups)."""
        groups = self._groups(params)
        flat = [p for g in groups for p in g["params"]]
        grads = sg.grad(loss, flat)
        return self.updates_from_grads(grads, params)

    def updates_from_grads(self, grads, params):
        """Updates from given gradients, one per parameter in the order of ``params``' groups."""
        groups = self._groups(params)
        flat = [p for g in groups for p in g["params"]]
        if len(grads) != len(flat):
            raise ValueError(f"{type(self).__name__}: {len(grads)} gradients for {len(flat)} parameters")
        grads = clip_by_global_norm(grads, self.clip_norm) if self.clip_norm is not None else list(grads)
        by_param = dict(zip(flat, grads))
        out = []
        for group in groups:
            hyper = {k: group.get(k, v) for k, v in self.hyper.items()}
            hyper["lr"] = as_schedule(hyper["lr"])(self.step)
            ps = group["params"]
            out.extend(self._group_updates(ps, [by_param[p] for p in ps], hyper))
        out.append((self.step, self.step + 1))
        return out

    def reset(self):
        """Zero the state and the step counter (a fresh run of the same compiled function)."""
        self.step.set_value(np.asarray(0, dtype="int64"))
        for slots in self.state.values():
            for s in slots.values():
                s.set_value(np.zeros_like(s.get_value()))

    # ---- for subclasses -----------------------------------------------------------------------

    def _group_updates(self, params, grads, hyper):
        return [u for p, g in zip(params, grads) for u in self._param_updates(p, g, hyper)]

    def _param_updates(self, p, g, hyper):
        raise NotImplementedError

    def _slot(self, p, name, value=None):
        """A state variable shaped like ``p`` (zeros unless ``value``), registered in ``state``."""
        value = np.zeros_like(p.get_value()) if value is None else value
        s = sg.shared(value, name=f"{p.name or 'param'}.{name}")
        self.state.setdefault(p, {})[name] = s
        return s

    def _t(self):
        """The 1-based index of the update being built, as a float scalar."""
        return T.cast(self.step + 1, sg.config.floatX)

    def _groups(self, params):
        params = list(params)
        if params and isinstance(params[0], dict):
            groups = [dict(g) for g in params]
            for g in groups:
                unknown = set(g) - {"params"} - set(self.hyper)
                if unknown:
                    raise TypeError(f"{type(self).__name__}: unknown group keys {sorted(unknown)}")
                g["params"] = list(g["params"])
            return groups
        return [{"params": params}]


def global_norm(grads):
    """The Euclidean norm of all gradients taken as one vector."""
    return T.sqrt(sum(T.sum(T.sqr(g)) for g in grads))


def clip_by_global_norm(grads, max_norm):
    """Scale all gradients by ``min(1, max_norm / ||g||)`` (Pascanu et al. 2013)."""
    norm = global_norm(grads)
    scale = max_norm / T.maximum(norm, max_norm)
    return [g * scale for g in grads]
