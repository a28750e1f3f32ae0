"""sg.config and SYMGRAPH_FLAGS."""

import os
import subprocess
import sys

import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.config import Config, ConfigError


def test_flags_string_sets_options():
    c = Config("floatX=float32, device=cpu,mode=FAST_COMPILE")
    assert (c.floatX, c.device, c.mode) == ("float32", "cpu", "FAST_COMPILE")


def test_bad_flags_are_refused_with_the_allowed_values():
    with pytest.raises(ConfigError, match=r"floatX must be one of \('float64', 'float32'\), got 'float16'"):
        Config("floatX=float16")
    with pytest.raises(ConfigError, match="unknown config option 'colour'"):
        Config("colour=blue")
    with pytest.raises(ConfigError, match="expected name=value"):
        Config("floatX")


def test_floatx_decides_the_default_dtype():
    old = sg.config.floatX
    sg.config.floatX = "float32"
    try:
        assert T.matrix().dtype == "float32"
        assert T.constant(0.5).dtype == "float32"
        assert T.dmatrix().dtype == "float64"
    finally:
        sg.config.floatX = old
    assert T.matrix().dtype == old


def test_environment_variable_is_read_at_import():
    env = dict(os.environ, SYMGRAPH_FLAGS="floatX=float32")
    out = subprocess.run([sys.executable, "-c", "import symgraph; print(symgraph.config.floatX)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "float32"


def test_monkeypatched_options_are_restored_afterwards():
    before = sg.config.compiledir
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sg.config, "compiledir", "/nowhere")
        assert sg.config.compiledir == "/nowhere"
    assert sg.config.compiledir == before
