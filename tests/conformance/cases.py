"""The conformance case table: every family's cases, in one list.

Deliberate deviations from NumPy (each also noted at its case):

- Elementwise functions whose NumPy result would be float16 for inputs that
  are not float16 (``exp`` of int8, uint8 or bool; ``true_div`` of int8 ...)
  give float32: symgraph and its backends do not compute in float16.  The
  harness recomputes NumPy's reference with those inputs cast to float32.

A family whose module is being written (indexing, dot, join, sort,
creation) joins by adding its ``cases_*.py`` to ``FAMILIES``: one ``Case``
per Op, nothing else to change.
"""

import importlib

FAMILIES = [
    "cases_elemwise",
    "cases_reduction",
    "cases_shape",
]


def _load():
    cases = []
    for name in FAMILIES:
        cases.extend(importlib.import_module(f"{__package__}.{name}").CASES)
    return cases


ALL_CASES = _load()
