"""Loops: ``sg.scan(fn, sequences, outputs_info, non_sequences, n_steps, ...)``."""

from .body import ScanBody
from .builder import scan, until
from .op import Scan

__all__ = ["Scan", "ScanBody", "scan", "until"]

# Theano spells the stopping condition sg.scan.until, where sg.scan is the function.
scan.until = until
