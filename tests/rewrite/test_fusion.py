"""fusion: elementwise chains (and reductions over them) become one Elemwise(Composite) / FusedReduce node."""

import itertools
import pickle

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GraphTypeError, InputShapeError
from symgraph.gradient import verify_grad, verify_rop
from symgraph.graph.fg import FunctionGraph
from symgraph.rewrite.fusion import MAX_INPUTS, fuse_elemwise
from symgraph.scalar.composite import Composite
from symgraph.tensor.elemwise import Elemwise
from symgraph.tensor.fused_reduce import FusedReduce
from symgraph.tensor.shape_inference import symbolic_shapes

from .helpers import applied

UNFUSED = sg.Mode("FAST_RUN", excluding=["fusion"])
RNG = np.random.default_rng(7)


def bell(x):
    return T.exp(-x * x) * T.sin(x) + T.tanh(x) * 0.5


def bell_np(x):
    return np.exp(-x * x) * np.sin(x) + np.tanh(x) * 0.5


def nodes(f):
    return f.fgraph.toposort()


def composites(f):
    return [n for n in nodes(f) if isinstance(getattr(n.op, "scalar_op", None), Composite)]


def fused_fn(build):
    """``build`` applied to symbolic inputs, with its graph fused by the pass alone."""
    def fn(*inputs):
        outs = build(*inputs)
        fgraph = FunctionGraph(list(inputs), outs if isinstance(outs, list) else [outs])
        assert fuse_elemwise(fgraph, sg.Mode()) >= 1
        return fgraph.outputs if isinstance(outs, list) else fgraph.outputs[0]
    return fn


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_chain_compiles_to_one_node_and_matches_numpy(dtype):
    x = T.matrix("x", dtype=dtype)
    f = sg.function([x], bell(x))
    (node,) = nodes(f)
    assert isinstance(node.op, Elemwise) and isinstance(node.op.scalar_op, Composite)
    xv = RNG.standard_normal((4, 5)).astype(dtype)
    got = f(xv)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, bell_np(xv), rtol=1e-6 if dtype == "float32" else 1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_sum_over_the_chain_is_still_one_node(dtype):
    x = T.matrix("x", dtype=dtype)
    f = sg.function([x], bell(x).sum())
    (node,) = nodes(f)
    assert isinstance(node.op, FusedReduce)
    xv = RNG.standard_normal((4, 5)).astype(dtype)
    got = f(xv)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, bell_np(xv).sum(), rtol=1e-5 if dtype == "float32" else 1e-13)


def test_sum_of_exp_is_one_node():
    x = T.dvector("x")
    f = sg.function([x], T.sum(T.exp(x)))
    assert [type(n.op) for n in nodes(f)] == [FusedReduce]
    np.testing.assert_allclose(f(np.arange(4.0)), np.exp(np.arange(4.0)).sum())


@pytest.mark.parametrize("reduce", ["sum", "prod", "max", "min"])
def test_reductions_over_an_axis_fuse_and_keep_numpy_values(reduce):
    x, r = T.dmatrix("x"), T.drow("r")
    f = sg.function([x, r], getattr(T, reduce)(T.tanh(x) * r + 1, axis=1))
    assert len(nodes(f)) == 1
    xv, rv = RNG.standard_normal((3, 4)), RNG.standard_normal((1, 4))
    np.testing.assert_allclose(f(xv, rv), getattr(np, reduce)(np.tanh(xv) * rv + 1, axis=1), rtol=1e-14)


def test_any_and_all_of_a_comparison_fuse():
    x = T.dmatrix("x")
    f = sg.function([x], [T.any(x > 1, axis=0), T.all(T.abs(x) < 3)])
    assert [type(n.op) for n in nodes(f)] == [FusedReduce, FusedReduce]
    xv = np.array([[0.0, 2.0], [-4.0, 0.5]])
    got_any, got_all = f(xv)
    np.testing.assert_array_equal(got_any, [False, True])
    assert got_all.dtype == bool and not got_all


def test_integer_sum_keeps_the_unfused_dtype():
    x = T.bvector("x")
    expr = T.sum(x * x + 1)  # int8 wraps elementwise, the sum is int64: as unfused
    f, ref = sg.function([x], expr), sg.function([x], expr, mode=UNFUSED)
    xv = np.array([100, 100, 100], dtype="int8")
    assert isinstance(nodes(f)[0].op, FusedReduce)
    assert f(xv).dtype == ref(xv).dtype and f(xv) == ref(xv)


def test_row_plus_matrix_inputs_broadcast_inside_the_kernel():
    x, r = T.dmatrix("x"), T.drow("r")
    f = sg.function([x, r], [bell(x + r), T.sum(bell(x * r), axis=0)])
    assert len(nodes(f)) == 2
    xv, rv = RNG.standard_normal((3, 4)), RNG.standard_normal((1, 4))
    out, summed = f(xv, rv)
    np.testing.assert_allclose(out, bell_np(xv + rv), rtol=1e-15)
    np.testing.assert_allclose(summed, bell_np(xv * rv).sum(axis=0), rtol=1e-14)


def test_zero_d_inputs():
    a, b = T.dscalar("a"), T.dscalar("b")
    f = sg.function([a, b], [bell(a) * b, T.sum(bell(a - b))])
    assert len(nodes(f)) == 2
    got, total = f(0.3, -1.2)
    assert got.shape == () and total.shape == ()
    np.testing.assert_allclose(got, bell_np(0.3) * -1.2, rtol=1e-15)
    np.testing.assert_allclose(total, bell_np(0.3 + 1.2), rtol=1e-15)


def test_empty_arrays():
    x = T.dmatrix("x")
    f = sg.function([x], [bell(x), bell(x).sum(axis=0), bell(x).sum(axis=1)])
    out, by_col, by_row = f(np.zeros((0, 3)))
    assert out.shape == (0, 3) and by_row.shape == (0,)
    np.testing.assert_array_equal(by_col, np.zeros(3))


def test_max_over_an_empty_axis_is_refused_as_unfused():
    x = T.dmatrix("x")
    f = sg.function([x], T.max(T.exp(x), axis=0))
    assert isinstance(nodes(f)[0].op, FusedReduce)
    with pytest.raises(InputShapeError, match="max"):
        f(np.zeros((0, 3)))


def test_a_value_used_twice_becomes_an_extra_output_not_a_recomputation():
    x = T.dmatrix("x")
    a = T.exp(x)
    b, c = a * 2, T.sqr(a) + 1
    f = sg.function([x], [b, c])
    (node,) = nodes(f)
    comp = node.op.scalar_op
    assert comp.nout == 2
    assert sum(str(n.op) == "exp" for n in comp.nodes) == 1
    xv = RNG.standard_normal((2, 3))
    got_b, got_c = f(xv)
    np.testing.assert_allclose(got_b, np.exp(xv) * 2)
    np.testing.assert_allclose(got_c, np.exp(xv) ** 2 + 1)


def test_values_used_outside_the_group_are_outputs_of_the_kernel():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    h = T.tanh(x * 2)
    y = T.dot(h, w) + T.sin(h)
    f = sg.function([x, w], y)
    comps = composites(f)
    # tanh(x*2) feeds the dot and sin(h): one kernel computes both h and sin(h).
    assert any(c.op.scalar_op.nout == 2 for c in comps)
    xv, wv = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
    hv = np.tanh(xv * 2)
    np.testing.assert_allclose(f(xv, wv), hv @ wv + np.sin(hv), rtol=1e-14)


def test_dot_stays_out_of_composites_and_no_cycle_is_made():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    a = T.exp(x)
    y = T.tanh(a) * T.dot(a, w)  # a -> dot -> mul: a and the mul cannot share a kernel
    f = sg.function([x, w], y)
    for n in composites(f):
        assert all(str(i.op) != "Dot" for i in n.op.scalar_op.nodes)
    dot = [n for n in nodes(f) if "Dot" in type(n.op).__name__ or "Gemm" in type(n.op).__name__]
    assert dot, [str(n.op) for n in nodes(f)]
    xv, wv = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
    np.testing.assert_allclose(f(xv, wv), np.tanh(np.exp(xv)) * (np.exp(xv) @ wv), rtol=1e-14)


def test_different_broadcast_patterns_are_not_fused():
    # exp of a row inside a matrix kernel would be one exp per matrix element.
    x, r = T.dmatrix("x"), T.drow("r")
    f = sg.function([x, r], T.exp(r) * x)
    assert len(nodes(f)) == 2
    xv, rv = RNG.standard_normal((3, 4)), RNG.standard_normal((1, 4))
    np.testing.assert_allclose(f(xv, rv), np.exp(rv) * xv)


def test_one_value_constants_go_inside_and_bigger_ones_stay_inputs():
    x = T.dvector("x")
    big = np.arange(5.0)
    f = sg.function([x], T.exp(x * 3.0) + big)
    (node,) = nodes(f)
    assert len(node.inputs) == 2 and node.op.scalar_op.nin == 2
    assert "3.0" in str(node.op)
    np.testing.assert_allclose(f(np.ones(5)), np.exp(3.0) + big)


def test_a_sum_of_forty_inputs_is_split_into_kernels_of_at_most_32_inputs():
    xs = [T.dvector(f"x{k}") for k in range(40)]
    total = xs[0]
    for v in xs[1:]:
        total = total + v
    f = sg.function(xs, T.exp(total))
    assert len(nodes(f)) > 1
    assert all(len(n.inputs) <= MAX_INPUTS for n in nodes(f))
    vals = [RNG.standard_normal(3) for _ in xs]
    np.testing.assert_allclose(f(*vals), np.exp(sum(vals)), rtol=1e-14)
    assert "split_wide_elemwise" in applied(f)


def test_excluding_fusion_leaves_the_nodes_unfused():
    x = T.dmatrix("x")
    f = sg.function([x], bell(x).sum(), mode=UNFUSED)
    assert len(nodes(f)) > 5 and not composites(f)
    assert not any(isinstance(n.op, FusedReduce) for n in nodes(f))


def test_excluding_fuse_reduce_keeps_the_elementwise_fusion_only():
    x = T.dmatrix("x")
    f = sg.function([x], bell(x).sum(), mode=sg.Mode("FAST_RUN", excluding=["fuse_reduce"]))
    assert [type(n.op).__name__ for n in nodes(f)] == ["Elemwise", "CAReduce"]


def test_nan_guard_keeps_ops_apart_so_it_can_name_the_one_that_made_a_nan():
    x = T.dvector("x")
    f = sg.function([x], T.log(x) * 2, mode=sg.Mode(nan_guard=True))
    assert not composites(f)


def test_replacements_are_recorded_with_the_rule_name():
    x = T.dmatrix("x")
    assert "fuse_elemwise" in applied(sg.function([x], bell(x)))
    assert "fuse_reduce" in applied(sg.function([x], bell(x).sum()))


def test_identical_fusions_are_the_same_op():
    x, y = T.dmatrix("x"), T.dmatrix("y")
    f = sg.function([x, y], [bell(x), bell(y)])
    a, b = composites(f)
    assert a.op == b.op and hash(a.op) == hash(b.op)


def test_fusing_a_fused_graph_again_keeps_it_flat_and_correct():
    x, w = T.dmatrix("x"), T.dmatrix("w")
    y = T.dot(bell(x), w)
    fgraph = FunctionGraph([x, w], [T.exp(y) * 2 + y])
    fuse_elemwise(fgraph, sg.Mode())
    first = len(fgraph.toposort())
    fuse_elemwise(fgraph, sg.Mode())
    assert len(fgraph.toposort()) == first
    for n in fgraph.toposort():
        comp = getattr(n.op, "scalar_op", None)
        if isinstance(comp, Composite):
            assert not any(isinstance(i.op, Composite) for i in comp.nodes)
    f = sg.function([x, w], fgraph.outputs[0], mode=sg.Mode("FAST_COMPILE"))
    xv, wv = RNG.standard_normal((2, 2)), RNG.standard_normal((2, 2))
    yv = bell_np(xv) @ wv
    np.testing.assert_allclose(f(xv, wv), np.exp(yv) * 2 + yv, rtol=1e-14)


def test_a_fused_graph_differentiates():
    rng = np.random.default_rng(3)
    fn = fused_fn(lambda x, r: bell(x) * r + T.sqr(r))
    points = [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))]
    verify_grad(fn, points, rng=rng)
    verify_rop(fn, points, rng=rng)


def test_a_fused_multi_output_graph_differentiates():
    rng = np.random.default_rng(4)

    def build(x):
        a = T.exp(x)
        return [a * 2, T.sqr(a) + 1]

    def cost(x):
        b, c = fused_fn(build)(x)
        assert b.owner is c.owner
        return T.dot(b, c.T)

    # canonicalize's lift_dimshuffle_through_elemwise cannot yet lift a DimShuffle through a
    # multi-output Elemwise (it returns both outputs), so it is switched off here.
    mode = sg.Mode("FAST_RUN", excluding=["lift_dimshuffle_through_elemwise"])
    verify_grad(cost, [rng.standard_normal((3, 4))], rng=rng, mode=mode)
    verify_rop(cost, [rng.standard_normal((3, 4))], rng=rng, mode=mode)


@pytest.mark.parametrize("reduce", ["sum", "prod", "max"])
def test_a_fused_reduction_differentiates(reduce):
    rng = np.random.default_rng(5)

    def build(x):
        return getattr(T, reduce)(bell(x) + 1.5, axis=1)

    def fn(x):
        out = fused_fn(build)(x)
        assert isinstance(out.owner.op, FusedReduce)
        return out

    verify_grad(fn, [rng.standard_normal((3, 4))], rng=rng)
    verify_rop(fn, [rng.standard_normal((3, 4))], rng=rng)


def test_fused_reduce_infers_its_shape_without_computing_and_pickles():
    x, r = T.dmatrix("x"), T.drow("r")
    fgraph = FunctionGraph([x, r], [T.sum(bell(x) * r, axis=0)])
    fuse_elemwise(fgraph, sg.Mode())
    (out,) = fgraph.outputs
    op = out.owner.op
    assert isinstance(op, FusedReduce)
    (length,) = symbolic_shapes([out])[out]
    f = sg.function([x, r], length, on_unused_input="ignore")
    assert not any(isinstance(n.op, FusedReduce) for n in nodes(f))
    assert int(f(np.ones((3, 4)), np.ones((1, 4)))) == 4
    back = pickle.loads(pickle.dumps(op))
    assert back == op and hash(back) == hash(op)


def test_fused_reduce_refuses_a_multi_output_composite():
    from symgraph.scalar import ops as scal
    from symgraph.scalar.type import ScalarType

    a = ScalarType("float64")("a")
    with pytest.raises(GraphTypeError, match="single-output Composite"):
        FusedReduce(Composite([a], [scal.exp(a), scal.sin(a)]), scal.add, (0,))


def test_sg_grad_of_a_fused_output_is_the_unfused_gradient():
    x = T.dmatrix("x")
    fgraph = FunctionGraph([x], [bell(x).sum()])
    fuse_elemwise(fgraph, sg.Mode())
    (cost,) = fgraph.outputs
    assert isinstance(cost.owner.op, FusedReduce)
    g = sg.grad(cost, x)
    ref = sg.grad(bell(x).sum(), x)
    xv = RNG.standard_normal((3, 2))
    np.testing.assert_allclose(sg.function([x], g)(xv), sg.function([x], ref, mode=UNFUSED)(xv),
                               rtol=1e-14)


def mlp(sizes, seed=0):
    rng = np.random.default_rng(seed)
    x, t = T.dmatrix("x"), T.dmatrix("t")
    params, h = [], x
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        w = sg.shared(rng.standard_normal((n_in, n_out)) * 0.5, name=f"w{k}")
        b = sg.shared(rng.standard_normal(n_out) * 0.1, name=f"b{k}")
        params += [w, b]
        h = T.dot(h, w) + b
        if k < len(sizes) - 2:
            h = T.tanh(h)
    cost = T.sum((h - t) ** 2) * 0.5 / T.cast(x.shape[0], "float64")
    return [x, t], cost, sg.grad(cost, params)


def test_a_fused_mlp_gradient_matches_fast_compile():
    inputs, cost, grads = mlp([5, 8, 8, 3])
    fused = sg.function(inputs, [cost] + grads)
    unfused = sg.function(inputs, [cost] + grads, mode=UNFUSED)
    reference = sg.function(inputs, [cost] + grads, mode=sg.Mode("FAST_COMPILE"))
    assert composites(fused) and len(nodes(fused)) < len(nodes(unfused))
    rng = np.random.default_rng(1)
    xv, tv = rng.standard_normal((7, 5)), rng.standard_normal((7, 3))
    for got, want in zip(fused(xv, tv), reference(xv, tv)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
