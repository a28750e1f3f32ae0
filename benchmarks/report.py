"""Tables, ``results.json``, ``results.md`` and the ratio plot.

Ratios are each variant's median divided by symgraph's best backend's median
on the same case: above 1, symgraph is faster; below 1, the peer is.
"""

import datetime
import json
import os
import platform
import statistics

UNITS = {"us": 1e6, "ms": 1e3, "s": 1.0}


# ---- the machine ---------------------------------------------------------------------------------


def machine_info(args):
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "threads": args.threads,
        "size": args.size,
        "repeats": args.repeats,
        "native_blas": bool(args.native_blas),
        "unset_blas_env": args.unset_blas_env,
        "openblas_env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "load_average_start": _load(),
    }


def header(meta):
    load = meta["load_average_start"]
    note = ""
    if load and load[0] > 0.5 * (meta["cores"] or 1):
        note = f"  (load average {load[0]:.1f} on {meta['cores']} cores: the machine is busy, timings are noisy)"
    return (f"symgraph benchmarks, {meta['size']} sizes, {meta['repeats']} rounds, {meta['threads']} thread(s)\n"
            f"machine: {meta['cpu']}, {meta['cores']} cores, {meta['memory_gib']} GiB, {meta['platform']}{note}")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib():
    try:
        with open("/proc/meminfo") as f:
            return round(int(f.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None


def _load():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ---- one case --------------------------------------------------------------------------------------


def case_result(case, rows, hw):
    """Medians, spreads, ratios to symgraph's best backend, and fractions of the hardware limit."""
    for row in rows.values():
        times = row.get("times_s")
        if row.get("status") == "ok" and times:
            row.update(median_s=statistics.median(times), min_s=min(times), max_s=max(times))
    timed = {k: r for k, r in rows.items() if "median_s" in r}
    symgraph = {k: r["median_s"] for k, r in timed.items() if k.startswith("symgraph")}
    best = min(symgraph, key=symgraph.get) if symgraph else None
    for row in timed.values():
        if best is not None:
            row["ratio"] = row["median_s"] / symgraph[best]
        if case.work and hw:
            limit = hw["gemm_float32_gflops"] * 1e9 if case.work[0] == "flop" else hw["copy_gbs"] * 1e9
            row["peak_fraction"] = case.work[1] / row["median_s"] / limit
    return {"workload": case.workload, "name": case.name, "label": case.label, "unit": case.unit,
            "work": list(case.work) if case.work else None, "tol": case.tol, "symgraph_best": best, "rows": rows}


def format_case(result):
    unit, scale = result["unit"], UNITS[result["unit"]]
    lines = [f"{result['label']:<46}{'median':>12}{'min - max':>22}{'/sg best':>10}{'%peak':>7}  note"]
    for key, row in result["rows"].items():
        if "median_s" in row:
            spread = f"{row['min_s'] * scale:.4g} - {row['max_s'] * scale:.4g}"
            ratio = f"{row['ratio']:.2f}" if "ratio" in row else "-"
            peak = f"{100 * row['peak_fraction']:.1f}" if "peak_fraction" in row else "-"
            best = " (best symgraph)" if key == result["symgraph_best"] else ""
            lines.append(f"  {key:<44}{row['median_s'] * scale:>9.4g} {unit:<2}{spread:>22}{ratio:>10}{peak:>7}  "
                         f"{row.get('note', '')}{best}")
        else:
            lines.append(f"  {key:<44}{row['status']}: {row.get('reason', '')}")
    return "\n".join(lines)


# ---- the whole run -----------------------------------------------------------------------------------


def markdown_table(meta, results):
    """Rows: cases; columns: variants; cells: median (ratio to symgraph's best backend); notes grouped below."""
    keys = [k for k in meta.get("variants", []) if any(k in r["rows"] for r in results)]
    lines = ["| workload | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    notes = {}  # (variant, text) -> workloads it applies to
    for r in results:
        scale = UNITS[r["unit"]]
        cells = []
        for key in keys:
            row = r["rows"].get(key)
            if row is None:
                cells.append("")
            elif "median_s" in row:
                text = f"{row['median_s'] * scale:.3g} {r['unit']}"
                if key == r["symgraph_best"]:
                    text = f"**{text}**"
                elif "ratio" in row:
                    text += f" ({row['ratio']:.2f})"
                cells.append(text)
            else:
                cells.append(row["status"])
                notes.setdefault((key, f"{row['status']}: {row.get('reason', '')}"), []).append(r["workload"])
            if row and row.get("note"):
                notes.setdefault((key, row["note"]), []).append(r["workload"])
        lines.append(f"| {r['label']} | " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    text += ("\n\nMedians; in parentheses each time divided by symgraph's best backend (bold): "
             "above 1 symgraph is faster.")
    if notes:
        text += "\n\n" + "\n".join(f"- {key} ({', '.join(dict.fromkeys(ws))}): {note}"
                                     for (key, note), ws in notes.items())
    return text


def versions_line(meta):
    v = meta.get("versions", {})
    return ", ".join(f"{k} {v[k]}" for k in sorted(v))


def write(out, meta, hw, results):
    os.makedirs(out, exist_ok=True)
    meta["load_average_end"] = _load()
    paths = []
    path = os.path.join(out, "results.json")
    with open(path, "w") as f:
        json.dump({"meta": meta, "limits": hw, "results": results}, f, indent=1, default=str)
    paths.append(path)
    path = os.path.join(out, "results.md")
    with open(path, "w") as f:
        f.write(_markdown_document(meta, hw, results))
    paths.append(path)
    path = os.path.join(out, "ratios.png")
    plot_ratios(results, path)
    paths.append(path)
    return paths


def _markdown_document(meta, hw, results):
    load = meta.get("load_average_start"), meta.get("load_average_end")
    blas = "\n".join(f"- {k}: {v}" for k, v in sorted(meta.get("blas", {}).items()))
    skipped = "\n".join(f"- {s}" for s in meta.get("skipped", [])) or "- none"
    return (f"# symgraph benchmarks ({meta['date']})\n\n"
            f"Machine: {meta['cpu']}, {meta['cores']} cores, {meta['memory_gib']} GiB; {meta['platform']}; "
            f"{meta['threads']} thread(s) for every framework; load average at start/end {load[0]} / {load[1]}.\n\n"
            f"Versions: {versions_line(meta)}.\n\n"
            f"Limits: GEMM float32 {hw['gemm_float32_gflops']:.1f} GFLOP/s, float64 "
            f"{hw['gemm_float64_gflops']:.1f} GFLOP/s; copy {hw['copy_gbs']:.1f} GB/s.\n\n"
            f"BLAS:\n{blas}\n\nSkipped:\n{skipped}\n\n"
            f"{markdown_table(meta, results)}\n")


def plot_ratios(results, path):
    """One panel per case: bars from 1 to each variant's time over symgraph's best backend, log scale."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    nice = [10.0 ** e * m for e in range(-4, 5) for m in (1, 2, 5)]
    panels = [r for r in results if any("ratio" in row for row in r["rows"].values())]
    ncols = min(4, max(1, len(panels)))
    nrows = max(1, -(-len(panels) // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.8 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, r in zip(axes.flat, panels):
        items = [(k, row["ratio"]) for k, row in r["rows"].items() if "ratio" in row]
        colors = ["tab:blue" if k.startswith("symgraph") else "tab:orange" for k, _ in items]
        ax.barh(range(len(items)), [v - 1.0 for _, v in items], left=1.0, color=colors)
        ax.set_yticks(range(len(items)), [k for k, _ in items], fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        span = max([abs(math.log10(v)) for _, v in items] + [math.log10(2)]) * 1.15
        ax.set_xlim(10 ** -span, 10 ** span)
        ticks = [v for v in nice if 10 ** -span <= v <= 10 ** span]
        if len(ticks) > 7:  # wide range: powers of ten only, thinned to about seven
            ticks = [v for v in ticks if abs(math.log10(v) - round(math.log10(v))) < 1e-9]
            ticks = ticks[len(ticks) // 2 % max(1, len(ticks) // 7)::max(1, len(ticks) // 7)]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_title(r["label"], fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("time / symgraph's best backend (right of 1: symgraph faster; left: the peer is)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
