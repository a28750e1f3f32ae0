"""Every rule of the rewrite tables is named, located and exercised by a test in this folder."""

import os
from pathlib import Path

from symgraph.rewrite.pipeline import _tables

HERE = Path(__file__).parent
TESTED_MODULES = ("canonicalize.py", "stabilize.py", "specialize.py", "subtensor_rules.py", "blas_rules.py")


def test_rules_have_unique_names_and_point_at_their_source():
    rules = [r for t in _tables().values() for r in t]
    names = [r.name for r in rules]
    assert len(names) == len(set(names))
    for r in rules:
        filename, line = r.location.rsplit(":", 1)
        assert os.path.exists(filename) and int(line) > 0


def test_every_rule_of_these_tables_is_checked_by_a_test():
    text = "\n".join(p.read_text() for p in HERE.glob("test_*.py") if p.name != Path(__file__).name)
    missing = [r.name for t in _tables().values() for r in t
               if os.path.basename(r.location.rsplit(":", 1)[0]) in TESTED_MODULES and f'"{r.name}"' not in text]
    assert not missing, f"rules without a test: {missing}"


def test_each_rule_is_tagged_with_its_table():
    for name, table in _tables().items():
        assert all(name in r.tags for r in table)
