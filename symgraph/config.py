"""Global settings, read from ``SYMGRAPH_FLAGS`` (``floatX=float32,device=cuda``)."""

import os

from .errors import SymgraphError


class ConfigError(SymgraphError, ValueError):
    pass


#: called with the new value when the global ``config.threads`` changes (the llvm backend's thread count)
threads_hooks = []


_CHOICES = {
    "floatX": ("float64", "float32"),
    "device": ("cpu", "cuda"),
    "mode": ("FAST_RUN", "FAST_COMPILE"),
    "backend": ("auto", "llvm", "numpy", "cuda"),
}


def available_cores():
    """The cores this process may run on (taskset, cgroups)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Config:
    """Attributes: floatX, device, mode, compiledir, backend ('auto' picks llvm on the CPU),
    threads (cores the llvm backend's large loops may use; default: all this process may run on)."""

    def __init__(self, flags=""):
        self.floatX = "float64"
        self.device = "cpu"
        self.mode = "FAST_RUN"
        # "auto": the llvm backend where llvmlite works, else numpy.
        self.backend = "auto"
        self.threads = available_cores()
        self.compiledir = os.path.join(
            os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "symgraph"
        )
        self.parse(flags)

    def parse(self, flags):
        for item in filter(None, (f.strip() for f in flags.split(","))):
            if "=" not in item:
                raise ConfigError(f"SYMGRAPH_FLAGS: expected name=value, got {item!r}")
            name, value = (s.strip() for s in item.split("=", 1))
            setattr(self, name, value)

    def __setattr__(self, name, value):
        if name not in ("floatX", "device", "mode", "compiledir", "backend", "threads"):
            raise ConfigError(f"unknown config option {name!r}")
        if name == "threads":
            try:
                number = int(value)
            except (TypeError, ValueError):
                number = 0
            if number < 1:
                raise ConfigError(f"config.threads must be a positive integer, got {value!r}")
            value = number
            if globals().get("config") is self:
                for hook in threads_hooks:
                    hook(value)
        allowed = _CHOICES.get(name)
        if allowed is not None and value not in allowed:
            raise ConfigError(f"config.{name} must be one of {allowed}, got {value!r}")
        # Plain instance attributes (validated above), so tools that save and restore ``__dict__``
        # entries -- pytest's monkeypatch since 9.2 -- see the real values.
        object.__setattr__(self, name, value)

    def __repr__(self):
        return "Config(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"


config = Config(os.environ.get("SYMGRAPH_FLAGS", ""))
