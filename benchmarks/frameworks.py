"""Which frameworks (and which of their execution modes) this machine can run, with versions and BLAS.

A *variant* is one column of the results: symgraph on one backend, torch
eager or ``torch.compile``, ``tf.function`` with or without XLA, ``jax.jit``,
PyTensor with its C or Numba backend.  A framework that does not import, or a
mode that fails a one-line probe, is skipped with a line saying why.
"""

import importlib
import os
import platform
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Variant:
    key: str                      # the column name: 'symgraph[llvm]', 'torch.compile', ...
    family: str                   # 'symgraph', 'torch', 'tensorflow', 'jax', 'pytensor'
    options: tuple = ()           # (name, value) pairs the workload builders read

    def opt(self, name, default=None):
        return dict(self.options).get(name, default)

    @property
    def compiles(self):
        """True where building the function compiles something (W7 times it)."""
        return self.key != "torch"


@dataclass
class Environment:
    variants: list = field(default_factory=list)
    versions: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)     # lines: why a framework or mode is missing
    blas: dict = field(default_factory=dict)         # family -> what it multiplies matrices with
    threadpools: list = field(default_factory=list)  # threadpoolctl's view of loaded BLAS/OpenMP

    def by_family(self, family):
        return [v for v in self.variants if v.family == family]


def discover(families, threads, probe=True, log=print, only_keys=None):
    """Import each family in ``families``, set its threads, and list the variants that work.

    ``probe=False`` skips the tiny compile probes (W7's worker must not warm
    any cache before it times a cold compile); ``only_keys`` keeps only those
    variants.
    """
    env = Environment()
    for family in families:
        try:
            version, variants = _DISCOVER[family](threads, probe, env.skipped)
        except Exception as e:  # noqa: BLE001  (an import can fail in many ways: all mean 'skip it')
            line = f"{family}: skipped, not importable ({type(e).__name__}: {_first_line(e)})"
            env.skipped.append(line)
            log(line)
            continue
        env.versions[family] = version
        env.variants += [v for v in variants if only_keys is None or v.key in only_keys]
    for line in env.skipped:
        if not line.startswith(tuple(f"{f}: skipped, not importable" for f in families)):
            log(line)
    env.versions["numpy"] = importlib.import_module("numpy").__version__
    env.versions["python"] = platform.python_version()
    env.threadpools, env.blas = _blas_info(env)
    return env


def _symgraph(threads, probe, skipped):
    import symgraph
    from symgraph.compile.backend import backend_status

    variants = []
    for name, ok, reason in backend_status():
        if ok:
            variants.append(Variant(f"symgraph[{name}]", "symgraph", (("backend", name),)))
        elif name != "cuda" or "not importable" not in reason:
            skipped.append(f"symgraph[{name}]: skipped, backend unavailable ({reason})")
    return symgraph.__version__, variants


def _torch(threads, probe, skipped):
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # already set once in this process (W7's worker imports twice)
        pass
    variants = [Variant("torch", "torch")]
    compiled = Variant("torch.compile", "torch", (("compile", True),))
    if not probe or _probe(skipped, compiled, lambda: torch.compile(lambda x: x * 2 + 1)(torch.ones(4))):
        variants.append(compiled)
    return torch.__version__, variants


def _tensorflow(threads, probe, skipped):
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # the runtime is already initialised
        pass
    variants = [Variant("tf.function", "tensorflow", (("xla", False),))]
    xla = Variant("tf.function[xla]", "tensorflow", (("xla", True),))
    if not probe or _probe(skipped, xla, lambda: tf.function(lambda x: x * 2 + 1, jit_compile=True)(tf.ones(4))):
        variants.append(xla)
    return tf.__version__, variants


def _jax(threads, probe, skipped):
    import jax

    jax.config.update("jax_platforms", os.environ.get("JAX_PLATFORMS", "cpu"))
    return jax.__version__, [Variant("jax.jit", "jax")]


def _pytensor(threads, probe, skipped):
    import warnings

    import numpy as np
    import pytensor
    import pytensor.tensor as pt

    # Said once per compile when pip's PyTensor finds no BLAS to link; the results record it instead.
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")

    def tiny(mode):
        x = pt.vector("x", dtype="float32")
        return pytensor.function([x], x * 2 + 1, mode=mode)(np.ones(4, "float32"))

    variants = []
    for v in (Variant("pytensor[c]", "pytensor", (("mode", "c"),)),
              Variant("pytensor[numba]", "pytensor", (("mode", "numba"),))):
        if not probe or _probe(skipped, v, lambda v=v: tiny(pytensor_mode(v))):
            variants.append(v)
    return pytensor.__version__, variants


def pytensor_mode(variant):
    """PyTensor's FAST_RUN rewrites with the variant's linker (C thunks through the C VM, or Numba)."""
    from pytensor.compile.mode import Mode

    if variant.opt("mode") == "numba":
        return Mode(linker="numba", optimizer="fast_run")
    return Mode(linker="cvm", optimizer="fast_run")


_DISCOVER = {"symgraph": _symgraph, "torch": _torch, "tensorflow": _tensorflow, "jax": _jax,
             "pytensor": _pytensor}


def _probe(skipped, variant, fn):
    try:
        fn()
        return True
    except Exception as e:  # noqa: BLE001
        skipped.append(f"{variant.key}: skipped, its probe failed ({type(e).__name__}: {_first_line(e)})")
        return False


def _first_line(e):
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    if not lines:
        return ""
    return (lines[-1] if lines[0].endswith(":") and len(lines) > 1 else lines[0])[:200]


def _blas_info(env):
    """threadpoolctl's list of loaded BLAS/OpenMP libraries, and per family what does its GEMMs."""
    source = None
    if "symgraph" in env.versions:
        from symgraph.backends.llvm.blas_library import blas_library

        source = blas_library().source  # loads the BLAS the llvm backend calls, so it is listed
    try:
        from threadpoolctl import threadpool_info
        pools = threadpool_info()
    except ImportError:
        pools = []

    def openblas(marker):
        for p in pools:
            if p.get("internal_api") == "openblas" and marker in p.get("filepath", ""):
                return f"OpenBLAS {p.get('version')} ({p.get('architecture')}, {p.get('num_threads')} threads)"
        return "unknown"

    blas = {"numpy": openblas("numpy.libs")}
    for family in env.versions:
        if family == "symgraph":
            blas[family] = (f"NumPy's BLAS: {openblas('numpy.libs')}" if source == "numpy"
                            else f"SciPy's BLAS: {openblas('scipy.libs')}")
        elif family == "torch":
            import torch
            mkl = "MKL" if torch.backends.mkl.is_available() else "no MKL"
            blas[family] = f"{mkl} + oneDNN (linked into torch, {torch.get_num_threads()} threads)"
        elif family == "tensorflow":
            blas[family] = "Eigen + oneDNN (linked into TensorFlow)"
        elif family == "jax":
            blas[family] = "XLA:CPU (Eigen / oneDNN, linked into jaxlib)"
        elif family == "pytensor":
            import pytensor
            flags = pytensor.config.blas__ldflags
            blas[family] = f"C GEMM linked with '{flags}'" if flags else "NumPy's BLAS through its C API"
    return pools, blas
