"""Global settings, read from ``SYMGRAPH_FLAGS`` (``floatX=float32,device=cuda``)."""

import os

from .errors import SymgraphError


class ConfigError(SymgraphError, ValueError):
    pass


_CHOICES = {
    "floatX": ("float64", "float32"),
    "device": ("cpu", "cuda"),
    "mode": ("FAST_RUN", "FAST_COMPILE"),
    "backend": ("auto", "llvm", "numpy", "cuda"),
}


class Config:
    """Attributes: floatX, device, mode, compiledir, backend ('auto' picks llvm on the CPU)."""

    def __init__(self, flags=""):
        object.__setattr__(self, "_values", {})
        self.floatX = "float64"
        self.device = "cpu"
        self.mode = "FAST_RUN"
        # "auto": the llvm backend where llvmlite works, else numpy.
        self.backend = "auto"
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
        if name not in ("floatX", "device", "mode", "compiledir", "backend"):
            raise ConfigError(f"unknown config option {name!r}")
        allowed = _CHOICES.get(name)
        if allowed is not None and value not in allowed:
            raise ConfigError(f"config.{name} must be one of {allowed}, got {value!r}")
        self._values[name] = value

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self):
        return "Config(" + ", ".join(f"{k}={v!r}" for k, v in self._values.items()) + ")"


config = Config(os.environ.get("SYMGRAPH_FLAGS", ""))
