"""Runs the cases: build every framework's version, cross-check the results, then time them interleaved.

Within a case, frameworks take turns round by round (A B C A B C ...), so a
change in the machine's load during the case hits all of them alike; each
round times ``number`` back-to-back calls (calibrated so a round lasts at
least ``MIN_ROUND_S``), after a warm-up.  The table reports the median round.
"""

import gc
import importlib
import math
import time
import traceback

from . import limits, report
from .frameworks import discover
from .workloads import WORKLOADS
from .workloads.base import relative_error, to_numpy

MIN_ROUND_S = {"quick": 0.002, "default": 0.05, "full": 0.05}
WARMUP_CALLS = 2
MAX_NUMBER = 20000


def run(args):
    started = time.time()
    log = _printer()
    selected = [w for w in WORKLOADS if not args.only or w in args.only]
    unknown = sorted(set(args.only) - set(WORKLOADS))
    if unknown:
        log(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
        return 2
    meta = report.machine_info(args)
    log(report.header(meta))
    env = discover(args.frameworks, args.threads, log=log)
    log("variants: " + ", ".join(v.key for v in env.variants))
    meta.update(versions=env.versions, blas=env.blas, threadpools=env.threadpools, skipped=env.skipped,
                variants=[v.key for v in env.variants])
    hw = limits.measure(args.size, log=log)
    results = []
    for key in selected:
        module = importlib.import_module(f"benchmarks.workloads.{WORKLOADS[key]}")
        log(f"\n== {key}: {module.TITLE}")
        try:
            cases = module.cases(args.size)
        except Exception as e:  # noqa: BLE001  (a workload that cannot even set up is reported, not fatal)
            log(f"   {key}: cannot set up ({type(e).__name__}: {e}); continue")
            continue
        for case in cases:
            gc.collect()
            if case.measure is not None:
                rows = case.measure(case, env, args, log)
            else:
                rows = time_case(case, env, args, log)
            result = report.case_result(case, rows, hw)
            results.append(result)
            log(report.format_case(result))
    meta["seconds"] = round(time.time() - started, 1)
    paths = report.write(args.out, meta, hw, results)
    log("\n" + report.markdown_table(meta, results))
    log("\nwrote " + ", ".join(paths))
    return 0


def time_case(case, env, args, log):
    """``{variant key: row}`` for one case: status, per-call times of each round, note."""
    rows, built = {}, {}
    for variant in env.variants:
        builder = case.builders.get(variant.family)
        if builder is None:
            reason = case.missing.get(variant.family, "not written for this framework")
            rows[variant.key] = {"status": "skipped", "reason": reason}
            continue
        try:
            t0 = time.perf_counter()
            impl = builder(variant)
            first = impl.run()
            first_s = time.perf_counter() - t0
            values = (to_numpy(first) if impl.compare_outputs else []) + [a for a in impl.state()]
        except Exception as e:  # noqa: BLE001  (a missing Op or a compile failure skips this framework only)
            reason = f"{type(e).__name__}: {_first_line(e)}"
            rows[variant.key] = {"status": "failed", "reason": reason, "trace": traceback.format_exc(limit=-3)}
            log(f"   {variant.key}: cannot run {case.label}: {reason}")
            continue
        built[variant.key] = (impl, values)
        rows[variant.key] = {"status": "ok", "first_call_s": first_s, "note": impl.note}
    for key, err, ref in _disagreeing(built, case.tol):
        rows[key].update(status="disagrees", reason=f"max relative error {err:.2e} against {ref} "
                                                    f"(tolerance {case.tol:g})")
        log(f"   {key}: disagrees on {case.label} ({rows[key]['reason']}); not timed")
        del built[key]
    if not built:
        return rows
    _time_interleaved(built, rows, args, case)
    return rows


def _disagreeing(built, tol):
    """(key, error, reference) for each variant that disagrees with the consensus.

    The reference is the variant that agrees with the most others (symgraph
    first on ties, as its numpy backend is the semantics), so one wrong
    framework cannot make all the others look wrong.
    """
    keys = list(built)
    if len(keys) < 2:
        return []

    def error(a, b):
        va, vb = built[a][1], built[b][1]
        if len(va) != len(vb):
            return math.inf
        return max((relative_error(x, y) for x, y in zip(va, vb)), default=0.0)

    errors = {(a, b): error(a, b) for a in keys for b in keys if a != b}
    ref = max(keys, key=lambda k: (sum(errors[k, o] <= tol for o in keys if o != k), k.startswith("symgraph")))
    return [(k, errors[k, ref], ref) for k in keys if k != ref and errors[k, ref] > tol]


def _time_interleaved(built, rows, args, case):
    min_round = MIN_ROUND_S[args.size]
    numbers = {}
    for key, (impl, _) in built.items():
        # The cross-check call compiled and warmed; the last warm-up call calibrates.  Slow
        # variants (a call longer than a round) get one warm-up call, not WARMUP_CALLS.
        for _ in range(WARMUP_CALLS):
            t0 = time.perf_counter()
            impl.run()
            once = max(time.perf_counter() - t0, 1e-7)
            if once >= min_round:
                break
        numbers[key] = max(1, min(MAX_NUMBER, math.ceil(min_round / once)))
    times = {key: [] for key in built}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(args.repeats):
            for key, (impl, _) in built.items():
                run, number = impl.run, numbers[key]
                t0 = time.perf_counter()
                for _ in range(number):
                    run()
                times[key].append((time.perf_counter() - t0) / number)
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    for key in built:
        rows[key].update(times_s=times[key], number=numbers[key])


def _first_line(e):
    """The line of an error message that says what went wrong (TensorFlow's first line is 'in user code:')."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    if not lines:
        return ""
    return (lines[-1] if lines[0].endswith(":") and len(lines) > 1 else lines[0])[:240]


def _printer():
    def log(*parts):
        print(*parts, flush=True)
    return log
