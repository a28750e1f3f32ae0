"""The W4 MLP step alone in this process, for each mix of symgraph loop threads and BLAS threads.

    python benchmarks/thread_mix.py [--repeats 30]

The benchmark suite runs every framework in one process, where NumPy's
OpenBLAS (symgraph[numpy], PyTensor, NumPy itself) and SciPy's OpenBLAS (the
llvm backend's) keep separate thread pools whose workers spin after each
GEMM; on two cores they take turns with each other.  This measures the llvm
backend's step with nothing else loaded, so the two effects can be told apart.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import llvm_compile


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    import threadpoolctl

    import symgraph as sg

    inputs, loss, updates, _ = llvm_compile.mlp_step(False)
    rng = np.random.default_rng(0)
    data = (rng.standard_normal((128, 784)).astype("float32"), rng.integers(0, 10, 128).astype("int32"))
    f = sg.function(inputs, loss, updates=updates, mode="llvm")
    print("symgraph threads  BLAS threads  median ms  min ms")
    for loops, blas in ((1, 1), (1, 2), (2, 1), (2, 2)):
        sg.config.threads = loops
        with threadpoolctl.threadpool_limits(blas):
            f(*data)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                f(*data)
                times.append(time.perf_counter() - start)
        print(f"{loops:>16}  {blas:>12}  {1e3 * np.median(times):>9.2f}  {1e3 * min(times):>6.2f}")


if __name__ == "__main__":
    main()
