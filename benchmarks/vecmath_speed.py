"""Throughput of the llvm backend's inline vector math against NumPy.

    python benchmarks/vecmath_speed.py [--n 1000000] [--repeats 21] [--only exp,log,tanh] [--threads 1]

For each function and dtype, one ``sg.function`` computing ``f(x)`` on a
contiguous vector of ``--n`` elements (the loop backends/llvm/vecmath.py
emits, which LLVM vectorises) and the matching NumPy/SciPy call, both
writing a fresh array.  Prints the median time per call and the throughput
in millions of elements per second; ``ratio`` is NumPy's time over ours
(above 1: the llvm backend is faster).  ``--only`` defaults to every function;
``--threads`` sets ``sg.config.threads`` (by default all cores: large trig
loops are split across threads).
"""

import argparse
import time

import numpy as np
import scipy.special

import symgraph as sg
from symgraph import tensor as T

REFERENCE = {
    "exp": np.exp, "log": np.log, "tanh": np.tanh, "expm1": np.expm1, "log1p": np.log1p,
    "sigmoid": scipy.special.expit, "softplus": lambda x: np.logaddexp(np.zeros((), x.dtype), x),
    "erf": scipy.special.erf, "sin": np.sin, "cos": np.cos,
}
# Inputs where each function is neither saturated nor trivial.
DOMAIN = {"log": (1e-3, 1e3), "log1p": (-0.9, 1e3), "sin": (-100, 100), "cos": (-100, 100)}


def median_seconds(fn, x, repeats):
    fn(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--only", default=",".join(REFERENCE))
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads is not None:
        sg.config.threads = args.threads
    rng = np.random.default_rng(0)
    print(f"{'function':10s} {'dtype':8s} {'llvm ms':>8s} {'numpy ms':>9s} {'llvm Melem/s':>13s} "
          f"{'numpy Melem/s':>14s} {'ratio':>6s}")
    for name in args.only.split(","):
        for dtype in ("float32", "float64"):
            lo, hi = DOMAIN.get(name, (-10, 10))
            x = rng.uniform(lo, hi, args.n).astype(dtype)
            v = T.vector("x", dtype=dtype)
            f = sg.function([v], getattr(T, name)(v), mode=sg.Mode(backend="llvm"))
            ours = median_seconds(f, x, args.repeats)
            theirs = median_seconds(REFERENCE[name], x, args.repeats)
            print(f"{name:10s} {dtype:8s} {ours * 1e3:8.3f} {theirs * 1e3:9.3f} {args.n / ours / 1e6:13.1f} "
                  f"{args.n / theirs / 1e6:14.1f} {theirs / ours:6.2f}")


if __name__ == "__main__":
    main()
