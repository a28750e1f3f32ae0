"""symgraph against PyTorch, TensorFlow, JAX and PyTensor: ``python -m benchmarks`` (or ``symgraph bench``).

    python -m benchmarks                      every workload, default sizes
    python -m benchmarks --quick              everything small (CI smoke run, under two minutes)
    python -m benchmarks --only W2,W5 --threads 2 --out /tmp/bench
    python -m benchmarks --full --only W9     the papers' sizes (hours on a laptop)

Frameworks run interleaved, round by round, in one process; the table gives
medians over ``--repeats`` after warm-up, min-max, and each time divided by
symgraph's best backend (above 1: symgraph is faster).  ``results.json``,
``results.md`` and ``ratios.png`` go to ``--out``.
"""

import argparse
import os

from .process import available_cores, pin_threads, reexec_with_native_blas

FAMILIES = ("symgraph", "torch", "tensorflow", "jax", "pytensor")
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, few repeats: a smoke run")
    size.add_argument("--full", action="store_true", help="W9 at the papers' sizes")
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. W2,W5 (default: all)")
    parser.add_argument("--threads", type=int, default=available_cores(),
                        help="threads for every framework (default: all cores, %(default)s here)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="folder for results.json, results.md, ratios.png")
    parser.add_argument("--native-blas", action="store_true",
                        help="unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this run (re-executes itself)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per workload (default 7, quick 3)")
    parser.add_argument("--frameworks", default=",".join(FAMILIES),
                        help="comma-separated subset of " + ", ".join(FAMILIES))
    args = parser.parse_args(argv)
    args.only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    args.frameworks = [f.strip().lower() for f in args.frameworks.split(",") if f.strip()]
    unknown = sorted(set(args.frameworks) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown framework(s) {', '.join(unknown)}; choose from {', '.join(FAMILIES)}")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    args.size = "quick" if args.quick else "full" if args.full else "default"
    args.repeats = args.repeats or (3 if args.quick else 7)
    return args


def main(argv=None):
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    args.unset_blas_env = reexec_with_native_blas(argv) if args.native_blas else {}
    pin_threads(args.threads)
    from .runner import run  # imports numpy: only after the environment is fixed

    return run(args)
