"""Compile time of training steps on the llvm backend, cold (empty disk cache) and warm (filled cache).

    python benchmarks/llvm_compile.py [--repeats 3] [--tiny] [--only mlp,lstm]

Workloads (float32, SGD updates of shared parameters):

* mlp: 784-512-512-10 tanh MLP, softmax cross-entropy, batch 16;
* lstm: LSTM language model (vocab 50, embed 32, hidden 64, seq 20, batch 16) through ``sg.scan``.

Each measurement runs in a new Python process so no in-memory cache leaks
between them: *cold* with a fresh, empty ``compiledir``, *warm* with the
same directory again, in a second process.  Graph building (the model and
``sg.grad``) is not timed; the total is ``sg.function(...)`` plus the first
call.  Its breakdown (medians over ``--repeats`` rounds, milliseconds):

* rewrite: the graph rewrite pipeline;
* ir: emitting LLVM IR (Python);
* llvm: LLVM optimisation and machine-code generation (0 on a warm start), on the
  calling thread (the call builtins' module compiles on a thread of its own,
  overlapping the rest, and is not counted);
* load: reading the disk cache and linking object code into the process;
* init: creating the target machine and binding symbols (once per process);
* first call: the first call of the compiled step (scan bodies compile here);
* other: the rest of ``sg.function`` (partitioning, bookkeeping);
* total: all of the above.

Two more columns are not part of the total: *import*, importing the backend
(llvmlite and the lowering modules, once per process, before the timed
region) and *call*, a later call of the step (the first call's share that is
the step's own run time).  BLAS runs on ``--blas-threads`` threads (default
1): the first call is timed for its one-off costs, and a threaded BLAS on a
busy machine can make the step's own run time swamp them.  Children keep
their bytecode under a temporary ``PYTHONPYCACHEPREFIX`` (one untimed child
run fills it), so modules imported lazily inside the timed region load as
they would for a user, even where ``PYTHONDONTWRITEBYTECODE`` is set.
"""

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIELDS = ("rewrite", "ir", "llvm", "load", "init", "first_call", "other", "total", "import", "call")


def mlp_step(tiny):
    import numpy as np

    import symgraph as sg
    import symgraph.tensor as T

    sizes = (20, 16, 16, 5) if tiny else (784, 512, 512, 10)
    batch = 8 if tiny else 16
    rng = np.random.default_rng(0)
    x, y = T.fmatrix("x"), T.ivector("y")
    params, h = [], x
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        w = sg.shared((rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype("float32"), name=f"W{k}")
        b = sg.shared(np.zeros(n_out, dtype="float32"), name=f"b{k}")
        params += [w, b]
        h = T.dot(h, w) + b
        if k < len(sizes) - 2:
            h = T.tanh(h)
    loss = T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(h), y))
    grads = sg.grad(loss, params)
    lr = np.float32(0.01)
    updates = [(p, p - lr * g) for p, g in zip(params, grads)]
    args = (rng.standard_normal((batch, sizes[0])).astype("float32"),
            rng.integers(0, sizes[-1], batch).astype("int32"))
    return [x, y], loss, updates, args


def lstm_step(tiny):
    import numpy as np
    from symgraph.models import nn

    import symgraph as sg
    import symgraph.tensor as T

    sg.config.floatX = "float32"          # a child process of its own: the layers' parameters are float32
    vocab, embed, hidden, seq, batch = (11, 4, 6, 3, 2) if tiny else (50, 32, 64, 20, 16)
    rng = np.random.default_rng(0)
    emb, lstm = nn.Embedding(vocab, embed, rng=rng), nn.LSTM(embed, hidden, rng=rng)
    out = nn.Dense(hidden, vocab, rng=rng)
    params = [p for layer in (emb, lstm, out) for p in layer.params.list()]
    tokens, targets = T.imatrix("tokens"), T.imatrix("targets")  # (seq, batch)
    hs = lstm(emb(tokens))
    logits = out(hs.reshape((-1, hidden)))
    loss = T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(logits), targets.flatten()))
    grads = sg.grad(loss, params)
    lr = np.float32(0.1)
    updates = [(p, p - lr * g) for p, g in zip(params, grads)]
    args = (rng.integers(0, vocab, (seq, batch)).astype("int32"),
            rng.integers(0, vocab, (seq, batch)).astype("int32"))
    return [tokens, targets], loss, updates, args


WORKLOADS = {"mlp": mlp_step, "lstm": lstm_step}


def child(workload, compiledir, tiny):
    """One compile in this (new) process; prints the phase times in seconds as JSON."""
    from symgraph.backends.llvm import jit

    import symgraph as sg

    # ``symgraph.compile.function`` the attribute is the function; the module is in sys.modules.
    function_module = sys.modules["symgraph.compile.function"]

    sg.config.compiledir = compiledir
    inputs, loss, updates, args = WORKLOADS[workload](tiny)
    start = time.perf_counter()
    from symgraph.backends.llvm import linker

    linker.load_all()
    imported = time.perf_counter() - start
    rewrite = [0.0]
    real_rewrite = function_module.rewrite_graph

    def timed_rewrite(*a, **k):
        start = time.perf_counter()
        try:
            return real_rewrite(*a, **k)
        finally:
            rewrite[0] += time.perf_counter() - start

    function_module.rewrite_graph = timed_rewrite
    start = time.perf_counter()
    f = sg.function(inputs, loss, updates=updates, mode=sg.Mode(backend="llvm"))
    built = time.perf_counter()
    value = f(*args)
    done = time.perf_counter()
    times = dict(jit.compile_times)
    again = time.perf_counter()
    f(*args)
    times["call"] = time.perf_counter() - again
    times.update(rewrite=rewrite[0], first_call=done - built, total=done - start, import_=imported)
    times["import"] = times.pop("import_")
    times["other"] = (built - start) - sum(times[k] for k in ("rewrite", "ir", "llvm", "load", "init"))
    times["loss"] = float(value)
    times["fallbacks"] = len(f._run.fallback_nodes)
    print(json.dumps(times))


def run_child(workload, compiledir, tiny, blas_threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", workload, "--compiledir", compiledir]
    if tiny:
        cmd.append("--tiny")
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "symgraph-bench-pycache")
    if blas_threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(blas_threads)
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{workload} compile failed:\n{out.stdout[-2000:]}{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(workload, repeats, tiny, blas_threads=1):
    """``{'cold': {...}, 'warm': {...}}``: median milliseconds per phase, and the losses seen."""
    runs = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory(prefix="symgraph-compile-") as d:
        run_child(workload, d, tiny, blas_threads)  # fills the bytecode cache; not timed
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="symgraph-compile-") as d:
            runs["cold"].append(run_child(workload, d, tiny, blas_threads))
            runs["warm"].append(run_child(workload, d, tiny, blas_threads))
    result = {}
    for kind, rows in runs.items():
        med = {k: statistics.median(r[k] for r in rows) * 1e3 for k in FIELDS}
        med["loss"] = rows[0]["loss"]
        med["fallbacks"] = rows[0]["fallbacks"]
        result[kind] = med
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="small layer sizes (a smoke test)")
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--blas-threads", type=int, default=1, help="0 keeps the environment's setting")
    parser.add_argument("--json", help="also write the medians to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--compiledir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.compiledir, args.tiny)
        return 0
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    print(f"llvm backend compile time, median of {args.repeats} (new process each), milliseconds"
          + (" [tiny sizes]" if args.tiny else ""))
    header = f"{'workload':<9} {'cache':<5} | " + " ".join(f"{f:>10}" for f in FIELDS)
    print(header)
    print("-" * len(header))
    results = {}
    for name in names:
        results[name] = measure(name, args.repeats, args.tiny, args.blas_threads)
        for kind in ("cold", "warm"):
            row = results[name][kind]
            print(f"{name:<9} {kind:<5} | " + " ".join(f"{row[f]:>10.1f}" for f in FIELDS))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
