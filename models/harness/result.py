"""What an experiment returns: metrics, a table, criteria with verdicts, and plots."""

import operator
from dataclasses import dataclass, field

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@dataclass
class Criterion:
    """One acceptance check: ``passed`` and a line saying what was compared."""

    name: str
    passed: bool
    detail: str = ""

    @property
    def verdict(self):
        return "PASS" if self.passed else "FAIL"


def check(name: str, value: float, op: str, threshold: float, what: str = "") -> Criterion:
    """A criterion ``value op threshold`` whose detail shows both numbers."""
    passed = bool(_OPS[op](value, threshold))
    prefix = f"{what} = " if what else ""
    return Criterion(name, passed, f"{prefix}{value:.4g} {op} {threshold:.4g}")


@dataclass
class Result:
    """An experiment's outcome.

    ``metrics``: name -> number or list (e.g. one value per seed), saved to JSON.
    ``table``: rows (dicts sharing keys) printed as the results table.
    ``criteria``: the acceptance checks; the run passes when all pass.
    ``figures``: file stem -> matplotlib Figure, saved as PNG in ``--out``.
    ``notes``: lines printed and saved (fallbacks used, scale caveats).
    """

    metrics: dict = field(default_factory=dict)
    table: list = field(default_factory=list)
    criteria: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    budget: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.criteria) and all(c.passed for c in self.criteria)


def format_table(rows) -> str:
    """Rows of dicts as aligned text columns (floats to 4 significant digits)."""
    if not rows:
        return ""
    keys = list(rows[0])
    for r in rows[1:]:
        keys.extend(k for k in r if k not in keys)

    def cell(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    cells = [[cell(r.get(k, "")) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()
    return "\n".join([line(keys), line(["-" * w for w in widths])] + [line(c) for c in cells])
