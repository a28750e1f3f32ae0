"""symgraph: Theano-style symbolic compute graphs, rewritten and compiled to native code.

    import symgraph as sg
    import symgraph.tensor as T

    x = T.vector('x')
    f = sg.function([x], T.exp(x).sum())
"""

from ._version import __version__
from .config import config
from .errors import SymgraphError
from . import gradient, graph, scalar, tensor
from .compile import Function, In, Mode, Out, SharedVariable, function, shared
from .gradient import grad
from . import printing
from .scan import scan
from . import ifelse as _ifelse_module
from .opfromgraph import OpFromGraph

__all__ = [
    "Function", "In", "OpFromGraph", "Mode", "Out", "SharedVariable", "SymgraphError", "__version__", "config",
    "function", "grad", "gradient", "graph", "printing", "scalar", "scan", "shared", "tensor",
]
