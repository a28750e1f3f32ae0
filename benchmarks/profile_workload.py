"""Where symgraph's time goes in a benchmark workload: per-Op and per-node timings of one call.

    python benchmarks/profile_workload.py [--only W5,W6] [--backend llvm] [--quick] [--repeats 5] [--threads 1]

Builds each case of the named workloads for ``symgraph[BACKEND]`` exactly as
the benchmark suite does, calls it once, then runs the compiled graph node by
node with ``symgraph.compile.profiling.profile`` (native nodes as their own
entry points, fallbacks through ``perform``) and prints the slowest Op classes
and nodes.  This is the profile a missed target in the benchmark table is
explained by.
"""

import argparse
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.frameworks import Variant
from benchmarks.workloads import WORKLOADS


class _Recorder:
    """Stands in for a compiled function while the case is built, remembering its last arguments."""

    def __init__(self, f):
        self.f, self.args = f, None

    def __call__(self, *args):
        self.args = args
        return self.f(*args)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="W2,W3,W4,W5,W6,W8")
    parser.add_argument("--backend", default="llvm")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="BLAS and symgraph loop threads")
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)

    import threadpoolctl

    import symgraph as sg
    from benchmarks.workloads import adapters
    from symgraph.compile.profiling import profile

    sg.config.threads = args.threads
    threadpoolctl.threadpool_limits(args.threads)
    recorded = []
    original = adapters.sg_function

    def recording(*a, **k):
        f, note = original(*a, **k)
        recorded.append(_Recorder(f))
        return recorded[-1], note

    variant = Variant(f"symgraph[{args.backend}]", "symgraph", (("backend", args.backend),))
    for name in args.only.split(","):
        module = importlib.import_module(f"benchmarks.workloads.{WORKLOADS[name]}")
        if hasattr(module, "sg_function"):
            module.sg_function = recording
        adapters.sg_function = recording
        try:
            for case in module.cases("quick" if args.quick else "default"):
                build = case.builders.get("symgraph")
                if build is None or case.measure is not None:
                    continue
                del recorded[:]
                impl = build(variant)
                impl.run()
                for rec in recorded:
                    if rec.args is None:
                        continue
                    stats = profile(rec.f, *rec.args, repeats=args.repeats)
                    print(f"\n== {case.label} ==")
                    print(stats.summary(top=args.top))
        finally:
            adapters.sg_function = original
            if hasattr(module, "sg_function"):
                module.sg_function = original


if __name__ == "__main__":
    main()
