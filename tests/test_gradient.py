"""The grad API: arguments, disconnected and integer inputs, constants, known
gradients, shared variables and givens, undefined gradients, Rop/Lop and jacobian."""

import warnings

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import DisconnectedInputError, GradientError, NullGradientError
from symgraph.gradient import (
    DisconnectedType,
    GradientCheckError,
    Lop,
    NullType,
    Rop,
    grad_not_implemented,
    grad_undefined,
    jacobian,
    verify_grad,
    verify_rop,
)
from symgraph.graph.basic import Apply
from symgraph.graph.op import Op


def f(inputs, outputs):
    return sg.function(inputs, outputs, on_unused_input="ignore")


XV = np.array([0.5, -1.0, 2.0])


# ---- the cost and wrt ----------------------------------------------------------------------

def test_non_scalar_cost_is_refused_naming_the_cost_and_the_user_line():
    x = T.dvector("x")
    y = T.exp(x)
    y.name = "exp_of_x"
    with pytest.raises(GradientError) as err:
        sg.grad(y, x)
    msg = str(err.value)
    assert "exp_of_x" in msg and "scalar" in msg
    assert "test_gradient.py" in msg and "y = T.exp(x)" in msg


def test_disconnected_integer_input_is_still_disconnected():
    x, i = T.dvector("x"), T.lscalar("i")
    with pytest.raises(DisconnectedInputError, match="i"):
        sg.grad(x.sum(), [x, i])
    gi = sg.grad(x.sum(), i, disconnected_inputs="ignore")
    assert gi.dtype == sg.config.floatX and gi.eval({i: 3}) == 0.0


def test_integer_cost_is_refused():
    i = T.lvector("i")
    with pytest.raises(GradientError, match="integer"):
        sg.grad(i.sum(), i)


def test_wrt_a_single_variable_gives_a_variable_and_a_list_gives_a_list():
    x, y = T.dvector("x"), T.dvector("y")
    cost = (x * y).sum() + (x ** 2).sum()
    g = sg.grad(cost, x)
    assert isinstance(g, sg.graph.Variable)
    gs = sg.grad(cost, [x, y])
    assert isinstance(gs, list) and len(gs) == 2
    yv = np.array([1.0, 2.0, 3.0])
    gx, gy = f([x, y], gs)(XV, yv)
    np.testing.assert_allclose(gx, yv + 2 * XV)
    np.testing.assert_allclose(gy, XV)
    np.testing.assert_allclose(f([x, y], g)(XV, yv), yv + 2 * XV)
    assert len(sg.grad(cost, (x,))) == 1


def test_wrt_must_be_symbolic():
    with pytest.raises(GradientError, match="wrt"):
        sg.grad(T.dscalar("c"), [np.ones(3)])


def test_wrt_an_intermediate_variable():
    x = T.dvector("x")
    h = T.tanh(x)
    cost = (h ** 2).sum()
    gh, gx = sg.grad(cost, [h, x])
    ghv, gxv = f([x], [gh, gx])(XV)
    np.testing.assert_allclose(ghv, 2 * np.tanh(XV))
    np.testing.assert_allclose(gxv, 2 * np.tanh(XV) * (1 - np.tanh(XV) ** 2))


def test_gradient_of_a_variable_used_twice_is_accumulated():
    x = T.dscalar("x")
    cost = x * x + T.sin(x) * x
    g = sg.grad(cost, x)
    xv = 0.7
    np.testing.assert_allclose(g.eval({x: xv}), 2 * xv + np.cos(xv) * xv + np.sin(xv))


def test_gradient_has_the_dtype_and_static_shape_of_wrt():
    x = T.tensor(dtype="float32", shape=(1, None), name="x")
    cost = (T.exp(x) * T.ones((3, 4), dtype="float32")).sum()
    g = sg.grad(cost, x)
    assert g.dtype == "float32" and g.type.shape[0] == 1
    xv = np.float32([[0.1, 0.2, 0.3, 0.4]])
    np.testing.assert_allclose(g.eval({x: xv}), 3 * np.exp(xv), rtol=1e-6)


# ---- integer inputs and outputs -------------------------------------------------------------------

def test_integer_and_bool_inputs_get_zero_float_gradients():
    x, i, b = T.dvector("x"), T.lvector("i"), T.tensor(dtype="bool", shape=(None,), name="b")
    cost = (x * i).sum() + T.switch(b, x, 2 * x).sum()
    gx, gi, gb = sg.grad(cost, [x, i, b])
    assert gi.dtype == sg.config.floatX and gb.dtype == sg.config.floatX
    iv, bv = np.array([1, 2, 3]), np.array([True, False, True])
    gxv, giv, gbv = f([x, i, b], [gx, gi, gb])(XV, iv, bv)
    np.testing.assert_allclose(gxv, iv + np.where(bv, 1.0, 2.0))
    np.testing.assert_array_equal(giv, 0.0)
    np.testing.assert_array_equal(gbv, 0.0)
    assert giv.shape == (3,)


def test_integer_intermediates_do_not_break_grad():
    x = T.dvector("x")
    n = T.shape_i(x, 0)
    k = T.cast(T.argmax(x), "int64") + n * 2
    idx = T.cast(T.floor(x * 3), "int32")
    cost = (x * T.cast(k, "float64")).sum() + (x * idx).sum() + T.cast((x > 0).sum(), "float64")
    g = sg.grad(cost, x)
    xv = np.array([0.5, -1.0, 2.0])
    k_v = np.argmax(xv) + 2 * xv.size
    np.testing.assert_allclose(g.eval({x: xv}), k_v + np.floor(3 * xv))


def test_grad_through_an_integer_output_of_int_div_and_mod_is_zero():
    i = T.lvector("i")
    x = T.dvector("x")
    cost = (x * T.cast(i // 2 + i % 3, "float64")).sum()
    gx, gi = sg.grad(cost, [x, i])
    iv = np.array([1, 4, 7])
    np.testing.assert_allclose(f([x, i], gx)(XV, iv), iv // 2 + iv % 3)
    np.testing.assert_array_equal(f([x, i], gi)(XV, iv), 0.0)


# ---- disconnected inputs --------------------------------------------------------------------------

def test_disconnected_input_raises_naming_the_input():
    x, y = T.dvector("x"), T.dvector("unused_y")
    with pytest.raises(DisconnectedInputError) as err:
        sg.grad(x.sum(), [x, y])
    assert "unused_y" in str(err.value) and "test_gradient.py" in str(err.value)


def test_disconnected_input_warns_and_gives_zeros():
    x, y = T.dvector("x"), T.dmatrix("y")
    with pytest.warns(UserWarning, match="y"):
        _, gy = sg.grad(x.sum(), [x, y], disconnected_inputs="warn")
    yv = np.ones((2, 3))
    np.testing.assert_array_equal(f([x, y], gy)(XV, yv), np.zeros((2, 3)))


@pytest.mark.parametrize("how", ["zero", "None", "disconnected"])
def test_disconnected_input_ignored_returns_what_return_disconnected_says(how):
    x, y = T.dvector("x"), T.dvector("y")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gx, gy = sg.grad(x.sum(), [x, y], disconnected_inputs="ignore", return_disconnected=how)
    if how == "zero":
        np.testing.assert_array_equal(f([x, y], gy)(XV, XV * 2), 0.0)
    elif how == "None":
        assert gy is None
    else:
        assert isinstance(gy.type, DisconnectedType)
    np.testing.assert_array_equal(f([x], gx)(XV), 1.0)


def test_bad_disconnected_options_are_refused():
    x = T.dvector("x")
    with pytest.raises(sg.SymgraphError, match="disconnected_inputs"):
        sg.grad(x.sum(), x, disconnected_inputs="maybe")
    with pytest.raises(sg.SymgraphError, match="return_disconnected"):
        sg.grad(x.sum(), x, return_disconnected="nothing")


def test_input_only_reached_through_shape_is_disconnected():
    x, y = T.dvector("x"), T.dvector("y")
    cost = (x * T.cast(T.shape_i(y, 0), "float64")).sum()
    with pytest.raises(DisconnectedInputError):
        sg.grad(cost, y)


# ---- consider_constant, known_grads -------------------------------------------------------------

def test_consider_constant_stops_the_gradient_at_a_variable():
    x = T.dvector("x")
    h = x ** 2
    cost = (h * x).sum()
    g = sg.grad(cost, x, consider_constant=[h])
    np.testing.assert_allclose(g.eval({x: XV}), XV ** 2)
    np.testing.assert_allclose(sg.grad(cost, x).eval({x: XV}), 3 * XV ** 2)


def test_consider_constant_op_is_an_identity_with_no_gradient():
    x = T.dvector("x")
    cost = (sg.gradient.consider_constant(x ** 2) * x).sum()
    np.testing.assert_allclose(sg.grad(cost, x).eval({x: XV}), XV ** 2)


def test_known_grads_seed_backprop_without_a_cost():
    x = T.dvector("x")
    h = T.tanh(x)
    gh = T.dvector("gh")
    g = sg.grad(None, x, known_grads={h: gh})
    ghv = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(f([x, gh], g)(XV, ghv), ghv * (1 - np.tanh(XV) ** 2))


def test_known_grads_add_to_the_cost_gradient():
    x = T.dvector("x")
    h = T.exp(x)
    g = sg.grad(h.sum(), x, known_grads={h: T.constant(np.array([1.0, 1.0, 1.0]))})
    np.testing.assert_allclose(g.eval({x: XV}), 2 * np.exp(XV))


def test_known_grads_on_wrt_itself_and_python_values():
    x = T.dvector("x")
    g = sg.grad(None, x, known_grads={x: [1.0, 2.0, 3.0]})
    np.testing.assert_allclose(g.eval(), [1.0, 2.0, 3.0])


def test_known_grads_of_the_wrong_shape_are_refused():
    x = T.dvector("x")
    with pytest.raises(GradientError, match="known gradient"):
        sg.grad(None, x, known_grads={T.exp(x): T.dmatrix("g")})


def test_known_grads_and_eval_points_take_the_static_shape_of_their_variable():
    c = T.dcol("c")
    y = c.dimshuffle(0) * 2.0
    g = sg.grad(None, c, known_grads={y: T.dvector("gy")})
    assert g.type.shape == (None, 1)
    v = T.dmatrix("v")
    t = Rop(y, c, v)
    assert t.type.shape == (None,)
    vv = np.array([[1.0], [2.0]])
    np.testing.assert_allclose(f([c, v], t)(vv, vv), [2.0, 4.0])


def test_no_cost_and_no_known_grads_is_refused():
    with pytest.raises(GradientError, match="known_grads"):
        sg.grad(None, T.dvector("x"))


# ---- shared variables and givens ------------------------------------------------------------------

def test_gradient_with_respect_to_a_shared_variable_trains_it():
    w = sg.shared(np.array([1.0, -2.0]), name="w")
    x = T.dmatrix("x")
    cost = ((T.sum(x * w, axis=1) - 1.0) ** 2).mean()
    g = sg.grad(cost, w)
    step = sg.function([x], cost, updates=[(w, w - 0.1 * g)])
    xv = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    expected = 2 * ((xv @ w.get_value() - 1.0)[:, None] * xv).mean(0)
    np.testing.assert_allclose(sg.function([x], g)(xv), expected)
    losses = [step(xv) for _ in range(50)]
    assert losses[-1] < 0.1 * losses[0]


def test_gradient_through_givens():
    x, z = T.dvector("x"), T.dvector("z")
    cost = (T.sin(x) * x).sum()
    g = sg.grad(cost, x)
    fn = sg.function([z], g, givens={x: z * 2.0})
    zv = np.array([0.1, 0.4])
    xv = 2 * zv
    np.testing.assert_allclose(fn(zv), np.cos(xv) * xv + np.sin(xv))


def test_gradient_through_givens_replacing_a_shared_variable():
    w = sg.shared(np.array([3.0, 4.0]), name="w")
    x = T.dvector("x")
    g = sg.grad((w * w * x).sum(), w)
    fn = sg.function([x], g, givens=[(w, x + 1.0)])
    np.testing.assert_allclose(fn(XV), 2 * (XV + 1.0) * XV)


# ---- undefined and unimplemented gradients ------------------------------------------------------

class NoGradOp(Op):
    """A test Op that computes x * 2 and keeps the default (not implemented) L_op."""

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        output_storage[0][0] = inputs[0] * 2

    def infer_shape(self, fgraph, node, input_shapes):
        return [input_shapes[0]]


class UndefinedGradOp(NoGradOp):
    def L_op(self, inputs, outputs, output_grads):
        return [grad_undefined(self, 0, inputs[0], "it is a step function")]


class WrongGradOp(NoGradOp):
    """x * 2 with a gradient and a tangent that are off by a factor."""

    def L_op(self, inputs, outputs, output_grads):
        return [output_grads[0] * 3.0]

    def R_op(self, inputs, eval_points):
        return [eval_points[0] * 1.5]


def test_verify_grad_and_verify_rop_catch_a_wrong_derivative():
    point = [np.array([0.5, -1.0, 2.0])]
    with pytest.raises(GradientCheckError, match="input 0"):
        verify_grad(lambda x: WrongGradOp()(x), point)
    with pytest.raises(GradientCheckError, match="R_op"):
        verify_rop(lambda x: WrongGradOp()(x), point)
    assert issubclass(GradientCheckError, AssertionError)


def test_wrong_gradient_shape_from_an_op_is_reported_naming_it():
    class BadShapeOp(NoGradOp):
        def L_op(self, inputs, outputs, output_grads):
            return [output_grads[0].dimshuffle("x", 0)]

    x = T.dvector("x")
    with pytest.raises(GradientError, match="BadShapeOp"):
        sg.grad(BadShapeOp()(x).sum(), x)


def test_wrong_tangent_type_from_an_op_is_reported_naming_it():
    class BadTangentOp(NoGradOp):
        def R_op(self, inputs, eval_points):
            return [eval_points[0].sum()]

    x = T.dvector("x")
    with pytest.raises(GradientError, match="BadTangentOp.R_op"):
        Rop(BadTangentOp()(x), x, T.ones_like(x))


def test_null_gradient_raises_naming_the_op_and_the_line():
    x = T.dvector("x")
    y = NoGradOp()(x)
    cost = (T.exp(y) + x).sum()
    with pytest.raises(NullGradientError) as err:
        sg.grad(cost, x)
    msg = str(err.value)
    assert "NoGradOp" in msg and "not implemented" in msg and "null_gradients='return'" in msg
    # The Op is user code here, so the innermost user frame is its make_node.
    assert "applied at" in msg and "test_gradient.py" in msg


def test_null_gradient_return_gives_a_nulltype_variable():
    x, z = T.dvector("x"), T.dvector("z")
    cost = (UndefinedGradOp()(x) * z).sum()
    gx, gz = sg.grad(cost, [x, z], null_gradients="return")
    assert isinstance(gx.type, NullType) and "step function" in gx.type.why
    np.testing.assert_allclose(f([x, z], gz)(XV, XV), 2 * XV)
    with pytest.raises(NullGradientError, match="undefined"):
        sg.grad(cost, x)


def test_null_gradient_of_an_unrelated_branch_does_not_spoil_others():
    x, z = T.dvector("x"), T.dvector("z")
    cost = NoGradOp()(x).sum() + (z ** 2).sum()
    np.testing.assert_allclose(sg.grad(cost, z).eval({z: XV}), 2 * XV)


def test_grad_not_implemented_and_undefined_describe_the_op():
    op = NoGradOp()
    v = grad_not_implemented(op, 0, T.dvector())
    assert "NoGradOp" in v.type.why and "not implemented" in v.type.why
    v = grad_undefined(op, 1, T.dvector(), "why not")
    assert "undefined" in v.type.why and "why not" in v.type.why


def test_rop_of_an_op_without_r_op_raises():
    x = T.dvector("x")
    with pytest.raises(GradientError, match="NoGradOp"):
        Rop(NoGradOp()(x), x, T.ones_like(x))


# ---- Lop, Rop ----------------------------------------------------------------------------------

def test_lop_is_a_vector_jacobian_product():
    x, v = T.dvector("x"), T.dvector("v")
    y = T.sin(x) * x
    vjp = Lop(y, x, v)
    vv = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(f([x, v], vjp)(XV, vv), vv * (np.cos(XV) * XV + np.sin(XV)))


def test_rop_is_a_jacobian_vector_product_for_several_inputs_and_outputs():
    x, y = T.dvector("x"), T.dvector("y")
    vx, vy = T.dvector("vx"), T.dvector("vy")
    out1, out2 = x * y, T.exp(x).sum()
    j1, j2 = Rop([out1, out2], [x, y], [vx, vy])
    yv, vxv, vyv = np.array([2.0, 3.0, 4.0]), np.array([1.0, 0.0, -1.0]), np.array([0.5, 0.5, 0.5])
    a, b = f([x, y, vx, vy], [j1, j2])(XV, yv, vxv, vyv)
    np.testing.assert_allclose(a, vxv * yv + XV * vyv)
    np.testing.assert_allclose(b, (np.exp(XV) * vxv).sum())


def test_rop_checks_its_arguments():
    x = T.dvector("x")
    with pytest.raises(GradientError, match="eval point"):
        Rop(x * 2, x, T.dmatrix())
    with pytest.raises(GradientError, match="eval point"):
        Rop(x * 2, T.specify_shape(x, (3,)), T.tensor(dtype="float64", shape=(4,)))
    with pytest.raises(GradientError, match="wrt"):
        Rop(x * 2, [x], [])
    with pytest.raises(DisconnectedInputError):
        Rop(T.dvector("other") * 2, x, T.ones_like(x))


def test_rop_of_a_broadcast_input_has_the_output_shape():
    r, m = T.drow("r"), T.dmatrix("m")
    t = Rop(r + m, r, T.ones_like(r))
    assert t.type.shape == (None, None)
    np.testing.assert_allclose(f([r, m], t)(np.ones((1, 3)), np.zeros((2, 3))), np.ones((2, 3)))


def test_rop_and_lop_agree_with_the_jacobian():
    rng = np.random.default_rng(0)
    x = T.dvector("x")
    y = T.tanh(x.dimshuffle(0, "x") * x.dimshuffle("x", 0)).sum(axis=1) * T.exp(x)
    u, v = T.dvector("u"), T.dvector("v")
    jv = Rop(y, x, v)
    ujt = Lop(y, x, u)
    xv, uv, vv = rng.standard_normal((3, 4))
    jvv, ujv = f([x, u, v], [jv, ujt])(xv, uv, vv)
    np.testing.assert_allclose(uv @ jvv, ujv @ vv, rtol=1e-10)


# ---- jacobian -----------------------------------------------------------------------------------

def test_jacobian_of_a_static_length_vector():
    x = T.dvector("x")
    xs = T.specify_shape(x, (3,))
    y = T.exp(xs) * xs.sum()
    jac = jacobian(y, x)
    xv = np.array([0.1, 0.2, 0.3])
    expected = np.diag(np.exp(xv) * xv.sum()) + np.exp(xv)[:, None]
    np.testing.assert_allclose(jac.eval({x: xv}), expected)
    j1, j2 = jacobian(y * 2, [x, xs])
    np.testing.assert_allclose(j1.eval({x: xv}), 2 * expected)
    np.testing.assert_allclose(j2.eval({x: xv}), 2 * expected)


def test_jacobian_of_a_scalar_is_its_gradient():
    x = T.dvector("x")
    np.testing.assert_allclose(jacobian((x ** 2).sum(), x).eval({x: XV}), 2 * XV)


def test_jacobian_of_a_symbolic_length_vector_is_one_scan_over_rows():
    from symgraph.scan import Scan

    x = T.dvector("x")
    y = T.exp(x) * x.sum()
    jac = jacobian(y, x)
    scans = [n for n in sg.graph.toposort([jac]) if isinstance(n.op, Scan)]
    assert len(scans) == 1
    xv = np.array([0.1, 0.2, 0.3, 0.4])
    expected = np.diag(np.exp(xv) * xv.sum()) + np.exp(xv)[:, None]
    np.testing.assert_allclose(jac.eval({x: xv}), expected)
    h = sg.gradient.hessian((x ** 3).sum() * x.sum(), x)
    xs = xv.sum()
    expected_h = np.diag(6 * xv * xs) + 3 * xv[:, None] ** 2 + 3 * xv[None, :] ** 2
    np.testing.assert_allclose(h.eval({x: xv}), expected_h)


def test_jacobian_of_a_matrix_is_refused():
    x = T.dmatrix("x")
    with pytest.raises(GradientError, match="vector"):
        jacobian(x * 2, x)
