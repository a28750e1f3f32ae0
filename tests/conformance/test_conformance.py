"""The backend conformance suite: every case of the table, on every available backend.

Each test id reads ``case-dtypes-variant`` (``exp-float32-broadcast``); see
``harness.py`` for the variants and ``cases.py`` for the table and the
documented deviations from NumPy.  A new backend runs this file unchanged.
"""

import numpy as np
import pytest

from symgraph.errors import SymgraphError

from .cases import ALL_CASES
from .harness import (
    Spec,
    assert_close,
    builtin_base,
    expand,
    expected_dtypes,
    graph,
    inferred_shapes,
    numpy_reference,
    run,
    values,
)

SPECS = expand(ALL_CASES)


def _numpy_rejects_dtype(spec):
    error = numpy_reference(Spec(spec.case, spec.sig, "random")).error
    return isinstance(error, TypeError)


# Only the random variant's NumPy result is computed while collecting (to find
# the dtypes NumPy refuses); the rest are computed by the tests that use them.
REJECTED = [s for s in SPECS if s.variant == "random" and _numpy_rejects_dtype(s)]
ACCEPTED = [s for s in SPECS if not _numpy_rejects_dtype(s)]


def _ids(specs):
    return [s.id for s in specs]


@pytest.mark.parametrize("spec", ACCEPTED, ids=_ids(ACCEPTED))
def test_backend_conforms_to_numpy(backend, spec):
    """Values, dtypes and shapes of ``spec`` on ``backend`` are NumPy's.

    Checked together, each failure reported: values equal NumPy's and the
    numpy backend's (NaN where NumPy has NaN); the output dtypes are NumPy's
    (or the case's documented rule) both in the graph and at run time; the
    shape agrees with the static type and with ``infer_shape`` evaluated; the
    call leaves its inputs untouched and returns arrays that share no memory
    with them.  Where NumPy raises for the inputs, the backend raises a
    SymgraphError that is also the built-in NumPy's error derives from.
    """
    ref = numpy_reference(spec)
    args = values(spec)
    before = [np.copy(a) for a in args]
    got = run(spec, backend)
    if ref.error is not None:
        base = builtin_base(type(ref.error))
        assert got.error is not None, (
            f"NumPy raises {type(ref.error).__name__}: {ref.error}; {backend} does not"
        )
        assert isinstance(got.error, SymgraphError) and isinstance(got.error, base), (
            f"NumPy raises {base.__name__}; {backend} raised {type(got.error).__name__}: {got.error}"
        )
        return
    if got.error is not None:
        raise AssertionError(f"{backend} raised {type(got.error).__name__}: {got.error}") from got.error
    assert len(got.outputs) == len(ref.outputs), "number of outputs"
    problems = []
    _check_values(problems, spec, backend, got, ref)
    _check_dtypes(problems, spec, backend, got, ref)
    _check_shapes(problems, spec, backend, got)
    for k, (a, b) in enumerate(zip(args, before)):
        if not np.array_equal(a, b, equal_nan=True):
            problems.append(f"the call modified input {k}")
    for k, o in enumerate(got.outputs):
        for j, a in enumerate(args):
            if np.shares_memory(o, a):
                problems.append(f"output {k} shares memory with input {j}")
    assert not problems, "\n".join(problems)


def _check_values(problems, spec, backend, got, ref):
    for k, (o, r) in enumerate(zip(got.outputs, ref.outputs)):
        try:
            assert_close(o, r, spec.case, f"values: output {k} of {backend} vs NumPy")
        except AssertionError as e:
            problems.append(str(e).strip())
    if backend == "numpy":
        return
    base = run(spec, "numpy")
    if base.error is not None:
        problems.append(f"the numpy backend raised {type(base.error).__name__}: {base.error}")
        return
    for k, (o, r) in enumerate(zip(got.outputs, base.outputs)):
        try:
            assert_close(o, r, spec.case, f"values: output {k} of {backend} vs the numpy backend")
        except AssertionError as e:
            problems.append(str(e).strip())


def _check_dtypes(problems, spec, backend, got, ref):
    want = expected_dtypes(spec, ref)
    symbolic = [v.type.dtype for v in got.variables]
    runtime = [np.asarray(o).dtype.name for o in got.outputs]
    if symbolic != want:
        problems.append(f"dtype: the graph gives {symbolic}, NumPy gives {want}")
    if runtime != symbolic:
        problems.append(f"dtype: {backend} returned {runtime} for outputs typed {symbolic}")


def _check_shapes(problems, spec, backend, got):
    real = [np.shape(o) for o in got.outputs]
    for k, (v, shape) in enumerate(zip(got.variables, real)):
        static = v.type.shape
        if len(static) != len(shape) or any(s is not None and s != n for s, n in zip(static, shape)):
            problems.append(f"shape: output {k} has shape {shape}, its type says {static}")
    try:
        inferred = inferred_shapes(spec)
    except Exception as e:  # noqa: BLE001 - reported as a problem
        problems.append(f"shape: evaluating infer_shape raised {type(e).__name__}: {e}")
        return
    if inferred != real:
        problems.append(f"shape: infer_shape gives {inferred}, the outputs have {real}")


@pytest.mark.parametrize("spec", REJECTED, ids=[s.id.rsplit("-", 1)[0] + "-rejected" for s in REJECTED])
def test_rejects_dtypes_numpy_rejects(spec):
    """Where NumPy refuses the dtypes, building the graph raises a SymgraphError and TypeError."""
    g = graph(spec)
    assert isinstance(g, Exception), (
        f"NumPy raises TypeError ({numpy_reference(spec).error}); symgraph builds a graph"
    )
    assert isinstance(g, SymgraphError) and isinstance(g, TypeError), (
        f"expected a SymgraphError and TypeError, got {type(g).__name__}: {g}"
    )


def test_every_backend_loads_or_says_why():
    """Each registered backend either loads or reports why it is unavailable (no crash)."""
    from .conftest import BROKEN

    assert not BROKEN, "; ".join(f"backend {name!r}: {type(e).__name__}: {e}" for name, e in BROKEN)
