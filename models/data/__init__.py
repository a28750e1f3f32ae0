"""Data for the experiments: digits with fixed splits and tasks, 2-D test functions, synthetic sets."""

from .digits import (
    Digits,
    Split,
    class_split_tasks,
    labelled_split,
    load_digits,
    minibatches,
    permuted_tasks,
)
from .functions2d import (
    BEALE,
    FUNCTIONS,
    MONKEY_SADDLE,
    ROSENBROCK,
    SADDLE,
    TestFunction,
    symbolic_point,
)
from .synthetic import blobs, teacher_regression, two_moons

__all__ = [
    "BEALE",
    "FUNCTIONS",
    "MONKEY_SADDLE",
    "ROSENBROCK",
    "SADDLE",
    "Digits",
    "Split",
    "TestFunction",
    "blobs",
    "class_split_tasks",
    "labelled_split",
    "load_digits",
    "minibatches",
    "permuted_tasks",
    "symbolic_point",
    "teacher_regression",
    "two_moons",
]
