"""The conformance harness: what a case is, how its inputs are drawn for each
variant, and how a backend's results are compared with NumPy's.

A :class:`Case` is one row of the case table (``cases_*.py``): a builder that
takes symbolic inputs and returns the symbolic output(s), the NumPy function
that computes the same thing, one :class:`Arg` per input, the dtype signatures
it is run with and the variants (edge-case kinds) it supports.  Each
``case x dtype signature x variant`` is a :class:`Spec`, one test id such as
``exp-float32-broadcast``.

Variants:

``random``
    contiguous random values of the base shapes.
``empty``
    the leading axis of the highest-rank inputs has length 0.
``broadcast``
    input ``i`` is declared with a static length-1 axis (``i % ndim``), so
    binary ops broadcast a row against a column.
``strided``
    non-contiguous views: a stepped and reversed slice, a transpose, a view
    with every axis reversed (cycled over the inputs); the memory around the
    view holds garbage, so reading outside it shows.
``nonfinite``
    NaN, inf and -inf in the float inputs, overlapping between inputs.
``scalar``
    0-d inputs.

``empty``, ``broadcast`` and ``scalar`` run on ``LAYOUT_DTYPES`` only;
signatures mixing dtypes run ``MIXED_VARIANTS``.  Where NumPy raises for a variant's inputs (an index out
of range, a max over an empty axis), the backend must raise too: a
SymgraphError that is also NumPy's built-in exception class.
"""

import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import symgraph as sg
import symgraph.tensor as T
from symgraph.graph.basic import Constant
from symgraph.graph.traversal import toposort
from symgraph.tensor.shape_inference import infer_shape

BOOL = ("bool",)
SIGNED = ("int8", "int16", "int32", "int64")
UNSIGNED = ("uint8",)
INTS = SIGNED + UNSIGNED
FLOATS = ("float32", "float64")
NUMERIC = INTS + FLOATS
ALL = BOOL + NUMERIC

VARIANTS = ("random", "empty", "broadcast", "strided", "nonfinite", "scalar")
ELEMWISE = VARIANTS
ARRAY = ("random", "empty", "broadcast", "strided", "nonfinite")
FIXED = ("random", "strided", "nonfinite")

# Variants about layout rather than values run on these dtypes only (one per
# kind, narrow and wide), to keep the suite fast: broadcast and scalar need a
# function compiled for their own static types.  random, strided and
# nonfinite run on every dtype of the case.
LAYOUT_VARIANTS = ("empty", "broadcast", "scalar")
LAYOUT_DTYPES = ("bool", "int8", "int64", "float32", "float64")
# Signatures mixing dtypes test promotion: random values, broadcasting, NaN.
MIXED_VARIANTS = ("random", "broadcast", "nonfinite")

# Tolerances by output dtype; a case loosens them where its function is
# inaccurate.  Ints and bools are compared exactly.
RTOL = {"float16": 1e-3, "float32": 1e-5, "float64": 1e-10}


@dataclass(frozen=True)
class Arg:
    """One input of a case.

    shape: value shape in the ``random`` variant.
    domain: which values to draw (see ``_draw``): ``real``, ``positive``,
        ``nonzero``, ``unit`` (-1, 1), ``ge1``, ``nonneg``, ``halves``,
        ``wide``, ``wide_nonneg``, ``bool``.
    dtype: a fixed dtype; None takes it from the case's dtype signature.
    static: a fixed static shape (kept in every variant); None: unknown
        lengths, which the variant may change.
    value: a fixed value (a shape vector, an axis length), the same in every
        variant.
    empty_axis: the axis of length 0 in the ``empty`` variant; by default
        the leading unknown axis of the highest-rank inputs (a contraction
        names its summed axis instead).
    """

    shape: tuple = (3, 4)
    domain: str = "real"
    dtype: str | None = None
    static: tuple | None = None
    value: object = None
    empty_axis: int | None = None

    @property
    def free(self):
        return self.dtype is None

    @property
    def layout_fixed(self):
        return self.value is not None or self.static is not None


def fixed(value, dtype="int64"):
    """A runtime input whose value is the same in every variant."""
    return Arg(shape=np.shape(value), dtype=dtype, value=np.asarray(value, dtype=dtype))


@dataclass(frozen=True)
class Case:
    """One row of the case table.

    dtypes: the signatures run; each is a dtype for every free argument or a
        tuple with one dtype per free argument.
    variants: the variants it supports (``nonfinite`` runs only where a free
        argument is a float).
    rtol: ``{output dtype: rtol}`` where the function is less accurate.
    dtype_rule: ``(numpy_dtypes, input_dtypes) -> expected dtypes`` where
        symgraph deliberately differs from NumPy; ``deviation`` says why.
    exclude: ``(dtypes, variant) -> reason or None`` for inputs whose result
        NumPy does not define (the reason documents it).
    """

    name: str
    build: Callable
    reference: Callable
    args: tuple = (Arg(),)
    dtypes: tuple = ALL
    variants: tuple = ELEMWISE
    rtol: dict = field(default_factory=dict)
    dtype_rule: Callable | None = None
    deviation: str = ""
    exclude: Callable | None = None

    def signatures(self):
        nfree = sum(a.free for a in self.args)
        for sig in self.dtypes:
            sig = (sig,) * nfree if isinstance(sig, str) else tuple(sig)
            if len(sig) != nfree:
                raise ValueError(f"case {self.name}: signature {sig} for {nfree} free arguments")
            yield sig

    def arg_dtypes(self, sig):
        it = iter(sig)
        return tuple(a.dtype if not a.free else next(it) for a in self.args)


@dataclass(frozen=True)
class Spec:
    """One test instance: a case, its dtype signature and a variant."""

    case: Case
    sig: tuple
    variant: str

    @property
    def id(self):
        if not self.sig:
            label = "fixed"
        else:
            label = self.sig[0] if len(set(self.sig)) == 1 else "+".join(self.sig)
        return f"{self.case.name}-{label}-{self.variant}"

    def __str__(self):
        return self.id

    @property
    def dtypes(self):
        return self.case.arg_dtypes(self.sig)

    def layouts(self):
        """``[(value shape, static shape)]``, one per argument."""
        args = self.case.args
        out = []
        free_ndims = [len(a.shape) for a in args if not a.layout_fixed]
        top = max(free_ndims, default=0)
        k = 0
        for a in args:
            shape = list(a.shape)
            static = list(a.static) if a.static is not None else [None] * len(shape)
            if a.value is not None:
                out.append((tuple(shape), tuple(static)))
                continue
            if self.variant == "empty" and shape:
                unknown = [i for i, s in enumerate(static) if s is None]
                if a.empty_axis is not None:
                    shape[a.empty_axis] = 0
                elif unknown and (a.static is not None or len(shape) == top):
                    shape[unknown[0]] = 0
            elif self.variant == "broadcast" and shape and a.static is None:
                axis = k % len(shape)
                shape[axis], static[axis] = 1, 1
            elif self.variant == "scalar" and a.static is None:
                shape, static = [], []
            if a.static is None:
                k += 1
            out.append((tuple(shape), tuple(static)))
        return out

    @property
    def compile_key(self):
        return (self.case.name, self.sig, tuple(st for _, st in self.layouts()))

    def applies(self):
        if self.variant not in self.case.variants:
            return False
        if len(set(self.sig)) > 1 and self.variant not in MIXED_VARIANTS:
            return False
        if (len(set(self.sig)) == 1 and self.variant in LAYOUT_VARIANTS
                and self.sig[0] not in LAYOUT_DTYPES):
            return False
        if self.variant == "nonfinite" and not any(
            np.dtype(d).kind == "f" for a, d in zip(self.case.args, self.dtypes) if a.free
        ):
            return False
        return self.case.exclude is None or not self.case.exclude(self.dtypes, self.variant)


def expand(cases):
    """Every applicable Spec of ``cases``, in table order."""
    specs, seen = [], set()
    for case in cases:
        for sig in case.signatures():
            for variant in VARIANTS:
                spec = Spec(case, sig, variant)
                if not spec.applies():
                    continue
                if spec.id in seen:
                    raise ValueError(f"duplicate conformance id {spec.id}")
                seen.add(spec.id)
                specs.append(spec)
    return specs


# ---- input values -------------------------------------------------------------------------------

_INT_DOMAINS = {
    "real": (-5, 5), "positive": (1, 5), "nonzero": (-5, 5), "unit": (-1, 1), "ge1": (1, 5),
    "nonneg": (0, 3), "halves": (-5, 5), "wide": (-1000, 1000), "wide_nonneg": (-1000, 1000),
    "bool": (0, 1),
}

_FLOAT_DOMAINS = {
    "real": lambda rng, s: rng.standard_normal(s) * 2,
    "positive": lambda rng, s: rng.uniform(0.1, 4, s),
    "nonzero": lambda rng, s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.5, 3, s),
    "unit": lambda rng, s: rng.uniform(-0.95, 0.95, s),
    "ge1": lambda rng, s: rng.uniform(1.05, 4, s),
    "nonneg": lambda rng, s: rng.uniform(0, 3, s),
    "halves": lambda rng, s: rng.integers(-8, 9, s) / 2,
    "wide": lambda rng, s: rng.uniform(-100, 100, s),
    "wide_nonneg": lambda rng, s: rng.uniform(0, 100, s),
    "bool": lambda rng, s: (rng.random(s) < 0.5).astype(float),
}


def _draw(domain, dtype, shape, rng):
    kind = np.dtype(dtype).kind
    if kind == "b":
        if domain in ("positive", "nonzero", "ge1"):
            return np.ones(shape, dtype=bool)
        return rng.random(shape) < 0.5
    if kind in "iu":
        lo, hi = _INT_DOMAINS[domain]
        info = np.iinfo(dtype)
        lo, hi = max(lo, info.min), min(hi, info.max)
        v = rng.integers(lo, hi + 1, size=shape)
        if domain == "nonzero":
            v[v == 0] = 1
        return v.astype(dtype)
    return _FLOAT_DOMAINS[domain](rng, shape).astype(dtype)


def _with_nonfinite(v, index):
    v = v.copy()
    flat = v.reshape(-1)
    if flat.size:
        for k, special in enumerate((np.nan, np.inf, -np.inf)):
            flat[(2 * index + 2 * k) % flat.size] = special
    return v


def _garbage(dtype):
    return np.nan if np.dtype(dtype).kind == "f" else np.array(99).astype(dtype)


def _strided(v, index):
    """``v``'s values in a non-contiguous view (kind cycled by argument index)."""
    if v.ndim == 0:
        return v
    kind = ("step", "transpose", "reverse")[index % 3]
    if kind == "transpose" and v.ndim < 2:
        kind = "step"
    if kind == "transpose":
        view = np.full(v.shape[::-1], _garbage(v.dtype), dtype=v.dtype).T
    elif kind == "reverse":
        view = np.full(v.shape, _garbage(v.dtype), dtype=v.dtype)[(slice(None, None, -1),) * v.ndim]
    else:
        base = np.full(v.shape[:-1] + (2 * v.shape[-1],), _garbage(v.dtype), dtype=v.dtype)
        view = base[..., ::2][::-1]
    view[...] = v
    return view


_values_cache = {}


def values(spec):
    """The argument values of ``spec`` (the same draws for every backend)."""
    if spec.id not in _values_cache:
        rng = np.random.default_rng(zlib.crc32(f"{spec.case.name}-{spec.sig}".encode()))
        out = []
        for i, (a, dtype, (shape, _)) in enumerate(zip(spec.case.args, spec.dtypes, spec.layouts())):
            if a.value is not None:
                out.append(np.array(a.value, dtype=dtype))
                continue
            v = _draw(a.domain, dtype, shape, rng)
            if spec.variant == "nonfinite" and v.dtype.kind == "f":
                v = _with_nonfinite(v, i)
            if spec.variant == "strided":
                v = _strided(v, i)
            out.append(v)
        _values_cache[spec.id] = out
    return _values_cache[spec.id]


# ---- running ------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What a run gave: outputs, or the exception raised (at build, compile or call time)."""

    outputs: list | None = None
    error: BaseException | None = None
    variables: list | None = None


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _float16_free(outputs, args):
    # symgraph computes in float32 where NumPy would give float16 for
    # non-float16 inputs (e.g. exp of int8): redo NumPy's result in float32.
    if not any(np.asarray(o).dtype == np.float16 for o in outputs):
        return None
    if any(a.dtype == np.float16 for a in args):
        return None
    return [a.astype("float32") if a.dtype.kind in "biu" else a for a in args]


_reference_cache = {}


def numpy_reference(spec):
    """NumPy's result for ``spec`` (an Outcome; ``error`` set where NumPy raises)."""
    if spec.id not in _reference_cache:
        args = [np.copy(v) for v in values(spec)]
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                # NumPy warns about empty means and NaN; the values are what is compared.
                warnings.simplefilter("ignore", RuntimeWarning)
                out = _as_list(spec.case.reference(*args))
                recast = _float16_free(out, args)
                if recast is not None:
                    out = _as_list(spec.case.reference(*recast))
            result = Outcome(outputs=[np.asarray(o) for o in out])
        except Exception as e:  # noqa: BLE001 - NumPy's refusal is the expected behaviour
            result = Outcome(error=e)
        _reference_cache[spec.id] = result
    return _reference_cache[spec.id]


_graphs = {}
_functions = {}
_runs = {}


def graph(spec):
    """``(inputs, outputs)`` of the case's symbolic graph, or the build error."""
    key = spec.compile_key
    if key not in _graphs:
        inputs = [T.tensor(dtype, shape=static, name=f"x{i}")
                  for i, (dtype, (_, static)) in enumerate(zip(spec.dtypes, spec.layouts()))]
        try:
            _graphs[key] = (inputs, _as_list(spec.case.build(*inputs)))
        except Exception as e:  # noqa: BLE001 - reported by the tests
            _graphs[key] = e
    return _graphs[key]


def compiled(spec, backend):
    """The function of ``spec`` compiled for ``backend`` (once per static types), or the error."""
    key = (backend, spec.compile_key)
    if key not in _functions:
        g = graph(spec)
        if isinstance(g, Exception):
            _functions[key] = g
        else:
            inputs, outputs = g
            try:
                _functions[key] = sg.function(inputs, outputs, mode=sg.Mode(backend=backend),
                                              on_unused_input="ignore")
            except Exception as e:  # noqa: BLE001 - reported by the tests
                _functions[key] = e
    return _functions[key]


_shape_graphs = {}


def _perform_all(inputs, outputs, args):
    """``outputs`` evaluated on ``args`` by each node's ``perform``, without compiling."""
    env = dict(zip(inputs, args))

    def value(v):
        return v.data if isinstance(v, Constant) else env[v]

    for node in toposort(outputs):
        storage = [[None] for _ in node.outputs]
        node.op.perform(node, [value(v) for v in node.inputs], storage)
        env.update((o, cell[0]) for o, cell in zip(node.outputs, storage))
    return [value(o) for o in outputs]


def run(spec, backend):
    """The Outcome of calling the compiled case on ``values(spec)`` with ``backend``."""
    key = (backend, spec.id)
    if key not in _runs:
        fn = compiled(spec, backend)
        if isinstance(fn, Exception):
            _runs[key] = Outcome(error=fn)
        else:
            args = values(spec)
            try:
                _runs[key] = Outcome(outputs=fn(*args), variables=fn.outputs)
            except Exception as e:  # noqa: BLE001 - reported by the tests
                _runs[key] = Outcome(error=e)
    return _runs[key]


def inferred_shapes(spec):
    """The output shapes ``infer_shape`` gives, evaluated on ``values(spec)``.

    infer_shape is a property of the Ops, not of a backend: its graph is
    evaluated with the Ops' ``perform``, not compiled for each backend.
    """
    key = spec.compile_key
    if key not in _shape_graphs:
        inputs, outputs = graph(spec)
        _shape_graphs[key] = (inputs, [s for o in outputs for s in infer_shape(o)])
    inputs, shapes = _shape_graphs[key]
    flat = [int(s) for s in _perform_all(inputs, shapes, values(spec))]
    shapes = []
    for o in graph(spec)[1]:
        shapes.append(tuple(flat[:o.ndim]))
        flat = flat[o.ndim:]
    return shapes


# ---- comparing ----------------------------------------------------------------------------------

def builtin_base(exc_type):
    """The nearest built-in exception class of ``exc_type`` (ValueError for NumPy's AxisError)."""
    for cls in exc_type.__mro__:
        if cls.__module__ == "builtins":
            return cls
    return Exception


def assert_close(got, want, case, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    if want.dtype.kind in "biu" and got.dtype.kind in "biu":
        mismatch = got != want
        assert not mismatch.any(), (
            f"{what}: {int(mismatch.sum())} of {want.size} entries differ\n got {got}\nwant {want}"
        )
        return
    dtype = got.dtype.name if got.dtype.kind == "f" else want.dtype.name
    rtol = case.rtol.get(dtype, RTOL.get(dtype, 1e-10))
    np.testing.assert_allclose(
        got.astype("float64"), want.astype("float64"), rtol=rtol, atol=rtol, equal_nan=True,
        err_msg=what,
    )


def expected_dtypes(spec, reference):
    """The output dtypes symgraph should give: NumPy's, or the case's documented rule."""
    want = [o.dtype.name for o in reference.outputs]
    if spec.case.dtype_rule is not None:
        want = list(spec.case.dtype_rule(want, spec.dtypes))
    return want
