"""subtensor: indexing a make_vector, an alloc or a join takes the part instead of the whole."""

import numpy as np
import pytest

import symgraph.tensor as T

from .helpers import applied, assert_same_values, compile_fn, op_types

rng = np.random.default_rng(3)


def typed(shape, name):
    return T.TensorType("float64", shape)(name)


# ---- useless_subtensor ----------------------------------------------------------------------------

def test_full_slices_select_everything():
    x = typed((3, None), "x")
    f = assert_same_values([x], x[0:3, :], [rng.normal(size=(3, 4))])
    assert "useless_subtensor" in applied(f)
    assert op_types(f) == []


def test_a_slice_that_may_stop_short_is_kept():
    x = T.dmatrix("x")
    f = assert_same_values([x], x[0:3], [rng.normal(size=(5, 2))])
    assert "useless_subtensor" not in applied(f)
    assert op_types(f) == ["Subtensor"]


# ---- make_vector ----------------------------------------------------------------------------------

@pytest.mark.parametrize("index", [0, 2, -1])
def test_subtensor_of_make_vector_is_the_element(index):
    a, b, c = T.dscalar("a"), T.dscalar("b"), T.dscalar("c")
    f = assert_same_values([a, b, c], T.stack([a, b, c])[index], [1.0, 2.0, 3.0])
    assert "subtensor_of_make_vector" in applied(f)
    assert op_types(f) == []


def test_subtensor_of_make_vector_slice_is_a_shorter_make_vector():
    a, b, c = T.dscalar("a"), T.dscalar("b"), T.dscalar("c")
    f = assert_same_values([a, b, c], T.stack([a, b, c])[1:], [1.0, 2.0, 3.0])
    assert "subtensor_of_make_vector" in applied(f)
    (node,) = f.fgraph.toposort()
    assert type(node.op).__name__ == "MakeVector" and node.inputs == f.fgraph.inputs[1:]


def test_subtensor_of_make_vector_declines_a_symbolic_index():
    a, b, i = T.dscalar("a"), T.dscalar("b"), T.lscalar("i")
    f = assert_same_values([a, b, i], T.stack([a, b])[i], [1.0, 2.0, 1])
    assert "subtensor_of_make_vector" not in applied(f)


def test_out_of_range_index_of_make_vector_still_raises():
    a, b = T.dscalar("a"), T.dscalar("b")
    v = T.stack([a, b])
    f = compile_fn([a, b], v[v.shape[0] * 0 + 1])  # a symbolic index: nothing to fold
    assert f(1.0, 2.0) == 2.0


def test_shape_of_an_intermediate_indexed_is_the_inferred_length():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    n = T.concatenate([x, y], axis=1).shape[1]
    f = assert_same_values([x, y], n, [rng.normal(size=(2, 3)), rng.normal(size=(2, 4))])
    assert {"shape_of_computed", "subtensor_of_make_vector"} <= applied(f)
    assert "Join" not in op_types(f)
    assert f(rng.normal(size=(2, 3)), rng.normal(size=(2, 4))) == 7


# ---- alloc ----------------------------------------------------------------------------------------

def test_subtensor_of_alloc_allocates_only_the_selection():
    v, n, m = T.dvector("v"), T.lscalar("n"), T.lscalar("m")
    big = T.alloc(v, n, m)
    f = assert_same_values([v, n, m], big[1:3, 2:], [np.arange(5.0), 4, 5])
    assert "subtensor_of_alloc" in applied(f)
    assert op_types(f)[-1] == "Alloc"
    assert f(np.arange(5.0), 4, 5).shape == (2, 3)


def test_subtensor_of_alloc_with_an_integer_index_and_new_axis():
    v, n = T.dvector("v"), T.lscalar("n")
    f = assert_same_values([v, n], T.alloc(v, n, 3)[1, None, ::2], [np.arange(3.0), 4])
    assert "subtensor_of_alloc" in applied(f)
    assert f(np.arange(3.0), 4).shape == (1, 2)


def test_subtensor_of_alloc_leaves_an_out_of_range_index_to_run_time():
    v, n = typed((3,), "v"), T.lscalar("n")
    f = compile_fn([v, n], T.alloc(v, n)[5])  # v has 3 entries: index 5 fails only when run
    with pytest.raises(IndexError):
        f(np.arange(3.0), 3)


def test_subtensor_of_alloc_declines_for_an_alloc_used_elsewhere():
    v, n = T.dvector("v"), T.lscalar("n")
    big = T.alloc(v, n, 3)
    f = assert_same_values([v, n], [big[0], big], [np.arange(3.0), 2])
    assert "subtensor_of_alloc" not in applied(f)
    assert op_types(f).count("Alloc") == 1


# ---- join -----------------------------------------------------------------------------------------

def test_subtensor_of_join_selects_the_piece():
    a, b = typed((2, None), "a"), typed((3, None), "b")
    j = T.concatenate([a, b], axis=0)
    values = [rng.normal(size=(2, 4)), rng.normal(size=(3, 4))]
    f = assert_same_values([a, b], [j[3], j[2:5, 1], j[:2], j[-1]], values)
    assert "subtensor_of_join" in applied(f)
    assert "Join" not in op_types(f)


def test_subtensor_of_join_along_a_later_axis():
    a, b = typed((None, 2), "a"), typed((None, 2), "b")
    f = assert_same_values([a, b], T.concatenate([a, b], axis=1)[:, 3],
                           [rng.normal(size=(3, 2)), rng.normal(size=(3, 2))])
    assert "subtensor_of_join" in applied(f)
    assert "Join" not in op_types(f)


def test_subtensor_of_join_declines_a_range_across_pieces_or_unknown_lengths():
    a, b = typed((2, None), "a"), typed((3, None), "b")
    x, y = T.dmatrix("x"), T.dmatrix("y")
    values = [rng.normal(size=(2, 4)), rng.normal(size=(3, 4)), rng.normal(size=(2, 4)),
              rng.normal(size=(3, 4))]
    f = assert_same_values([a, b, x, y], [T.concatenate([a, b])[1:3], T.concatenate([x, y])[0]],
                           values)
    assert "subtensor_of_join" not in applied(f)
    assert op_types(f).count("Join") == 2
