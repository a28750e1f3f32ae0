"""The ``symgraph`` command: info, models, run, bench."""

import argparse
import sys


def _info(args):
    import numpy

    import symgraph
    from symgraph.compile.backend import backend_status

    print(f"symgraph {symgraph.__version__}")
    print(f"python {sys.version.split()[0]}, numpy {numpy.__version__}")
    print(f"config: {symgraph.config}")
    print("backends:")
    for name, ok, reason in backend_status():
        print(f"  {name:6s} {'available' if ok else 'missing  '}  {reason}")
        if args.ops and ok:
            import importlib

            module = importlib.import_module(f"symgraph.backends.{name}")
            for op in module.lowered_ops():
                print(f"           lowers {op}")
    return 0


def _models(args):
    from symgraph.models.harness import list_experiments

    list_experiments()
    return 0


def _run(args):
    from symgraph.models.harness import run_experiment

    try:
        _, code = run_experiment(args.name, seeds=args.seeds, quick=args.quick, out=args.out, backend=args.backend)
    except KeyError as e:
        print(f"symgraph run: {e.args[0]}", file=sys.stderr)
        return 2
    return code


def _seed_list(text):
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated integers, got {text!r}") from None


def _add_model_commands(sub):
    models = sub.add_parser("models", help="list the experiments: name, paper, runtime, claim")
    models.set_defaults(func=_models)
    run = sub.add_parser("run", help="run one experiment, print its table and PASS/FAIL verdicts")
    run.add_argument("name")
    run.add_argument("--seeds", type=_seed_list, help="comma-separated seeds (default 0,1,2)")
    run.add_argument("--quick", action="store_true", help="CI size: a minute or less")
    run.add_argument("--out", help="folder for results.json and plots (default results/NAME)")
    run.add_argument("--backend", choices=["numpy", "llvm", "cuda"], help="compile with this backend")
    run.set_defaults(func=_run)


def _bench(rest):
    """Run ``python -m benchmarks REST`` from the source tree: the suite is not installed with the package."""
    import os
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.isfile(os.path.join(root, "benchmarks", "__main__.py")):
        print("symgraph bench: the benchmarks are not installed with the package; from a source checkout run\n"
              "    python -m benchmarks [--quick] [--only W2,W5] [--threads N] [--out DIR]", file=sys.stderr)
        return 2
    # Relative paths mean the caller's folder, not the checkout the suite runs from.
    rest = [f"--out={os.path.abspath(a[6:])}" if a.startswith("--out=") else a for a in rest]
    rest = [os.path.abspath(a) if i and rest[i - 1] == "--out" else a for i, a in enumerate(rest)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    return subprocess.call([sys.executable, "-m", "benchmarks", *rest], cwd=root, env=env)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # everything after 'bench' belongs to the suite's own parser
        return _bench(argv[1:])
    parser = argparse.ArgumentParser(prog="symgraph", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="version, backends found and why any is missing")
    info.add_argument("--ops", action="store_true", help="list the Ops each backend lowers")
    info.set_defaults(func=_info)
    sub.add_parser("bench", help="symgraph against PyTorch, TensorFlow, JAX, PyTensor (symgraph bench --help)")
    _add_model_commands(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
