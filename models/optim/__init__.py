"""Optimizers over shared variables that return symbolic ``updates`` lists.

    opt = Adam(lr=1e-3, clip_norm=1.0)
    train = sg.function([x, y], loss, updates=opt.updates(loss, params))
"""

from .base import Optimizer, clip_by_global_norm, global_norm
from .rules import (
    SGD,
    AdaGrad,
    Adam,
    DiagonalAdaGrad,
    FullMatrixAdaGrad,
    Momentum,
    Nesterov,
    RMSProp,
)
from .schedules import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    Schedule,
    StepDecay,
    as_schedule,
)

__all__ = [
    "SGD", "AdaGrad", "Adam", "Constant", "CosineDecay", "DiagonalAdaGrad", "ExponentialDecay",
    "FullMatrixAdaGrad", "Momentum", "Nesterov", "Optimizer", "RMSProp", "Schedule", "StepDecay",
    "as_schedule", "clip_by_global_norm", "global_norm",
]
