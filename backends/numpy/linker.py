"""Link a FunctionGraph into a list of thunks over preallocated storage cells.

The graph is walked once, at compile time: each node gets a thunk bound to the
cells of its inputs and outputs, and the per-call work is a flat loop over the
thunks.  Intermediates are released right after their last use.
"""

import numpy as np

from symgraph.errors import SymgraphError, runtime_error_class, where
from symgraph.graph.basic import Constant


def lowered_ops():
    """The numpy backend runs every Op through ``perform``."""
    return ["* (every Op, through perform)"]


def compile(fgraph, mode):
    nodes = fgraph.toposort()
    cells = {}
    for v in fgraph.inputs:
        cells[v] = [None]
    for node in nodes:
        for v in node.inputs:
            if v not in cells:
                if isinstance(v, Constant):
                    cells[v] = [v.data]
                else:
                    cells[v] = [None]
        for v in node.outputs:
            cells[v] = [None]
    for v in fgraph.outputs:
        if v not in cells:
            cells[v] = [v.data] if isinstance(v, Constant) else [None]

    input_cells = [cells[v] for v in fgraph.inputs]
    output_cells = [cells[v] for v in fgraph.outputs]

    last_use = {}
    for k, node in enumerate(nodes):
        for v in node.inputs:
            last_use[v] = k
    keep = set(fgraph.inputs) | set(fgraph.outputs)
    release = [[] for _ in nodes]
    for v, k in last_use.items():
        if v not in keep and not isinstance(v, Constant):
            release[k].append(cells[v])

    thunks = []
    for k, node in enumerate(nodes):
        thunks.append(_thunk(node, [cells[v] for v in node.inputs], [cells[v] for v in node.outputs],
                             release[k]))
    if mode.nan_guard:
        thunks = [_nan_guarded(t, node, [cells[v] for v in node.outputs]) for t, node in zip(thunks, nodes)]

    variable_cells = [c for v, c in cells.items() if not isinstance(v, Constant)]
    # Cells still holding a value after a call: drop them so memory is freed.
    reset_cells = [c for c in {id(c): c for c in input_cells + output_cells}.values()
                   if not any(c is cells[v] for v in fgraph.outputs if isinstance(v, Constant))]

    def execute(values):
        """Run the thunks; the caller has silenced floating-point warnings."""
        for cell, value in zip(input_cells, values):
            cell[0] = value
        k = 0
        try:
            for k, thunk in enumerate(thunks):
                thunk()
        except Exception as e:
            for cell in variable_cells:
                cell[0] = None
            raise _wrap_error(e, nodes[k]) from e
        results = [cell[0] for cell in output_cells]
        for cell in reset_cells:
            cell[0] = None
        return results

    def run(values):
        # One errstate switch per call, not per node: NaN/Inf are values here,
        # reported by nan_guard when asked for.
        saved = np.seterr(all="ignore")
        try:
            return execute(values)
        finally:
            np.seterr(**saved)

    # Loops (scan) call the body through `execute`, inside the outer call's errstate.
    run.execute = execute
    run.nodes = nodes
    return run


def _thunk(node, in_cells, out_cells, release):
    perform = node.op.perform
    if len(in_cells) == 1 and not release:
        (c0,) = in_cells

        def thunk():
            perform(node, [c0[0]], out_cells)

        return thunk

    def thunk():
        perform(node, [c[0] for c in in_cells], out_cells)
        for c in release:
            c[0] = None

    return thunk


def _nan_guarded(thunk, node, out_cells):
    def guarded():
        thunk()
        for i, cell in enumerate(out_cells):
            value = cell[0]
            if isinstance(value, np.ndarray) and value.dtype.kind == "f" and not np.all(np.isfinite(value)):
                kind = "NaN" if np.isnan(value).any() else "Inf"
                raise FloatingPointError(
                    f"nan_guard: {node.op} produced {kind} in output {i}" + where(node.outputs[i])
                )

    return guarded


def _wrap_error(e, node):
    if isinstance(e, SymgraphError):
        return e
    inputs = ", ".join(f"{v}: {v.type}" for v in node.inputs)
    cls = runtime_error_class(type(e))
    try:
        return cls(f"{node.op} failed at run time: {e}\n  inputs: {inputs}" + where(node.outputs[0]))
    except TypeError:
        return runtime_error_class(RuntimeError)(f"{node.op} failed at run time: {e}" + where(node.outputs[0]))
