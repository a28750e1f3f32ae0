"""W7: compile time of W4's training step, cold and warm, for every variant that compiles.

Each measurement is a fresh process (this module run as a script), so no
in-memory cache helps (Python bytecode is kept, as an installed package has it):

* cold: an empty temporary folder for every disk cache the framework keeps
  (symgraph's ``config.compiledir``, TorchInductor's cache, JAX's persistent
  compilation cache, PyTensor's compiledir);
* warm: a second fresh process given the same folders.

TensorFlow keeps no disk cache of ``tf.function`` or XLA CPU code, so its warm
time is a second cold one.  Compile time is the time from building the
function to its first result, less one steady-state step (measured after).
Torch eager compiles nothing and is left out.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from .base import Case

WORKLOAD = "W7"
TITLE = "compile time of the W4 training step, cold and warm (fresh process each)"
ROUNDS = {"quick": 1, "default": 2, "full": 3}
WORKER_TIMEOUT_S = 900
_MARK = "W7RESULT "


def cases(size):
    shared = {}
    cold = Case(WORKLOAD, "compile W4 step, cold (empty caches)", "s", {}, measure=_measure_all(shared, "cold"))
    warm = Case(WORKLOAD, "compile W4 step, warm (disk caches kept)", "s", {}, measure=_measure_all(shared, "warm"))
    return [cold, warm]


def _measure_all(shared, which):
    def measure(case, env, args, log):
        if not shared:
            shared.update(_run_rounds(env, args, log))
        return shared.get(which, {})
    return measure


def _run_rounds(env, args, log):
    """Families take turns (A B C A B C); each turn is a cold process, then a warm one on the same caches."""
    families = {}
    for v in env.variants:
        if v.compiles:
            families.setdefault(v.family, []).append(v.key)
    rows = {"cold": {}, "warm": {}}
    for which, per in rows.items():
        for v in env.variants:
            if not v.compiles:
                per[v.key] = {"status": "skipped", "reason": "compiles nothing"}
    times = {"cold": {}, "warm": {}}
    # Bytecode: a user's installed packages have theirs, but where PYTHONDONTWRITEBYTECODE is set an
    # editable checkout would compile its modules in every worker, inside the timed region.  Workers
    # keep bytecode under one prefix, filled by an untimed run per family first.
    pycache = tempfile.mkdtemp(prefix="symgraph-bench-w7-pycache-")
    args = argparse.Namespace(**vars(args), pycache=pycache)
    for family, keys in families.items():
        cache = tempfile.mkdtemp(prefix=f"symgraph-bench-w7-{family}-")
        _worker(family, keys, cache, args)
        shutil.rmtree(cache, ignore_errors=True)
    for _ in range(ROUNDS[args.size]):
        for family, keys in families.items():
            cache = tempfile.mkdtemp(prefix=f"symgraph-bench-w7-{family}-")
            try:
                for which in ("cold", "warm"):
                    result = _worker(family, keys, cache, args)
                    for key in keys:
                        entry = result.get(key, {"error": result.get("error", "worker produced no result")})
                        if "compile_s" in entry:
                            times[which].setdefault(key, []).append(entry["compile_s"])
                        else:
                            rows[which][key] = {"status": "failed", "reason": entry["error"]}
                            log(f"   {key}: {which} compile failed: {entry['error']}")
            finally:
                shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(pycache, ignore_errors=True)
    for which, per_key in times.items():
        for key, ts in per_key.items():
            if rows[which].get(key, {}).get("status") != "failed":
                rows[which][key] = {"status": "ok", "times_s": ts, "note": "no disk cache" if
                                    key.startswith("tf.") and which == "warm" else ""}
    order = [v.key for v in env.variants]
    return {which: {k: per[k] for k in order if k in per} for which, per in rows.items()}


def _worker(family, keys, cache, args):
    cmd = [sys.executable, "-m", "benchmarks.workloads.w7_compile", "--family", family, "--variants", ",".join(keys),
           "--cache", cache, "--size", args.size, "--threads", str(args.threads)]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    if getattr(args, "pycache", None):
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = args.pycache
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S, cwd=root, env=env,
                              check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {WORKER_TIMEOUT_S} s"}
    for line in done.stdout.splitlines():
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK):])
    tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"error": f"worker exited {done.returncode}: {tail[:200]}"}


# ---- the worker: one fresh process ---------------------------------------------------------------------


def _point_caches_at(cache):
    """Every disk cache of every framework into ``cache`` (must run before any framework is imported)."""
    os.environ["SYMGRAPH_FLAGS"] = ",".join(filter(None, [os.environ.get("SYMGRAPH_FLAGS", ""),
                                                          f"compiledir={os.path.join(cache, 'symgraph')}"]))
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(cache, "inductor")
    os.environ["TRITON_CACHE_DIR"] = os.path.join(cache, "triton")
    os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] = "1"
    os.environ["TORCHINDUCTOR_AUTOGRAD_CACHE"] = "1"
    os.environ["JAX_COMPILATION_CACHE_DIR"] = os.path.join(cache, "jax")
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
    flags = [f for f in os.environ.get("PYTENSOR_FLAGS", "").split(",") if f and not f.startswith("compiledir=")]
    os.environ["PYTENSOR_FLAGS"] = ",".join(flags + [f"compiledir={os.path.join(cache, 'pytensor')}"])


def worker_main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", required=True)
    parser.add_argument("--variants", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--size", default="default")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    _point_caches_at(args.cache)
    from ..process import pin_threads

    pin_threads(args.threads)
    from ..frameworks import discover
    from . import w4_mlp

    keys = args.variants.split(",")
    env = discover([args.family], args.threads, probe=False, log=lambda *a: None, only_keys=set(keys))
    layers, batch = w4_mlp.SIZES[args.size]
    params, data = w4_mlp.make_data(layers, batch)
    build = w4_mlp.builders(params, data)[args.family]
    out = {}
    for variant in env.variants:
        try:
            t0 = time.perf_counter()
            impl = build(variant)
            impl.run()
            first = time.perf_counter() - t0
            steady = []
            for _ in range(3):
                t0 = time.perf_counter()
                impl.run()
                steady.append(time.perf_counter() - t0)
            out[variant.key] = {"compile_s": max(first - statistics.median(steady), 0.0)}
        except Exception as e:  # noqa: BLE001
            lines = [line.strip() for line in str(e).splitlines() if line.strip()] or [""]
            # TensorFlow's first line is 'in user code:'; what went wrong is on its last line.
            message = lines[-1] if lines[0].endswith(":") else lines[0]
            out[variant.key] = {"error": f"{type(e).__name__}: {message[:200]}"}
    if not env.variants:
        out["error"] = "; ".join(env.skipped) or f"{args.family} not importable"
    print(_MARK + json.dumps(out), flush=True)


if __name__ == "__main__":
    worker_main()
