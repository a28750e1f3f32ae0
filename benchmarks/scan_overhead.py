"""Per-step overhead of scan: ``h = tanh(W h + x_t)`` with 16 units.

    python benchmarks/scan_overhead.py [--backend numpy] [--steps 20000]

The step does almost no arithmetic (a 16x16 matrix-vector product), so the
time per step is the loop's own overhead.  Reports the median over repeats
in microseconds per step.
"""

import argparse
import statistics
import time

import numpy as np

import symgraph as sg
import symgraph.tensor as T


def measure(backend, steps, repeats=5, units=16):
    rng = np.random.default_rng(0)
    W = sg.shared(rng.standard_normal((units, units)) * 0.1, name="W")
    X = T.dmatrix("X")
    hs, _ = sg.scan(lambda x_t, h: T.tanh(T.dot(W, h) + x_t), sequences=X,
                    outputs_info=T.constant(np.zeros(units)))
    f = sg.function([X], hs[-1], mode=sg.Mode(backend=backend))
    data = rng.standard_normal((steps, units))
    f(data)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f(data)
        times.append(time.perf_counter() - t)
    return statistics.median(times) / steps * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--steps", type=int, default=20000)
    args = parser.parse_args(argv)
    print(f"scan h = tanh(W h + x_t), 16 units, backend {args.backend}: "
          f"{measure(args.backend, args.steps):.2f} us/step")


if __name__ == "__main__":
    main()
