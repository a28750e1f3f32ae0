"""What the hardware can do: float32/float64 GEMM rate and memory bandwidth (a large copy).

Each workload's time is also shown as a fraction of these: its flops over the
GEMM rate (compute-bound workloads) or its bytes over the copy bandwidth
(memory-bound ones).  The GEMM rate is the best of NumPy's BLAS and, where it
is loaded, torch's, so the fraction is against the best this machine showed.
"""

import sys
import time

import numpy as np

SIZES = {"quick": (512, 2**22), "default": (2048, 2**26), "full": (4096, 2**27)}


def measure(size, log=print):
    n, copy_elems = SIZES[size]
    hw = {"gemm_n": n, "copy_bytes": copy_elems * 4}
    for dtype in ("float32", "float64"):
        hw[f"gemm_{dtype}_gflops"] = max(_gemm_rates(n, dtype))
    hw["copy_gbs"] = _copy_rate(copy_elems)
    log(f"limits: GEMM {n}x{n} float32 {hw['gemm_float32_gflops']:.1f} GFLOP/s, "
        f"float64 {hw['gemm_float64_gflops']:.1f} GFLOP/s; copy of {hw['copy_bytes'] / 2**20:.0f} MiB "
        f"{hw['copy_gbs']:.1f} GB/s (read + write)")
    return hw


def _best_seconds(fn, repeats=5):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _gemm_rates(n, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    flops = 2.0 * n ** 3
    rates = [flops / _best_seconds(lambda: np.matmul(a, b, out=out)) / 1e9]
    torch = sys.modules.get("torch")
    if torch is not None:
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        to = torch.from_numpy(out)
        rates.append(flops / _best_seconds(lambda: torch.matmul(ta, tb, out=to)) / 1e9)
    return rates


def _copy_rate(elems):
    src = np.ones(elems, np.float32)
    dst = np.empty_like(src)
    return 2 * src.nbytes / _best_seconds(lambda: np.copyto(dst, src)) / 1e9
