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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="symgraph", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="version, backends found and why any is missing")
    info.add_argument("--ops", action="store_true", help="list the Ops each backend lowers")
    info.set_defaults(func=_info)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
