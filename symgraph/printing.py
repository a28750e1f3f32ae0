"""Text views of graphs: debugprint for variables and compiled functions."""

import io
import sys

from .graph.basic import Constant, Variable
from .graph.traversal import toposort


def debugprint(obj, file=None, print_type=False, ids=True, print_rewrites=False, print_source=False):
    """Print the graph of a variable, a list of variables or a compiled Function.

    Each line is one node, indented under the node that uses it; a node seen
    before is printed once and then referred to by its id.  For a compiled
    function, ``print_rewrites=True`` also lists the rewrites applied, and
    nodes the backend runs through Python ``perform`` are marked.
    """
    from .compile.function import Function

    out = io.StringIO()
    fallbacks = set()
    if isinstance(obj, Function):
        outputs = obj.fgraph.outputs
        fallbacks = set(getattr(obj._run, "fallback_nodes", ()))
        header = f"Function {obj.name or ''} [backend={obj.backend_name}]"
        out.write(header.rstrip() + "\n")
    elif isinstance(obj, Variable):
        outputs = [obj]
    else:
        outputs = list(obj)
    order = {n: k for k, n in enumerate(toposort(outputs))}
    done = {}
    for var in outputs:
        _print_var(var, out, "", done, order, print_type, ids, fallbacks, print_source)
    if isinstance(obj, Function) and print_rewrites:
        out.write("Rewrites applied:\n")
        history = obj.fgraph.history
        if not history:
            out.write("  (none)\n")
        for pairs, reason in history:
            for old, new in pairs:
                out.write(f"  {reason}: {old} -> {new}\n")
    text = out.getvalue()
    if file == "str":
        return text
    (file or sys.stdout).write(text)
    return None


def _label(var, print_type):
    text = str(var)
    if print_type:
        text += f" <{var.type}>"
    return text


def _print_var(var, out, indent, done, order, print_type, ids, fallbacks, print_source):
    node = var.owner
    if node is None:
        kind = "constant" if isinstance(var, Constant) else "input"
        out.write(f"{indent}{_label(var, print_type)} [{kind}]\n")
        return
    ident = f"[id {order.get(node, '?')}]" if ids else ""
    name = f"{node.op}"
    if len(node.outputs) > 1:
        name += f".{var.index}"
    if var.name:
        name += f" '{var.name}'"
    mark = " (python fallback)" if node in fallbacks else ""
    type_text = f" <{var.type}>" if print_type else ""
    if node in done:
        out.write(f"{indent}{name} {ident}{type_text} ...\n")
        return
    done[node] = True
    out.write(f"{indent}{name} {ident}{type_text}{mark}\n")
    if print_source and var.source is not None:
        out.write(f"{indent}  # {var.source.filename}:{var.source.lineno}\n")
    for inp in node.inputs:
        _print_var(inp, out, indent + " |", done, order, print_type, ids, fallbacks, print_source)


def pprint(var):
    """A one-line infix rendering of ``var``'s graph (for messages and docs)."""
    return _pp(var)


_INFIX = {"add": "+", "sub": "-", "mul": "*", "true_div": "/", "pow": "**", "int_div": "//", "mod": "%"}


def _pp(var):
    node = var.owner
    if node is None:
        return str(var)
    scalar = getattr(node.op, "scalar_op", None)
    name = getattr(scalar, "name", None)
    args = [_pp(i) for i in node.inputs]
    if name in _INFIX and len(args) >= 2:
        return "(" + f" {_INFIX[name]} ".join(args) + ")"
    return f"{node.op}({', '.join(args)})"
