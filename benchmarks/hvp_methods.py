"""Which Hessian-vector product is cheaper: forward over reverse ('rop') or reverse over reverse ('lop')?

Builds H @ v for a 2-layer MLP loss (tanh then softplus) both ways and times graph
construction plus compilation, and the median run time of the compiled function.
The faster method is the default of ``sg.gradient.hessian_vector_product``.

    python benchmarks/hvp_methods.py [--repeats N] [--mode FAST_RUN]
"""

import argparse
import statistics
import time

import numpy as np

import symgraph as sg
import symgraph.tensor as T
from symgraph.gradient import hessian_vector_product


def dot(x, w):
    try:
        from symgraph.tensor.blas import dot as blas_dot
    except ImportError:  # before Dot existed: a broadcast product summed over the shared axis
        return (x.dimshuffle(0, 1, "x") * w.dimshuffle("x", 0, 1)).sum(axis=1)
    return blas_dot(x, w)


def build(method, mode):
    x, y = T.dmatrix("x"), T.dmatrix("y")
    params = [T.dmatrix("W1"), T.dvector("b1"), T.dmatrix("W2"), T.dvector("b2")]
    vs = [p.type("v_" + p.name) for p in params]
    w1, b1, w2, b2 = params
    out = T.softplus(dot(T.tanh(dot(x, w1) + b1), w2) + b2)
    cost = ((out - y) ** 2).sum(axis=1).mean()
    hvp = hessian_vector_product(cost, params, vs, method=method)
    return sg.function([x, y] + params + vs, hvp, mode=mode)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--compiles", type=int, default=3)
    parser.add_argument("--mode", default=None)
    parser.add_argument("--sizes", default="64,128,10,256", help="n_in,n_hidden,n_out,batch")
    args = parser.parse_args()
    n_in, n_hid, n_out, batch = map(int, args.sizes.split(","))
    rng = np.random.default_rng(0)
    values = [rng.standard_normal((batch, n_in)), rng.uniform(0, 1, (batch, n_out)),
              rng.standard_normal((n_in, n_hid)) * 0.1, np.zeros(n_hid),
              rng.standard_normal((n_hid, n_out)) * 0.1, np.zeros(n_out)]
    values += [rng.standard_normal(v.shape) for v in values[2:]]

    results, outputs = {}, {}
    methods = ["rop", "lop"]
    compile_times = {m: [] for m in methods}
    for _ in range(args.compiles):  # interleaved, so drift hits both alike
        for m in methods:
            t0 = time.perf_counter()
            fn = build(m, args.mode)
            compile_times[m].append(time.perf_counter() - t0)
            results[m] = fn
    run_times = {m: [] for m in methods}
    for m in methods:
        outputs[m] = results[m](*values)  # warm up
    for _ in range(args.repeats):
        for m in methods:
            t0 = time.perf_counter()
            results[m](*values)
            run_times[m].append(time.perf_counter() - t0)
    for a, b in zip(outputs["rop"], outputs["lop"]):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    n_nodes = {m: len(results[m].fgraph.toposort()) for m in methods}

    print(f"2-layer MLP {n_in}-{n_hid}-{n_out}, batch {batch}, mode {args.mode or sg.config.mode}, "
          f"backend {results['rop'].backend_name}")
    print(f"{'method':<8}{'compile s (median)':>20}{'run ms (median)':>18}{'nodes':>8}")
    for m in methods:
        print(f"{m:<8}{statistics.median(compile_times[m]):>20.4f}"
              f"{1e3 * statistics.median(run_times[m]):>18.3f}{n_nodes[m]:>8}")
    best = min(methods, key=lambda m: statistics.median(run_times[m]))
    print(f"faster to run: {best}")


if __name__ == "__main__":
    main()
