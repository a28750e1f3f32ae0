"""The conformance case table: every family's cases, in one list.

Deliberate deviations from NumPy (each also noted at its case):

- Elementwise functions whose NumPy result would be float16 for inputs that
  are not float16 (``exp`` of int8, uint8 or bool; ``true_div`` of int8 ...)
  give float32: symgraph and its backends do not compute in float16.  The
  harness recomputes NumPy's reference with those inputs cast to float32.
- ``polygamma`` keeps float32 for float32 inputs (the dtype ``np.sin`` gives),
  where scipy's ``polygamma`` always returns float64 (``cases_elemwise``).
- ``logsumexp`` over an empty axis raises ValueError as ``max`` does (scipy
  raises IndexError; the mathematical value is -inf), and of a 0-d input with
  ``keepdims`` stays 0-d as ``np.sum`` does (scipy gives shape (1,))
  (``cases_reduction._logsumexp``).
- ``sort``/``argsort`` are stable; the reference passes ``kind="stable"``
  (NumPy's default quicksort may order ties differently) (``cases_sort``).
- ``split`` takes lengths that must add up to the axis (Theano's rule), where
  ``np.split`` takes cut points (``cases_join._split``).

Inputs whose result NumPy leaves undefined are not run: casts of NaN or inf
to integers (``cases_elemwise``), integer division by zero (divisors are drawn
nonzero), negative floats to unsigned ints.

A new Op family joins by adding its ``cases_*.py`` (a ``CASES`` list, one
``Case`` per Op and configuration) to ``FAMILIES``; nothing else changes.
"""

import importlib

FAMILIES = [
    "cases_elemwise",
    "cases_reduction",
    "cases_shape",
    "cases_indexing",
    "cases_blas",
    "cases_join",
    "cases_sort",
    "cases_creation",
    "cases_nnet",
    "cases_random",
    "cases_scan",
]


def _load():
    cases = []
    for name in FAMILIES:
        cases.extend(importlib.import_module(f"{__package__}.{name}").CASES)
    return cases


ALL_CASES = _load()
