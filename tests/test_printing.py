"""debugprint of variables and compiled functions."""

import symgraph as sg
import symgraph.tensor as T


def test_debugprint_of_a_variable_shows_each_node_once():
    x = T.dvector("x")
    e = T.exp(x)
    y = e * e + 1
    text = sg.printing.debugprint(y, file="str")
    lines = text.splitlines()
    assert lines[0].startswith("add")
    assert sum("exp" in line and "..." not in line for line in lines) == 1
    assert any("exp" in line and "..." in line for line in lines)
    assert "x [input]" in text


def test_debugprint_of_a_function_names_the_backend_and_types():
    x = T.fvector("x")
    f = sg.function([x], T.tanh(x), name="act")
    text = sg.printing.debugprint(f, file="str", print_type=True)
    assert f"Function act [backend={sg.config.backend}]" in text
    assert "tanh" in text and "float32 vector" in text


def test_debugprint_can_show_the_source_line():
    x = T.dvector("x")
    y = T.sin(x)
    text = sg.printing.debugprint(y, file="str", print_source=True)
    assert "test_printing.py" in text


def test_pprint_renders_infix():
    x, y = T.dscalar("x"), T.dscalar("y")
    assert sg.printing.pprint(x * y + 1) == "((x * y) + 1.0)"
