"""Modes: which rewrites run and which backend executes the result."""

from ..config import config
from ..errors import SymgraphError

MODES = ("FAST_RUN", "FAST_COMPILE")


class Mode:
    """``Mode('FAST_RUN', backend='numpy', including=[...], excluding=[...])``.

    ``including``/``excluding`` switch rewrites on or off by name or tag.
    ``nan_guard=True`` checks every intermediate for NaN/Inf and names the op
    that first produced one.
    """

    def __init__(self, optimizer=None, backend=None, including=(), excluding=(), nan_guard=False):
        optimizer = optimizer or config.mode
        if optimizer not in MODES:
            raise SymgraphError(f"unknown mode {optimizer!r}; expected one of {MODES}")
        self.optimizer = optimizer
        self.backend = backend
        self.including = tuple(including)
        self.excluding = tuple(excluding)
        self.nan_guard = nan_guard

    @property
    def backend_name(self):
        if self.backend is not None:
            return self.backend
        if config.device == "cuda":
            return "cuda"
        if config.backend == "auto":
            return default_cpu_backend()
        return config.backend

    def including_(self, *tags):
        return Mode(self.optimizer, self.backend, self.including + tags, self.excluding, self.nan_guard)

    def excluding_(self, *tags):
        return Mode(self.optimizer, self.backend, self.including, self.excluding + tags, self.nan_guard)

    def __eq__(self, other):
        return isinstance(other, Mode) and vars(self) == vars(other)

    def __hash__(self):
        return hash((self.optimizer, self.backend, self.including, self.excluding, self.nan_guard))

    def __repr__(self):
        return (f"Mode({self.optimizer!r}, backend={self.backend_name!r}, including={self.including}, "
                f"excluding={self.excluding})")


_default = []


def default_cpu_backend():
    """'llvm' where its availability check passes (cached), else 'numpy'."""
    if not _default:
        from .backend import backend_status

        ok = {name: avail for name, avail, _ in backend_status()}
        _default.append("llvm" if ok.get("llvm") else "numpy")
    return _default[0]


def get_mode(mode):
    if mode is None:
        return Mode()
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str):
        if mode in MODES:
            return Mode(mode)
        return Mode(backend=mode)
    raise SymgraphError(f"mode must be a Mode, a mode name or a backend name, got {mode!r}")
