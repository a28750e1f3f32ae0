"""Settings that only work before numpy, torch, TensorFlow or JAX are imported.

Thread pools read their sizes from the environment when their library loads,
and OpenBLAS reads ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` at load time, so
the runner fixes all of them first (and, for ``--native-blas``, re-executes
itself without the two OpenBLAS variables).  This module imports nothing heavy.
"""

import os
import sys

#: read by OpenBLAS at load time; ``--native-blas`` removes them for the benchmark process only
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_NATIVE_MARK = "SYMGRAPH_BENCH_NATIVE_BLAS_UNSET"


def reexec_with_native_blas(argv):
    """Re-execute ``python -m benchmarks argv`` without the OpenBLAS overrides, if any is set.

    Returns (only when no re-exec was needed) the ``{name: value}`` that an
    earlier re-exec removed, so the results can say what was unset.
    """
    present = {k: os.environ[k] for k in OPENBLAS_OVERRIDES if k in os.environ}
    if not present:
        removed = os.environ.get(_NATIVE_MARK, "")
        return dict(item.split("=", 1) for item in removed.split(";") if "=" in item)
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
    env[_NATIVE_MARK] = ";".join(f"{k}={v}" for k, v in present.items())
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "benchmarks", *argv], env)


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def pin_threads(n):
    """Give every library the same ``n`` threads: environment for those that read it at load, and CPU affinity.

    Affinity is what bounds JAX/XLA, whose CPU thread pool has no public knob;
    it is only narrowed when ``n`` is below the cores this process may use.
    """
    n = str(n)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                 "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ[name] = n
    flags = os.environ.get("XLA_FLAGS", "")
    if "intra_op_parallelism_threads" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={n}".strip()
    # PyTensor's default floatX is float64 and every workload is float32; its default mode
    # ('auto') compiles inner graphs (scan bodies, OpFromGraph) with Numba even under the C
    # linker, so the C variant sets CVM as the default for those too.
    pt_flags = [f for f in os.environ.get("PYTENSOR_FLAGS", "").split(",") if f]
    for name, value in (("floatX", "float32"), ("mode", "CVM")):
        if not any(f.split("=")[0].strip() == name for f in pt_flags):
            pt_flags.append(f"{name}={value}")
    os.environ["PYTENSOR_FLAGS"] = ",".join(pt_flags)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter hides the table
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if hasattr(os, "sched_setaffinity") and int(n) < available_cores():
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: int(n)])
    # symgraph's llvm kernels split large loops over sg.config.threads (read at import from the flags,
    # and set here too in case symgraph was imported before the affinity was narrowed)
    sg_flags = [f for f in os.environ.get("SYMGRAPH_FLAGS", "").split(",") if f and not f.strip().startswith("threads")]
    os.environ["SYMGRAPH_FLAGS"] = ",".join([*sg_flags, f"threads={n}"])
    if "symgraph" in sys.modules:
        sys.modules["symgraph"].config.threads = int(n)
