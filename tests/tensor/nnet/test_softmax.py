"""softmax / log_softmax and their gradient Ops: values, stability, derivatives of every order, shapes."""

import numpy as np
import pytest
import scipy.special

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GraphTypeError, InputShapeError, SymgraphError
from symgraph.gradient import verify_grad, verify_rop
from symgraph.tensor.nnet import LogSoftmax, LogSoftmaxGrad, Softmax, SoftmaxGrad

from .helpers import assert_shape_inferred, rand, run, var

N = T.nnet
FUNCS = [(N.softmax, scipy.special.softmax), (N.log_softmax, scipy.special.log_softmax)]


@pytest.mark.parametrize("fn,ref", FUNCS)
@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_scipy_along_any_axis_and_keeps_dtype(fn, ref, axis, dtype):
    x = rand(np.random.default_rng(0), (3, 4, 5), dtype) * 3
    got = run(lambda v: fn(v, axis=axis), x)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, ref(x.astype("float64"), axis=axis), rtol=1e-5 if dtype == "float32" else 1e-12,
                               atol=1e-6)


@pytest.mark.parametrize("fn,ref", FUNCS)
def test_huge_logits_give_finite_values_and_gradients(fn, ref):
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [5.0, 5.0, 5.0]])
    xs = var("float64", x.shape)
    weights = np.array([1.0, 2.0, 3.0])
    out = fn(xs)
    f = sg.function([xs], [out, sg.grad((out * weights).sum(), xs)], mode="FAST_COMPILE")
    value, grad = f(x)
    np.testing.assert_allclose(value, ref(x, axis=-1))
    assert np.isfinite(grad).all()


def test_integer_input_is_computed_in_float64():
    x = np.array([[1, 2, 3]], dtype="int32")
    got = run(N.softmax, x)
    assert got.dtype == "float64"
    np.testing.assert_allclose(got, scipy.special.softmax(x.astype(float), axis=-1))


@pytest.mark.parametrize("fn", [N.softmax, N.log_softmax])
@pytest.mark.parametrize("axis", [-1, 0])
def test_gradient_and_rop_match_finite_differences(fn, axis):
    x = rand(np.random.default_rng(1), (3, 4))
    verify_grad(lambda v: fn(v, axis=axis), [x])
    verify_rop(lambda v: fn(v, axis=axis), [x])


@pytest.mark.parametrize("fn", [N.softmax, N.log_softmax])
@pytest.mark.parametrize("axis", [-1, 0])
def test_gradient_ops_are_differentiable_again(fn, axis):
    # The gradient of a weighted cost goes through SoftmaxGrad / LogSoftmaxGrad, whose own
    # L_op and R_op are checked here.
    x = rand(np.random.default_rng(2), (3, 4))
    w = rand(np.random.default_rng(3), (3, 4))

    def grad_of(v):
        return sg.grad((fn(v, axis=axis) ** 2 * w).sum(), v)

    verify_grad(grad_of, [x])
    verify_rop(grad_of, [x])


@pytest.mark.parametrize("op_type", [SoftmaxGrad, LogSoftmaxGrad])
def test_gradient_op_inputs_are_checked_by_finite_differences(op_type):
    rng = np.random.default_rng(4)
    dy = rand(rng, (2, 5))
    out = scipy.special.softmax(rand(rng, (2, 5)), axis=-1)
    if op_type is LogSoftmaxGrad:
        out = np.log(out)
    verify_grad(lambda a, b: op_type(1)(a, b), [dy, out])
    verify_rop(lambda a, b: op_type(1)(a, b), [dy, out])


def test_softmax_grad_perform_matches_the_jacobian():
    rng = np.random.default_rng(5)
    x, dy = rand(rng, (5,)), rand(rng, (5,))
    s = scipy.special.softmax(x)
    jac = np.diag(s) - np.outer(s, s)
    got = run(lambda a, b: SoftmaxGrad(0)(a, N.softmax(b)), dy, x)
    np.testing.assert_allclose(got, jac @ dy)


@pytest.mark.parametrize("op", [N.softmax, N.log_softmax])
def test_shape_is_inferred_without_computing(op):
    x = rand(np.random.default_rng(6), (2, 3, 4))
    assert_shape_inferred(lambda v: op(v, axis=1), x, op_type=(Softmax, LogSoftmax)[op is N.log_softmax])
    assert_shape_inferred(lambda v: sg.grad(op(v, axis=1).sum(), v), x)


def test_axis_out_of_range_is_refused_naming_the_axis_and_type():
    x = T.dmatrix("x")
    with pytest.raises(GraphTypeError, match=r"softmax: axis 2 is out of range for x of type float64 matrix"):
        N.softmax(x, axis=2)
    with pytest.raises(GraphTypeError, match="log_softmax: axis -3"):
        N.log_softmax(x, axis=-3)


def test_scalar_input_is_refused():
    with pytest.raises(GraphTypeError, match="out of range"):
        N.softmax(T.dscalar("s"))


def test_gradient_op_refuses_mismatched_shapes_at_run_time():
    dy, sm = T.dmatrix("dy"), T.dmatrix("sm")
    f = sg.function([dy, sm], SoftmaxGrad(1)(dy, sm))
    with pytest.raises(InputShapeError, match=r"shape \(2, 3\) but the forward output has shape \(2, 4\)") as e:
        f(np.ones((2, 3)), np.ones((2, 4)))
    assert isinstance(e.value, SymgraphError) and isinstance(e.value, ValueError)


def test_ops_with_equal_axes_are_equal_and_merge():
    x = T.dmatrix("x")
    assert Softmax(1) == Softmax(1) and Softmax(0) != Softmax(1)
    assert N.softmax(x) is N.softmax(x, axis=1)
