"""The exceptions symgraph raises.

Every error is a :class:`SymgraphError` and also the built-in a NumPy user
would expect (``TypeError`` for a wrong dtype or argument count, ``ValueError``
for a shape mismatch), so both ``except`` styles work.
"""


class SymgraphError(Exception):
    """Base class of every error symgraph raises for a user's mistake."""


class InputTypeError(SymgraphError, TypeError):
    """A value given to a compiled function has the wrong dtype or kind."""


class InputShapeError(SymgraphError, ValueError):
    """A value given to a compiled function has the wrong rank or shape."""


class ArgumentCountError(SymgraphError, TypeError):
    """A compiled function got too many or too few arguments."""


class UnusedInputError(SymgraphError, ValueError):
    """An input of ``function`` is not needed by any output."""


class MissingInputError(SymgraphError, ValueError):
    """An output depends on a variable that is not an input of ``function``."""


class OpArgumentError(SymgraphError, TypeError):
    """An Op was given a parameter it cannot take (e.g. unhashable)."""


class GraphTypeError(SymgraphError, TypeError):
    """A symbolic expression got an argument of the wrong type or rank."""


class GraphShapeError(SymgraphError, ValueError):
    """Static shapes of a symbolic expression are incompatible."""


class GradientError(SymgraphError, TypeError):
    """A gradient was asked for that does not exist or is ill-posed."""


class DisconnectedInputError(SymgraphError, ValueError):
    """The cost does not depend on an input it was differentiated with respect to."""


class NullGradientError(GradientError):
    """The gradient of an Op is undefined (e.g. an integer index)."""


_runtime_classes = {}


def runtime_error_class(base):
    """A subclass of both :class:`SymgraphError` and ``base`` (cached)."""
    if issubclass(base, SymgraphError):
        return base
    cls = _runtime_classes.get(base)
    if cls is None:
        cls = type(f"Symgraph{base.__name__}", (SymgraphError, base), {"__module__": __name__})
        _runtime_classes[base] = cls
    return cls


def where(variable):
    """A suffix naming the user line where ``variable`` was made."""
    info = getattr(variable, "source", None)
    return f"\nThe variable was created at:\n  {info}" if info is not None else ""
