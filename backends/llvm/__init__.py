"""The CPU compiler: lowers rewritten graphs to LLVM IR through llvmlite (no C compiler needed)."""

__all__ = ["availability", "compile", "lowered_ops", "node_thunk", "prepare"]


def availability():
    try:
        import llvmlite.binding  # noqa: F401

        from . import jit

        jit.target_machine()
    except Exception as e:  # noqa: BLE001  (any failure means the backend cannot run here)
        return False, f"llvmlite unavailable: {e}"
    import llvmlite

    return True, f"llvmlite {llvmlite.__version__}, CPU {jit.target_description().split('|')[1]}"


def prepare():
    """Called by ``function()`` before it rewrites the graph: the call builtins start compiling
    on a thread of their own in a cold process (fastcall.py)."""
    from .fastcall import prepare_in_background

    prepare_in_background()


def compile(fgraph, mode):
    from .linker import compile as _compile

    return _compile(fgraph, mode)


def lowered_ops():
    from .linker import lowered_ops as _lowered

    return _lowered()


def node_thunk(node, fgraph, in_cells, out_cells):
    """One node run on its own (native where it has a lowering), for ``symgraph.compile.profiling``."""
    from .profiler import node_thunk as _node_thunk

    return _node_thunk(node, fgraph, in_cells, out_cells)
