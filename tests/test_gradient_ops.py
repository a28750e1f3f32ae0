"""Every differentiable Op's L_op and R_op against finite differences.

Each case is a function of symbolic inputs and a way to draw points in its
domain (away from kinks and poles); ``verify_grad`` checks reverse mode and
``verify_rop`` forward mode, both in float64 with fixed seeds.
"""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import DisconnectedInputError
from symgraph.gradient import (
    disconnected_grad,
    grad_clip,
    grad_scale,
    verify_grad,
    verify_rop,
    zero_grad,
)

SHAPE = (3, 4)


# ---- domains ---------------------------------------------------------------------------

def real(rng, shape=SHAPE):
    return rng.uniform(-2.0, 2.0, shape)


def nonzero(rng, shape=SHAPE):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)


def positive(rng, shape=SHAPE):
    return rng.uniform(0.5, 2.0, shape)


def unit(rng, shape=SHAPE):
    return rng.uniform(-0.8, 0.8, shape)


def above_one(rng, shape=SHAPE):
    return rng.uniform(1.2, 3.0, shape)


def off_integers(rng, shape=SHAPE):
    # k + 0.2 .. k + 0.4 or k + 0.6 .. k + 0.8: away from floor/ceil/round jumps.
    return rng.integers(-3, 3, shape) + rng.choice([0.3, 0.7], shape) + rng.uniform(-0.1, 0.1, shape)


def distinct_pair(rng, shape=SHAPE):
    a = real(rng, shape)
    return [a, a + rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 1.0, shape)]


def mod_pair(rng, shape=SHAPE):
    # x / y in (-0.9, -0.05) or (0.05, 0.9): floor(x / y) is locally constant.
    x = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 1.5, shape)
    return [x, rng.uniform(1.7, 2.0, shape)]


def int_div_pair(rng, shape=SHAPE):
    return [rng.integers(-5, 5, shape) + 0.5 + rng.uniform(-0.2, 0.2, shape), np.full(shape, 1.0)]


def one(domain):
    return lambda rng: [domain(rng)]


def each(*domains):
    return lambda rng: [d(rng) for d in domains]


# ---- elementwise ---------------------------------------------------------------------------

UNARY = [
    ("neg", T.neg, real), ("abs", T.abs, nonzero), ("sgn", T.sgn, nonzero),
    ("exp", T.exp, real), ("exp2", T.exp2, real), ("expm1", T.expm1, real),
    ("log", T.log, positive), ("log2", T.log2, positive), ("log10", T.log10, positive),
    ("log1p", T.log1p, positive), ("sqrt", T.sqrt, positive), ("sqr", T.sqr, real),
    ("reciprocal", T.reciprocal, nonzero), ("sin", T.sin, real), ("cos", T.cos, real),
    ("tan", T.tan, unit), ("arcsin", T.arcsin, unit), ("arccos", T.arccos, unit),
    ("arctan", T.arctan, real), ("sinh", T.sinh, real), ("cosh", T.cosh, real),
    ("tanh", T.tanh, real), ("arcsinh", T.arcsinh, real), ("arccosh", T.arccosh, above_one),
    ("arctanh", T.arctanh, unit), ("erf", T.erf, real), ("erfc", T.erfc, real),
    ("erfinv", T.erfinv, unit), ("gammaln", T.gammaln, positive), ("psi", T.psi, positive),
    ("polygamma1", lambda x: T.polygamma(1, x), positive),
    ("sigmoid", T.sigmoid, real), ("softplus", T.softplus, real),
    ("floor", T.floor, off_integers), ("ceil", T.ceil, off_integers),
    ("trunc", T.trunc, off_integers), ("round", T.round, off_integers),
    ("identity", T.identity, real), ("neg_operator", lambda x: -x, real),
    ("abs_operator", lambda x: abs(x), nonzero),
]

BINARY = [
    ("add", T.add, each(real, real)), ("sub", T.sub, each(real, real)),
    ("mul", T.mul, each(real, real)), ("true_div", T.true_div, each(real, nonzero)),
    ("int_div", T.int_div, int_div_pair), ("mod", T.mod, mod_pair),
    ("pow", T.pow, each(positive, real)), ("maximum", T.maximum, distinct_pair),
    ("minimum", T.minimum, distinct_pair), ("arctan2", T.arctan2, each(nonzero, nonzero)),
    ("logaddexp", T.logaddexp, each(real, real)),
    ("add3", lambda a, b, c: T.add(a, b, c), each(real, real, real)),
    ("mul3", lambda a, b, c: T.mul(a, b, c), each(real, real, real)),
    ("pow_operator", lambda a, b: a ** b, each(positive, real)),
    ("rpow_constant", lambda a: 2.5 ** a, one(real)),
    ("pow_constant", lambda a: a ** 3, one(real)),
    ("div_operator", lambda a, b: a / b, each(real, nonzero)),
    ("rdiv_constant", lambda a: 1.5 / a, one(nonzero)),
]

TERNARY = [
    ("switch", lambda c, a, b: T.switch(T.gt(c, 0), a, b), each(nonzero, real, real)),
    ("where", lambda c, a, b: T.where(c > 0, a * b, a - b), each(nonzero, real, real)),
    ("clip_inside_and_out", lambda x: T.clip(x, -0.5, 0.7), lambda rng: [
        np.where(np.abs(real(rng) - 0.1) < 0.3, 1.5, real(rng))]),
    ("clip_symbolic_bounds", lambda x, lo, hi: T.clip(x, lo, hi), lambda rng: [
        real(rng), np.full(SHAPE, -0.5) + rng.uniform(-0.05, 0.05, SHAPE),
        np.full(SHAPE, 0.5) + rng.uniform(-0.05, 0.05, SHAPE)]),
]

BROADCAST = [
    ("row_plus_matrix", lambda r, m: T.addbroadcast(r, 0) + m,
     lambda rng: [real(rng, (1, 4)), real(rng)]),
    ("vector_times_matrix", lambda v, m: v * m, lambda rng: [real(rng, (4,)), real(rng)]),
    ("col_div_matrix", lambda c, m: m / T.addbroadcast(c, 1),
     lambda rng: [nonzero(rng, (3, 1)), real(rng)]),
    ("scalar_times_matrix", lambda s, m: s * m, lambda rng: [np.array(1.3), real(rng)]),
    ("scalar_pow_matrix", lambda s, m: s ** m, lambda rng: [np.array(1.7), real(rng)]),
    ("dimshuffle_outer", lambda a, b: a.dimshuffle(0, "x") * b.dimshuffle("x", 0),
     each(lambda r: real(r, (3,)), lambda r: real(r, (4,)))),
    ("row_and_col_maximum", lambda r, c: T.maximum(T.addbroadcast(r, 0), T.addbroadcast(c, 1)),
     lambda rng: [rng.uniform(-2, -1, (1, 4)), rng.uniform(1, 2, (3, 1))]),
    ("broadcast_both_length1", lambda a, b: T.addbroadcast(a, 0, 1) * T.addbroadcast(b, 1),
     lambda rng: [real(rng, (1, 1)), real(rng, (3, 1))]),
    ("switch_broadcast_cond", lambda c, a, b: T.switch(T.addbroadcast(c, 0) > 0, a, b),
     lambda rng: [nonzero(rng, (1, 4)), real(rng), real(rng)]),
]

ELEMWISE = (
    [(n, f, one(d)) for n, f, d in UNARY] + BINARY + TERNARY + BROADCAST
)


@pytest.mark.parametrize("name,fn,draw", ELEMWISE, ids=[c[0] for c in ELEMWISE])
def test_elemwise_grad_matches_finite_differences(name, fn, draw):
    verify_grad(fn, draw(np.random.default_rng(1)), rng=np.random.default_rng(2))


@pytest.mark.parametrize("name,fn,draw", ELEMWISE, ids=[c[0] for c in ELEMWISE])
def test_elemwise_rop_matches_finite_differences(name, fn, draw):
    verify_rop(fn, draw(np.random.default_rng(1)), rng=np.random.default_rng(3))


def test_maximum_of_a_variable_with_itself_has_derivative_one():
    x = T.dvector("x")
    for op in (T.maximum, T.minimum):
        g = sg.grad(op(x, x).sum(), x)
        np.testing.assert_allclose(g.eval({x: np.array([-1.0, 0.0, 2.0])}), [1.0, 1.0, 1.0])
        t = sg.gradient.Rop(op(x, x), x, T.ones_like(x))
        np.testing.assert_allclose(t.eval({x: np.array([-1.0, 0.0, 2.0])}), [1.0, 1.0, 1.0])


def test_maximum_ties_split_the_gradient_between_inputs():
    x, y = T.dvector("x"), T.dvector("y")
    gx, gy = sg.grad(T.maximum(x, y).sum(), [x, y])
    f = sg.function([x, y], [gx, gy])
    a, b = f(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 4.0]))
    np.testing.assert_allclose(a, [0.5, 1.0, 0.0])
    np.testing.assert_allclose(b, [0.5, 0.0, 1.0])


def test_cast_gradient_is_cast_back_to_the_input_dtype():
    x = T.dmatrix("x")
    y = T.cast(x, "float32")
    g = sg.grad((y * y).sum(), x)
    assert g.dtype == "float64"
    xv = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(g.eval({x: xv}), 2 * xv)
    verify_grad(lambda a: T.cast(a, "float64") ** 2, [np.float32([[0.5, -1.5], [2.0, 1.0]])])
    verify_rop(lambda a: T.cast(a, "float64") ** 2, [np.float32([[0.5, -1.5], [2.0, 1.0]])])


def test_cast_to_integer_has_zero_gradient():
    x = T.dvector("x")
    g = sg.grad(T.cast(x, "int64").sum() * 1.0 + x.sum(), x)
    np.testing.assert_allclose(g.eval({x: np.array([0.5, 1.5])}), [1.0, 1.0])


MULTI_INPUT = [c for c in BINARY + TERNARY + BROADCAST if len(c[2](np.random.default_rng(0))) > 1]


@pytest.mark.parametrize("name,fn,draw", MULTI_INPUT, ids=[c[0] for c in MULTI_INPUT])
def test_elemwise_grad_and_rop_with_respect_to_one_input_of_several(name, fn, draw):
    # The other inputs are constants: L_op must not need their gradients, and R_op gets
    # None for their tangents (a row's tangent alone must still take the output's shape).
    points = draw(np.random.default_rng(1))
    for k in range(len(points)):
        def partial(x, k=k):
            args = [T.constant(p) for p in points]
            args[k] = x
            return fn(*args)

        verify_grad(partial, [points[k]], rng=np.random.default_rng(2), n_tests=1)
        verify_rop(partial, [points[k]], rng=np.random.default_rng(3))


# ---- DimShuffle ------------------------------------------------------------------------------

SHUFFLES = [
    ("transpose", lambda x: x.T, one(real)),
    ("transpose_3d", lambda x: x.dimshuffle(2, 0, 1), one(lambda r: real(r, (2, 3, 4)))),
    ("insert_axes", lambda x: x.dimshuffle("x", 1, "x", 0), one(real)),
    ("drop_axis", lambda x: T.addbroadcast(x, 1).dimshuffle(0), one(lambda r: real(r, (3, 1)))),
    ("drop_and_insert", lambda x: T.addbroadcast(x, 0).dimshuffle(1, "x"), one(lambda r: real(r, (1, 4)))),
    ("squeeze", lambda x: T.squeeze(T.addbroadcast(x, 0)), one(lambda r: real(r, (1, 4)))),
    ("expand_dims", lambda x: T.expand_dims(x, 1) * 2.0, one(real)),
]


@pytest.mark.parametrize("name,fn,draw", SHUFFLES, ids=[c[0] for c in SHUFFLES])
def test_dimshuffle_grad_and_rop(name, fn, draw):
    points = draw(np.random.default_rng(4))
    verify_grad(fn, points, rng=np.random.default_rng(5))
    verify_rop(fn, points, rng=np.random.default_rng(6))


# ---- reductions ------------------------------------------------------------------------------

def distinct(rng, shape=SHAPE):
    # A shuffled grid: no ties, and every gap is larger than the finite-difference step.
    return rng.permutation(np.linspace(-2.0, 2.0, int(np.prod(shape)))).reshape(shape)


REDUCTIONS = [
    ("sum_all", lambda x: T.sum(x), real),
    ("sum_axis0", lambda x: T.sum(x, axis=0), real),
    ("sum_axis1_keepdims", lambda x: T.sum(x, axis=1, keepdims=True), real),
    ("sum_negative_axis", lambda x: x.sum(axis=-1), real),
    ("sum_3d_two_axes", lambda x: T.sum(x, axis=(0, 2)), lambda r: real(r, (2, 3, 4))),
    ("prod_all", lambda x: T.prod(x), nonzero),
    ("prod_axis1", lambda x: T.prod(x, axis=1), nonzero),
    ("prod_axis0_keepdims", lambda x: T.prod(x, axis=0, keepdims=True), nonzero),
    ("max_all", lambda x: T.max(x), distinct),
    ("max_axis0", lambda x: T.max(x, axis=0), distinct),
    ("min_axis1", lambda x: T.min(x, axis=1), distinct),
    ("min_keepdims", lambda x: T.min(x, axis=0, keepdims=True), distinct),
    ("mean_all", lambda x: T.mean(x), real),
    ("mean_axis1", lambda x: T.mean(x, axis=1), real),
    ("var_all", lambda x: T.var(x), real),
    ("var_axis0", lambda x: T.var(x, axis=0), real),
    ("var_ddof1", lambda x: T.var(x, axis=1, ddof=1), real),
    ("std_axis1", lambda x: T.std(x, axis=1), real),
    ("std_corrected", lambda x: T.std(x, corrected=True), real),
    ("logsumexp_all", lambda x: T.logsumexp(x), real),
    ("logsumexp_axis1", lambda x: T.logsumexp(x, axis=1), real),
    ("logsumexp_keepdims", lambda x: T.logsumexp(x, axis=0, keepdims=True), real),
    ("cumsum_axis0", lambda x: T.cumsum(x, axis=0), real),
    ("cumsum_axis1", lambda x: T.cumsum(x, axis=1), real),
    ("cumsum_flat", lambda x: T.cumsum(x), real),
    ("cumprod_axis1", lambda x: T.cumprod(x, axis=1), nonzero),
    ("cumprod_flat", lambda x: T.cumprod(x), nonzero),
]


@pytest.mark.parametrize("name,fn,domain", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
def test_reduction_grad_matches_finite_differences(name, fn, domain):
    verify_grad(fn, [domain(np.random.default_rng(7))], rng=np.random.default_rng(8))


@pytest.mark.parametrize("name,fn,domain", REDUCTIONS, ids=[c[0] for c in REDUCTIONS])
def test_reduction_rop_matches_finite_differences(name, fn, domain):
    verify_rop(fn, [domain(np.random.default_rng(7))], rng=np.random.default_rng(9))


def test_rop_is_built_forward_without_seeding_a_backward_pass():
    from symgraph.graph.traversal import toposort
    from symgraph.tensor.basic import Alloc

    x, v = T.dmatrix("x"), T.dmatrix("v")
    t = sg.gradient.Rop(T.exp(x), x, v)
    assert str(t.owner.op) == "mul" and set(t.owner.inputs) == {v, T.exp(x)}
    for fn in (T.sum, T.max, T.prod, lambda a: T.exp(a).sum(axis=0)):
        t = sg.gradient.Rop(fn(x), x, v)
        # A backward pass would start from ones_like(output), an Alloc.
        assert not [n for n in toposort([t]) if isinstance(n.op, Alloc)], fn
    assert sg.gradient.Rop(T.sum(x, axis=1), x, v).owner.inputs == [v]


def test_max_and_min_with_ties_share_the_gradient():
    x = T.dmatrix("x")
    xv = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    for fn, expected in ((T.max, [[0, .5, .5], [1 / 3] * 3]), (T.min, [[1, 0, 0], [1 / 3] * 3])):
        g = sg.grad(fn(x, axis=1).sum(), x)
        np.testing.assert_allclose(g.eval({x: xv}), expected)
        # Forward mode agrees with reverse mode: the tangent is the mean over the ties.
        v = np.array([[1.0, 2.0, 4.0], [3.0, 6.0, 9.0]])
        t = sg.gradient.Rop(fn(x, axis=1), x, T.constant(v))
        np.testing.assert_allclose(t.eval({x: xv}), (np.array(expected) * v).sum(1))


def _products_of_others(xv, axis):
    out = np.empty_like(xv)
    moved = np.moveaxis(xv, axis, -1)
    res = np.moveaxis(out, axis, -1)
    for idx in np.ndindex(moved.shape[:-1]):
        row = moved[idx]
        for i in range(row.size):
            res[idx + (i,)] = np.prod(np.delete(row, i))
    return out


@pytest.mark.parametrize("zeros", [0, 1, 2])
def test_prod_gradient_with_zero_entries_is_the_product_of_the_others(zeros):
    rng = np.random.default_rng(10 + zeros)
    xv = nonzero(rng, (3, 5))
    for r in range(3):
        xv[r, rng.choice(5, size=zeros, replace=False)] = 0.0
    x = T.dmatrix("x")
    for axis in (1, None):
        g = sg.grad(T.prod(x, axis=axis).sum(), x).eval({x: xv})
        flat = xv.reshape(1, -1)
        expected = (_products_of_others(xv, 1) if axis == 1
                    else _products_of_others(flat, 1).reshape(xv.shape))
        np.testing.assert_allclose(g, expected, atol=1e-12)
    v = rng.standard_normal(xv.shape)
    t = sg.gradient.Rop(T.prod(x, axis=1), x, T.constant(v)).eval({x: xv})
    np.testing.assert_allclose(t, (_products_of_others(xv, 1) * v).sum(1), atol=1e-12)


def test_logsumexp_of_large_values_has_finite_value_gradient_and_rop():
    x = T.dvector("x")
    xv = np.array([1000.0, 999.0, 1000.5])
    y = T.logsumexp(x)
    g = sg.grad(y, x)
    t = sg.gradient.Rop(y, x, T.ones_like(x))
    val, gv, tv = sg.function([x], [y, g, t])(xv)
    soft = np.exp(xv - xv.max()) / np.exp(xv - xv.max()).sum()
    np.testing.assert_allclose(val, xv.max() + np.log(np.exp(xv - xv.max()).sum()))
    np.testing.assert_allclose(gv, soft)
    np.testing.assert_allclose(tv, 1.0)
    verify_grad(T.logsumexp, [xv], eps=1e-6)


def test_all_and_any_have_zero_gradient_and_no_tangent():
    x = T.dvector("x")
    g = sg.grad(T.cast(T.any(x > 0), "float64") + x.sum(), x)
    np.testing.assert_allclose(g.eval({x: np.array([1.0, -1.0])}), [1.0, 1.0])


def test_argmax_is_not_differentiable_but_does_not_break_grad():
    x = T.dvector("x")
    cost = T.cast(T.argmax(x), "float64") + x.sum()
    g = sg.grad(cost, x)
    np.testing.assert_allclose(g.eval({x: np.array([1.0, 3.0, 2.0])}), [1.0, 1.0, 1.0])


# ---- shape and construction ops ----------------------------------------------------------------

SHAPE_OPS = [
    ("reshape_constant", lambda x: x.reshape((4, 3)), one(real)),
    ("reshape_minus_one", lambda x: T.reshape(x, (2, -1)) * 1.5, one(real)),
    ("reshape_symbolic", lambda x: x.reshape((T.shape_i(x, 1), T.shape_i(x, 0))), one(real)),
    ("flatten", lambda x: T.flatten(x), one(lambda r: real(r, (2, 3, 2)))),
    ("flatten_ndim2", lambda x: x.flatten(2), one(lambda r: real(r, (2, 3, 2)))),
    ("specify_shape", lambda x: T.specify_shape(x, (3, None)) ** 2, one(real)),
    ("alloc_scalar", lambda s: T.alloc(s, 3, 2), one(lambda r: np.array(0.7))),
    ("alloc_vector", lambda v: T.alloc(v, 3, 4), one(lambda r: real(r, (4,)))),
    ("alloc_row", lambda v: T.alloc(T.addbroadcast(v, 0), 3, 4), one(lambda r: real(r, (1, 4)))),
    ("alloc_symbolic_shape", lambda v, m: T.alloc(v, T.shape_i(m, 0), 4) * m,
     each(lambda r: real(r, (4,)), real)),
    ("make_vector", lambda a, b: T.make_vector(a, b * a, T.exp(b)),
     each(lambda r: np.array(0.3), lambda r: np.array(-1.1))),
    ("stack_scalars", lambda a, b: T.stack([a, b, a * b]),
     each(lambda r: np.array(0.3), lambda r: np.array(-1.1))),
    ("zeros_like_plus", lambda x: T.zeros_like(x) + x * 2, one(real)),
    ("ones_like_times", lambda x: T.ones_like(x) * x, one(real)),
]


def test_alloc_refuses_to_broadcast_an_axis_not_declared_broadcastable():
    # Its L_op sums only over static length-1 axes, so a runtime broadcast would give
    # the value a gradient of the wrong shape.
    v = T.dmatrix("v")
    with pytest.raises(ValueError, match="broadcastable"):
        T.alloc(v, 3, 4).eval({v: np.ones((1, 4))})
    r = T.addbroadcast(v, 0)
    g = sg.grad((T.alloc(r, 3, 4) * np.arange(12.0).reshape(3, 4)).sum(), v)
    np.testing.assert_allclose(g.eval({v: np.ones((1, 4))}), [[12.0, 15.0, 18.0, 21.0]])


@pytest.mark.parametrize("name,fn,draw", SHAPE_OPS, ids=[c[0] for c in SHAPE_OPS])
def test_shape_op_grad_and_rop(name, fn, draw):
    points = draw(np.random.default_rng(12))
    verify_grad(fn, points, rng=np.random.default_rng(13))
    verify_rop(fn, points, rng=np.random.default_rng(14))


def test_stack_of_matrices_grad_and_rop():
    points = [real(np.random.default_rng(15)), real(np.random.default_rng(16))]
    for axis in (0, 1, 2):
        def stacked(a, b, axis=axis):
            return T.stack([a, b * a], axis=axis)

        verify_grad(stacked, points)
        verify_rop(stacked, points)


# ---- gradient identities -----------------------------------------------------------------------

def test_gradient_identities_are_identities_forward():
    x = T.dvector("x")
    xv = np.array([1.0, -2.0, 3.0])
    for op in (zero_grad, disconnected_grad, lambda v: grad_clip(v, -1, 1), lambda v: grad_scale(v, 3)):
        np.testing.assert_allclose(op(x).eval({x: xv}), xv)


def test_zero_grad_and_disconnected_grad_stop_the_gradient():
    x = T.dvector("x")
    xv = np.array([1.0, -2.0, 3.0])
    g = sg.grad((zero_grad(x) * x).sum(), x)
    np.testing.assert_allclose(g.eval({x: xv}), xv)
    g = sg.grad((disconnected_grad(x) * x).sum(), x)
    np.testing.assert_allclose(g.eval({x: xv}), xv)
    g = sg.grad(zero_grad(x).sum(), x)
    np.testing.assert_allclose(g.eval({x: xv}), 0.0)
    with pytest.raises(DisconnectedInputError):
        sg.grad(disconnected_grad(x).sum(), x)
    # Forward mode: the tangent through either is zero.
    for op in (zero_grad, disconnected_grad):
        t = sg.gradient.Rop(op(x) * x, x, T.ones_like(x))
        np.testing.assert_allclose(t.eval({x: xv}), xv)


def test_grad_clip_clips_and_grad_scale_scales():
    x = T.dvector("x")
    xv = np.array([1.0, -2.0, 0.25])
    g = sg.grad((grad_clip(x, -1.0, 2.0) ** 2).sum(), x)
    np.testing.assert_allclose(g.eval({x: xv}), np.clip(2 * xv, -1.0, 2.0))
    g = sg.grad((grad_scale(x, -0.5) ** 2).sum(), x)
    np.testing.assert_allclose(g.eval({x: xv}), -0.5 * 2 * xv)
    # Forward mode is that of the identity.
    verify_rop(lambda v: grad_clip(v, -1.0, 1.0) ** 2, [xv])
    verify_rop(lambda v: grad_scale(v, 4.0) ** 2, [xv])


def test_grad_clip_refuses_inverted_bounds():
    with pytest.raises(sg.SymgraphError, match="lower bound"):
        grad_clip(T.dvector(), 1.0, -1.0)


# ---- float32 ----------------------------------------------------------------------------------

FLOAT32_CASES = [
    ("tanh_sigmoid", lambda x: T.tanh(x) * T.sigmoid(x) + 0.5 * x, real),
    ("softplus_sqr", lambda x: T.softplus(x) / (1.0 + T.sqr(x)), real),
    ("exp_log", lambda x: T.log(T.exp(x) + 2.0) ** 1.5, real),
    ("maximum_const", lambda x: T.maximum(x, 0.1) * T.minimum(x, 0.2), distinct),
    ("clip_switch", lambda x: T.switch(x > 0, T.clip(x, 0.0, 1.0), x ** 2), nonzero),
    ("reductions", lambda x: T.sum(x, axis=0) * T.max(x, axis=0) + T.prod(x, axis=0)
     + T.mean(x) + T.std(x, axis=0) + T.logsumexp(x, axis=0), distinct),
    ("erf_arctan2", lambda x: T.erf(x) + T.arctan2(x, 2.0) + T.polygamma(0, T.abs(x) + 1), nonzero),
    ("cumsum_cumprod", lambda x: T.cumsum(x, axis=0) * T.cumprod(x, axis=1), nonzero),
    ("reshape_dimshuffle", lambda x: T.flatten(x.T) * T.exp2(T.flatten(x)), real),
]


@pytest.mark.parametrize("name,fn,domain", FLOAT32_CASES, ids=[c[0] for c in FLOAT32_CASES])
def test_float32_graph_gives_float32_gradients_and_tangents(name, fn, domain):
    x = T.fmatrix("x")
    y = fn(x)
    assert y.dtype == "float32", y.type
    g = sg.grad(y.sum(), x)
    t = sg.gradient.Rop(y, x, T.ones_like(x))
    assert g.dtype == "float32" and t.dtype == "float32"
    # The gradient graph itself stays in float32 (no float64 intermediate, then a cast back).
    from symgraph.graph.traversal import ancestors

    drift = [v for v in ancestors([g, t], blockers=[x]) if getattr(v.type, "dtype", None) == "float64"]
    assert not drift, f"float64 intermediates in a float32 gradient: {drift[:3]}"
    xv = domain(np.random.default_rng(17)).astype("float32")
    gv, tv = sg.function([x], [g, t])(xv)
    assert gv.dtype == np.float32 and tv.dtype == np.float32
    verify_grad(fn, [xv], rng=np.random.default_rng(18))


ALL_CASES = ELEMWISE + SHUFFLES + SHAPE_OPS + [(n, f, one(d)) for n, f, d in REDUCTIONS]


@pytest.mark.parametrize("name,fn,draw", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_float32_inputs_give_float32_gradients_and_tangents_with_no_float64_inside(name, fn, draw):
    from symgraph.graph.traversal import ancestors

    points = draw(np.random.default_rng(0))
    xs = [T.TensorType("float32", (None,) * np.ndim(p))(f"x{k}") for k, p in enumerate(points)]
    y = fn(*xs)
    assert y.dtype == "float32"
    gs = sg.grad(y.sum(), xs)
    t = sg.gradient.Rop(y, xs, [T.ones_like(x) for x in xs])
    assert [g.dtype for g in gs] == ["float32"] * len(xs) and t.dtype == "float32"
    drift = [v for v in ancestors(gs + [t], blockers=xs) if getattr(v.type, "dtype", None) == "float64"]
    assert not drift, f"float64 intermediates: {[str(v.owner) for v in drift[:3]]}"
