"""What a workload hands the runner: cases, and per framework a builder that returns something to time.

A workload module defines ``WORKLOAD`` ('W4'), ``TITLE`` and ``cases(size)``
with ``size`` one of 'quick', 'default', 'full'.  Each ``Case`` maps a
framework family to a builder ``build(variant) -> Impl``; the runner calls
``Impl.run`` once to cross-check the results of all frameworks, warms up,
then times it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Impl:
    """One framework's compiled form of a case.

    ``run()`` does one complete call (blocking until the result exists) and
    returns its outputs in the framework's own types; ``state()`` returns
    arrays to compare after that first call (updated parameters, in a layout
    common to all frameworks).  ``note`` reports what is worth knowing, such
    as nodes a backend ran in Python.
    """

    run: Callable[[], Any]
    state: Callable[[], list] = list
    note: str = ""
    compare_outputs: bool = True


@dataclass
class Case:
    workload: str                 # 'W2'
    name: str                     # 'fused elemwise n=1e6'
    unit: str                     # 'us' or 'ms': how the table shows a call's time
    builders: dict                # family -> build(variant) -> Impl
    work: tuple = None            # ('flop', n) or ('byte', n): what the hardware limit is measured in
    tol: float = 1e-4             # max |a - b| / max |b| allowed between frameworks
    missing: dict = field(default_factory=dict)  # family -> why this case is not written for it
    measure: Callable = None      # measure(case, env, args, log) -> rows, for cases not timed in-process (W7)

    @property
    def label(self):
        return f"{self.workload} {self.name}"


def to_numpy(value):
    """Flatten a framework's output (tensor, array, tuple, list, scalar) to a list of NumPy arrays."""
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in to_numpy(v)]
    if isinstance(value, dict):
        return [a for k in sorted(value) for a in to_numpy(value[k])]
    if hasattr(value, "detach"):  # torch
        return [value.detach().cpu().numpy()]
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # TensorFlow
        return [np.asarray(value.numpy())]
    return [np.asarray(value)]


def relative_error(a, b):
    """max |a - b| / max(|b|, 1e-6): one number for 'do these agree', robust to tiny entries."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        if a.size == b.size:
            a = a.reshape(b.shape)
        else:
            return float("inf")
    if a.size == 0:
        return 0.0
    if not np.all(np.isfinite(a)) or not np.all(np.isfinite(b)):
        return 0.0 if np.array_equal(np.isfinite(a), np.isfinite(b)) and np.allclose(
            a[np.isfinite(a)], b[np.isfinite(b)]) else float("inf")
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-6))


def dense_init(rng, fan_in, fan_out):
    """He-normal weights as float32, the same for every framework."""
    return (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def fmt_count(n):
    """1e6 rather than 1000000 in case names."""
    exponent = round(np.log10(n))
    return f"1e{exponent}" if 10 ** exponent == n else str(n)
