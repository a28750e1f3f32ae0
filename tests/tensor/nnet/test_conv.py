"""conv2d and its gradient Ops against a direct NumPy loop; adjoints, derivatives, shapes, errors."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import (
    GraphShapeError,
    GraphTypeError,
    InputShapeError,
    OpArgumentError,
    SymgraphError,
)
from symgraph.gradient import verify_grad, verify_rop
from symgraph.tensor.nnet import Conv2d, Conv2dGradInputs, Conv2dGradWeights

from .helpers import assert_shape_inferred, rand, run

N = T.nnet


def conv_loop(x, w, border_mode="valid", subsample=(1, 1), filter_flip=True, filter_dilation=(1, 1),
              num_groups=1):
    """conv2d written as the definition: a sum over channels and filter taps for every output."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = subsample, filter_dilation
    if filter_flip:
        w = w[:, :, ::-1, ::-1]
    if border_mode == "valid":
        ph = pw = 0
    elif border_mode == "full":
        ph, pw = (kh - 1) * dh, (kw - 1) * dw
    elif border_mode == "half":
        ph, pw = ((kh - 1) * dh + 1) // 2, ((kw - 1) * dw + 1) // 2
    elif isinstance(border_mode, int):
        ph = pw = border_mode
    else:
        ph, pw = border_mode
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh = (h + 2 * ph - (kh - 1) * dh - 1) // sh + 1
    ow = (wd + 2 * pw - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, o, oh, ow))
    per_group = o // num_groups
    for b in range(n):
        for oc in range(o):
            first = (oc // per_group) * cg
            for i in range(oh):
                for j in range(ow):
                    total = 0.0
                    for ci in range(cg):
                        for a in range(kh):
                            for e in range(kw):
                                total += xp[b, first + ci, i * sh + a * dh, j * sw + e * dw] * w[oc, ci, a, e]
                    out[b, oc, i, j] = total
    return out


BORDER_MODES = ["valid", "full", "half", 1, (2, 0)]


@pytest.mark.parametrize("border_mode", BORDER_MODES, ids=str)
@pytest.mark.parametrize("subsample", [(1, 1), (2, 3)], ids=str)
@pytest.mark.parametrize("filter_dilation", [(1, 1), (2, 1)], ids=str)
@pytest.mark.parametrize("num_groups", [1, 2])
def test_conv2d_matches_the_loop_definition(border_mode, subsample, filter_dilation, num_groups):
    rng = np.random.default_rng(0)
    x, w = rand(rng, (2, 4, 7, 6)), rand(rng, (6, 4 // num_groups, 3, 2))
    for flip in (True, False):
        kw = {"border_mode": border_mode, "subsample": subsample, "filter_flip": flip,
                  "filter_dilation": filter_dilation, "num_groups": num_groups}
        got = run(lambda a, b, kw=kw: N.conv2d(a, b, **kw), x, w)
        np.testing.assert_allclose(got, conv_loop(x, w, **kw), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("border_mode", BORDER_MODES, ids=str)
@pytest.mark.parametrize("subsample", [(1, 1), (2, 3)], ids=str)
def test_gradient_ops_are_the_adjoints_of_conv2d(border_mode, subsample):
    # <conv(x, w), gy> = <x, grad_inputs(w, gy)> = <w, grad_weights(x, gy)>, with conv from the loop.
    rng = np.random.default_rng(1)
    kw = {"border_mode": border_mode, "subsample": subsample, "filter_flip": True, "filter_dilation": (1, 2),
              "num_groups": 2}
    x, w = rand(rng, (2, 4, 8, 7)), rand(rng, (4, 2, 3, 2))
    y = conv_loop(x, w, **kw)
    gy = rand(rng, y.shape)
    gx = run(lambda a, b: N.conv2d_grad_wrt_inputs(b, a, x.shape, **kw), w, gy)
    gw = run(lambda a, b: N.conv2d_grad_wrt_weights(a, b, w.shape, **kw), x, gy)
    assert gx.shape == x.shape and gw.shape == w.shape
    np.testing.assert_allclose((x * gx).sum(), (y * gy).sum(), rtol=1e-10)
    np.testing.assert_allclose((w * gw).sum(), (y * gy).sum(), rtol=1e-10)


def test_grad_inputs_leaves_rows_the_stride_skips_at_zero():
    # 6 rows, 2-row filter, stride 3: rows 2 and 5 never meet the filter.
    x, w = T.dtensor4("x"), T.dtensor4("w")
    g = sg.grad(N.conv2d(x, w, subsample=(3, 1)).sum(), x)
    gx = sg.function([x, w], g)(np.ones((1, 1, 6, 3)), np.ones((1, 1, 2, 1)))
    np.testing.assert_array_equal(gx[0, 0, :, 0], [1, 1, 0, 1, 1, 0])


CONFIGS = [
    {},
    {"border_mode": "full", "subsample": (2, 1)},
    {"border_mode": "half", "filter_dilation": (2, 1), "filter_flip": False},
    {"border_mode": (1, 2), "subsample": (1, 2), "num_groups": 2},
]


@pytest.mark.parametrize("kw", CONFIGS, ids=str)
def test_conv2d_gradient_and_rop_match_finite_differences(kw):
    rng = np.random.default_rng(2)
    x, w = rand(rng, (2, 2, 5, 4)), rand(rng, (2, 2 // kw.get("num_groups", 1), 3, 2))
    verify_grad(lambda a, b: N.conv2d(a, b, **kw), [x, w])
    verify_rop(lambda a, b: N.conv2d(a, b, **kw), [x, w])


@pytest.mark.parametrize("kw", CONFIGS, ids=str)
def test_gradient_ops_are_differentiable_again(kw):
    # verify_grad / verify_rop of each gradient Op exercise its own L_op and R_op.
    rng = np.random.default_rng(3)
    groups = kw.get("num_groups", 1)
    x, w = rand(rng, (2, 2, 5, 4)), rand(rng, (2, 2 // groups, 3, 2))
    gy = rand(rng, conv_loop(x, w, **kw).shape)
    grad_inputs = Conv2dGradInputs(**kw)
    grad_weights = Conv2dGradWeights(**kw)
    hw_x, hw_w = T.constant(np.array(x.shape[2:])), T.constant(np.array(w.shape[2:]))
    verify_grad(lambda a, b: grad_inputs(a, b, hw_x), [w, gy])
    verify_rop(lambda a, b: grad_inputs(a, b, hw_x), [w, gy])
    verify_grad(lambda a, b: grad_weights(a, b, hw_w), [x, gy])
    verify_rop(lambda a, b: grad_weights(a, b, hw_w), [x, gy])


def test_second_derivative_of_a_conv_cost_matches_finite_differences():
    rng = np.random.default_rng(4)
    x, w = rand(rng, (1, 2, 4, 4)), rand(rng, (2, 2, 2, 2))

    def grad_wrt_w(a, b):
        return sg.grad((T.tanh(N.conv2d(a, b, border_mode="half")) ** 2).sum(), b)

    verify_grad(grad_wrt_w, [x, w])


def test_conv2d_transpose_is_the_gradient_of_a_strided_conv2d():
    rng = np.random.default_rng(5)
    x, w = rand(rng, (2, 3, 7, 5)), rand(rng, (4, 3, 3, 3))
    y = conv_loop(x, w, border_mode=1, subsample=(2, 2))
    up = run(lambda a, b: N.conv2d_transpose(a, b, output_shape=x.shape, border_mode=1, input_dilation=(2, 2)),
             y, w)
    assert up.shape == x.shape
    np.testing.assert_allclose((up * x).sum(), (y * y).sum(), rtol=1e-10)
    verify_grad(lambda a, b: N.conv2d_transpose(a, b, output_shape=(5, 4), input_dilation=(2, 1)),
                [rand(rng, (1, 2, 2, 3)), rand(rng, (2, 1, 2, 2))])


@pytest.mark.parametrize("dx,dw,want", [("float32", "float32", "float32"), ("float64", "float64", "float64"),
                                         ("float32", "float64", "float64"), ("int32", "float32", "float64")])
def test_output_dtype_follows_the_inputs(dx, dw, want):
    rng = np.random.default_rng(6)
    x, w = (rand(rng, (1, 2, 5, 5)) * 3).astype(dx), rand(rng, (3, 2, 2, 2)).astype(dw)
    got = run(N.conv2d, x, w)
    assert got.dtype == want
    np.testing.assert_allclose(got, conv_loop(x, w), rtol=1e-5, atol=1e-5)
    x32, w32 = T.ftensor4(), T.ftensor4()
    gx, gw = sg.grad(N.conv2d(x32, w32).sum(), [x32, w32])
    assert gx.dtype == gw.dtype == "float32"


@pytest.mark.parametrize("border_mode", BORDER_MODES, ids=str)
def test_shapes_are_inferred_without_convolving(border_mode):
    rng = np.random.default_rng(7)
    x, w = rand(rng, (2, 4, 9, 8)), rand(rng, (6, 2, 3, 2))
    kw = {"border_mode": border_mode, "subsample": (2, 3), "filter_dilation": (2, 1), "num_groups": 2}
    assert_shape_inferred(lambda a, b: N.conv2d(a, b, **kw), x, w, op_type=Conv2d)
    for wrt, op_type in ((0, Conv2dGradInputs), (1, Conv2dGradWeights)):
        assert_shape_inferred(lambda a, b, wrt=wrt: sg.grad(N.conv2d(a, b, **kw).sum(), [a, b])[wrt], x, w,
                              op_type=op_type)


def test_static_shapes_propagate_and_hints_are_checked():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    out = N.conv2d(x, w, input_shape=(None, 3, 28, 28), filter_shape=(8, 3, 5, 5), border_mode="half",
                   subsample=(2, 2))
    assert out.type.shape == (None, 8, 14, 14)
    f = sg.function([x, w], out)
    with pytest.raises(InputShapeError, match="28"):
        f(np.ones((1, 3, 27, 28)), np.ones((8, 3, 5, 5)))


def test_channel_mismatch_names_both_shapes():
    x = T.TensorType("float64", (None, 3, 8, 8))("x")
    w = T.TensorType("float64", (4, 2, 3, 3))("w")
    with pytest.raises(GraphShapeError, match=r"input of shape \(\?, 3, 8, 8\) has 3 channels but the filters "
                                              r"of shape \(4, 2, 3, 3\) expect 2") as e:
        N.conv2d(x, w)
    assert "test_conv.py" in str(e.value)
    x, w = T.dtensor4("x"), T.dtensor4("w")
    f = sg.function([x, w], N.conv2d(x, w))
    with pytest.raises(InputShapeError, match=r"\(1, 3, 8, 8\) has 3 channels.*\(4, 2, 3, 3\)") as e:
        f(np.ones((1, 3, 8, 8)), np.ones((4, 2, 3, 3)))
    assert isinstance(e.value, SymgraphError) and isinstance(e.value, ValueError)


def test_filters_larger_than_the_input_are_refused():
    x, w = T.dtensor4("x"), T.dtensor4("w")
    f = sg.function([x, w], N.conv2d(x, w))
    with pytest.raises(InputShapeError, match=r"is smaller than the filters of shape \(1, 1, 5, 5\)"):
        f(np.ones((1, 1, 4, 8)), np.ones((1, 1, 5, 5)))
    # 'full' pads enough for any filter.
    full = run(lambda a, b: N.conv2d(a, b, border_mode="full"), np.ones((1, 1, 2, 2)), np.ones((1, 1, 5, 5)))
    assert full.shape == (1, 1, 6, 6)


def test_groups_must_divide_the_output_channels():
    x, w = T.TensorType("float64", (None, 4, None, None))(), T.TensorType("float64", (3, 2, 1, 1))()
    with pytest.raises(GraphShapeError, match="3 output channels, not a multiple of num_groups=2"):
        N.conv2d(x, w, num_groups=2)


@pytest.mark.parametrize("kw,match", [
    ({"border_mode": "same"}, "border_mode must be"),
    ({"border_mode": -1}, "border_mode must be a pair of ints >= 0"),
    ({"subsample": (0, 1)}, "subsample must be a pair of ints >= 1"),
    ({"filter_dilation": (1, 1, 1)}, "filter_dilation"),
    ({"num_groups": 0}, "num_groups must be a positive int"),
    ({"unshared": True}, "unshared"),
])
def test_bad_parameters_are_refused(kw, match):
    with pytest.raises(OpArgumentError, match=match):
        N.conv2d(T.dtensor4(), T.dtensor4(), **kw)


def test_inputs_must_be_4d():
    with pytest.raises(GraphTypeError, match="Conv2d: the input must be a 4-d tensor.*got x of type float64 matrix"):
        N.conv2d(T.dmatrix("x"), T.dtensor4())


def test_output_gradient_of_the_wrong_size_is_refused():
    op = Conv2dGradInputs()
    w, gy = T.dtensor4("w"), T.dtensor4("gy")
    f = sg.function([w, gy], op(w, gy, (5, 5)))
    with pytest.raises(InputShapeError, match=r"output gradient of shape \(1, 2, 4, 4\) does not fit"):
        f(np.ones((2, 1, 3, 3)), np.ones((1, 2, 4, 4)))


def test_empty_batch_gives_an_empty_output():
    got = run(N.conv2d, np.ones((0, 2, 5, 5)), np.ones((3, 2, 2, 2)))
    assert got.shape == (0, 3, 4, 4)


def test_equal_parameters_give_equal_ops():
    assert Conv2d("valid") == Conv2d((0, 0)) and Conv2d(1) == Conv2d((1, 1))
    assert Conv2d("full") != Conv2d("half")
    x, w = T.dtensor4("x"), T.dtensor4("w")
    assert N.conv2d(x, w) is N.conv2d(x, w)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_conv2d_with_no_filters_is_empty_and_its_input_gradient_zero(backend):
    x, w = T.tensor4("x"), T.tensor4("w")
    y = T.nnet.conv2d(x, w)
    f = sg.function([x, w], [y, sg.grad(y.sum(), x)], mode=sg.Mode(backend=backend))
    out, gx = f(np.ones((2, 3, 5, 5)), np.zeros((0, 3, 2, 2)))
    assert out.shape == (2, 0, 4, 4)
    np.testing.assert_array_equal(gx, np.zeros((2, 3, 5, 5)))
