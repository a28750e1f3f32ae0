"""In and Out: how a compiled function treats each input and output."""

from ..errors import SymgraphError
from ..graph.basic import Constant, Variable


class In:
    """An input of ``function`` with options.

    value:   default used when the argument is not given.
    borrow:  the function may keep a reference to the given array.
    mutable: the function may overwrite the given array (never done by default).
    """

    def __init__(self, variable, name=None, value=None, borrow=False, mutable=False,
                 allow_downcast=None):
        if not isinstance(variable, Variable) or variable.owner is not None or isinstance(variable, Constant):
            raise SymgraphError(
                f"function inputs must be symbolic input variables (no owner, not constant); got {variable!r}"
            )
        from .shared import SharedVariable

        if isinstance(variable, SharedVariable):
            raise SymgraphError(
                f"shared variable {variable} cannot be an explicit input: it is an implicit one; "
                "use givens to replace it"
            )
        self.variable = variable
        self.name = name if name is not None else variable.name
        self.value = value
        self.has_default = value is not None
        self.borrow = borrow
        self.mutable = mutable
        self.allow_downcast = allow_downcast


class Out:
    """An output of ``function``; ``borrow=True`` lets it alias internal storage."""

    def __init__(self, variable, borrow=False):
        self.variable = variable
        self.borrow = borrow
