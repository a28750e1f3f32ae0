"""Learning-rate schedules: symbolic functions of the optimizer's shared step counter.

Each schedule maps the number of updates already applied (``step``, 0 on the
first update) to a learning rate.  ``__call__`` builds the symbolic value used
in the update graph; ``value`` computes the same number in NumPy, for tests,
logs and plots.
"""

import math

import symgraph.tensor as T


class Schedule:
    """Base class: ``schedule(step_variable)`` -> symbolic rate, ``schedule.value(int)`` -> float."""

    def __call__(self, step):
        raise NotImplementedError

    def value(self, step: int) -> float:
        raise NotImplementedError


class Constant(Schedule):
    def __init__(self, lr: float):
        self.lr = lr

    def __call__(self, step):
        return self.lr

    def value(self, step):
        return float(self.lr)


class StepDecay(Schedule):
    """``lr * gamma ** floor(step / step_size)``."""

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1):
        self.lr, self.step_size, self.gamma = lr, step_size, gamma

    def __call__(self, step):
        return self.lr * self.gamma ** T.floor(_float(step) / self.step_size)

    def value(self, step):
        return self.lr * self.gamma ** math.floor(step / self.step_size)


class ExponentialDecay(Schedule):
    """``lr * gamma ** step``."""

    def __init__(self, lr: float, gamma: float):
        self.lr, self.gamma = lr, gamma

    def __call__(self, step):
        return self.lr * self.gamma ** _float(step)

    def value(self, step):
        return self.lr * self.gamma ** step


class CosineDecay(Schedule):
    """``lr_min + (lr - lr_min) (1 + cos(pi min(step, total) / total)) / 2``."""

    def __init__(self, lr: float, total_steps: int, lr_min: float = 0.0):
        self.lr, self.total_steps, self.lr_min = lr, total_steps, lr_min

    def __call__(self, step):
        frac = T.minimum(_float(step), float(self.total_steps)) / self.total_steps
        return self.lr_min + (self.lr - self.lr_min) * 0.5 * (1.0 + T.cos(math.pi * frac))

    def value(self, step):
        frac = min(step, self.total_steps) / self.total_steps
        return self.lr_min + (self.lr - self.lr_min) * 0.5 * (1.0 + math.cos(math.pi * frac))


def as_schedule(lr) -> Schedule:
    """A number (or a symbolic scalar such as a shared variable) becomes a constant schedule."""
    return lr if isinstance(lr, Schedule) else Constant(lr)


def _float(step):
    import symgraph as sg

    return T.cast(step, sg.config.floatX)
