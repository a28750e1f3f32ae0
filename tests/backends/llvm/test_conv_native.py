"""The llvm backend's native conv2d (forward, both gradients) and pooling (Pool, PoolGrad, MaxPoolGradGrad)."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import InputShapeError
from symgraph.tensor.nnet.conv import Conv2d, Conv2dGradInputs, Conv2dGradWeights, _hw
from symgraph.tensor.nnet.pool import MaxPoolGradGrad, Pool, PoolGrad

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")
RNG = np.random.default_rng(3)
TOL = {"float32": 2e-4, "float64": 1e-10}


def _pair(inputs, outputs):
    """The function on llvm (checked to run no node in Python) and on the numpy backend."""
    f = sg.function(inputs, outputs, mode=LLVM)
    assert not f._run.fallback_nodes, [str(n.op) for n in f._run.fallback_nodes]
    return f, sg.function(inputs, outputs, mode=NUMPY)


def _assert_close(got, want, tol):
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype and g.shape == w.shape, (k, g.dtype, w.dtype, g.shape, w.shape)
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True, err_msg=f"output {k}")


def _layouts(a):
    """``a`` as it is, reversed and strided (views of a larger array), and Fortran-ordered."""
    big = np.zeros(a.shape[:-2] + (a.shape[-2], 2 * a.shape[-1]), a.dtype)
    big[..., ::-1, ::2] = a
    return [a, big[..., ::-1, ::2], np.asfortranarray(a)]


def _conv_graph(dtype, **props):
    x, w, gy = (T.tensor4(name, dtype=dtype) for name in ("x", "w", "gy"))
    op = Conv2d(**props)
    outs = [op(x, w), op._like(Conv2dGradInputs)(w, gy, _hw(x)), op._like(Conv2dGradWeights)(x, gy, _hw(w))]
    return [x, w, gy], outs, op


CONV_FORMS = [
    # (x shape, w shape, props): direct forward (unit column stride, k > 1x1, <= 64 channels) ...
    ((3, 2, 9, 11), (5, 2, 3, 4), {}),
    ((2, 3, 8, 7), (4, 3, 3, 2), {"border_mode": "full", "filter_flip": False}),
    ((2, 4, 11, 10), (6, 2, 3, 2), {"border_mode": (2, 1), "subsample": (2, 1), "filter_dilation": (2, 3),
                                    "num_groups": 2}),
    # ... and im2col + GEMM: a column stride, a 1x1 filter, more than 64 output channels.
    ((2, 4, 9, 8), (6, 2, 3, 2), {"border_mode": "half", "subsample": (2, 3), "num_groups": 2}),
    ((2, 5, 6, 7), (3, 5, 1, 1), {"border_mode": 1}),
    ((2, 3, 7, 6), (66, 3, 3, 3), {"border_mode": "half", "filter_flip": False}),
]


# Each path in both dtypes, with few compilations: the dtypes alternate along the forms.
@pytest.mark.parametrize("dtype,x_shape,w_shape,props",
                         [(("float32", "float64")[k % 2], *form) for k, form in enumerate(CONV_FORMS)])
def test_conv2d_and_its_gradients_match_perform_on_every_path_and_layout(dtype, x_shape, w_shape, props):
    inputs, outs, op = _conv_graph(dtype, **props)
    f, ref = _pair(inputs, outs)
    x = RNG.standard_normal(x_shape).astype(dtype)
    w = RNG.standard_normal(w_shape).astype(dtype)
    oh, ow = op.out_size(x_shape[2], x_shape[3], w_shape[2], w_shape[3])
    gy = RNG.standard_normal((x_shape[0], w_shape[0], oh, ow)).astype(dtype)
    for xv, wv, gv in zip(_layouts(x), _layouts(w)[::-1], _layouts(gy)):
        _assert_close(f(xv, wv, gv), ref(xv, wv, gv), TOL[dtype])


def test_conv2d_gradients_taken_over_several_image_chunks_match_perform():
    from symgraph.backends.llvm.lowering.conv import COLS_BUDGET

    inputs, outs, _ = _conv_graph("float32", border_mode="half", num_groups=2)
    f, ref = _pair(inputs, outs)
    x = RNG.standard_normal((7, 16, 30, 30)).astype("float32")
    w = RNG.standard_normal((8, 8, 3, 3)).astype("float32")
    gy = RNG.standard_normal((7, 8, 30, 30)).astype("float32")
    per_image = 8 * 3 * 3 * 30 * 30
    assert 1 < COLS_BUDGET // per_image < 7 and 7 % (COLS_BUDGET // per_image)  # a partial last chunk
    _assert_close(f(x, w, gy), ref(x, w, gy), 1e-3)


def test_conv2d_of_an_empty_batch_or_no_channels_gives_perform_zeros():
    inputs, outs, _ = _conv_graph("float64", border_mode=1)
    f, ref = _pair(inputs, outs)
    for x_shape, w_shape in [((0, 2, 5, 5), (3, 2, 3, 3)), ((2, 0, 5, 5), (3, 0, 3, 3))]:
        x, w = RNG.standard_normal(x_shape), RNG.standard_normal(w_shape)
        gy = RNG.standard_normal((x_shape[0], w_shape[0], 5, 5))
        _assert_close(f(x, w, gy), ref(x, w, gy), TOL["float64"])
    # No filters: perform fails reshaping (0, C, kh, kw) to (0, -1); the native result is empty.
    y, dx, dw = f(np.ones((2, 2, 5, 5)), np.ones((0, 2, 3, 3)), np.ones((2, 0, 5, 5)))
    assert (y.shape, dx.shape, dw.shape) == ((2, 0, 5, 5), (2, 2, 5, 5), (0, 2, 3, 3))
    assert not dx.any()


def test_lenet_training_step_runs_every_conv_and_pool_node_natively():
    x, y = T.ftensor4("x"), T.ivector("y")
    w1 = sg.shared((RNG.standard_normal((4, 1, 5, 5)) * 0.3).astype("float32"))
    w2 = sg.shared((RNG.standard_normal((6, 4, 3, 3)) * 0.3).astype("float32"))
    wd = sg.shared((RNG.standard_normal((6 * 2 * 2, 3)) * 0.3).astype("float32"))
    h = T.nnet.relu(T.nnet.conv2d(x, w1, filter_flip=False))
    h = T.nnet.pool_2d(h, ws=(2, 2), ignore_border=True)
    h = T.nnet.relu(T.nnet.conv2d(h, w2, border_mode=(1, 1)))
    h = T.nnet.pool_2d(h, ws=(3, 3), stride=(2, 2), ignore_border=True)
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(h.flatten(2).dot(wd)), y).mean()
    grads = sg.grad(loss, [w1, w2, wd])
    f, ref = _pair([x, y], [loss, *grads])
    ops = {type(n.op) for n in f.fgraph.toposort()}
    assert {Conv2d, Conv2dGradWeights, Conv2dGradInputs, Pool, PoolGrad} <= ops
    xv = RNG.standard_normal((5, 1, 14, 14)).astype("float32")
    yv = RNG.integers(0, 3, 5).astype("int32")
    _assert_close(f(xv, yv), ref(xv, yv), 1e-4)


def test_conv2d_shape_errors_name_the_op_and_the_sizes():
    inputs, outs, _ = _conv_graph("float64")
    f = sg.function(inputs, outs[0], mode=LLVM, on_unused_input="ignore")
    with pytest.raises(InputShapeError, match=r"Conv2d: the input has 3 channels but the filters expect 2"):
        f(np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros((1, 1, 1, 1)))
    with pytest.raises(InputShapeError, match=r"Conv2d: the input of spatial size \(2, 5\).*smaller"):
        f(np.zeros((1, 2, 2, 5)), np.zeros((4, 2, 3, 3)), np.zeros((1, 1, 1, 1)))
    g = sg.function(inputs, outs[1], mode=LLVM)
    assert not g._run.fallback_nodes
    with pytest.raises(InputShapeError, match=r"Conv2dGradInputs: the output gradient has length 4 on axis 3 "
                                              r"where the input and filters give 3"):
        g(np.zeros((1, 2, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros((1, 4, 3, 4)))
    x, gy = T.dtensor4("x"), T.dtensor4("gy")
    h = sg.function([x, gy], Conv2dGradWeights(num_groups=2)(x, gy, (3, 3)), mode=LLVM)
    assert not h._run.fallback_nodes
    with pytest.raises(InputShapeError, match=r"Conv2dGradWeights\{.*\}: the input has 3 channels, not a multiple "
                                              r"of num_groups=2"):
        h(np.zeros((1, 3, 5, 5)), np.zeros((1, 4, 3, 3)))


def test_conv2d_with_mixed_input_dtypes_is_left_to_perform():
    x, w = T.dtensor4("x"), T.ftensor4("w")
    f = sg.function([x, w], T.nnet.conv2d(x, w), mode=LLVM)
    assert [type(n.op) for n in f._run.fallback_nodes] == [Conv2d]
    xv, wv = RNG.standard_normal((1, 2, 5, 5)), RNG.standard_normal((3, 2, 2, 2)).astype("float32")
    np.testing.assert_allclose(f(xv, wv), sg.function([x, w], T.nnet.conv2d(x, w), mode=NUMPY)(xv, wv))


# ---- pooling ---------------------------------------------------------------------------------

POOL_FORMS = [
    {"ws": (2, 3)},
    {"ws": (3, 2), "stride": (1, 2), "pad": (1, 1)},
    {"ws": (3, 3), "stride": (2, 1), "pad": (2, 1)},
    {"ws": (3, 2), "stride": (2, 1), "ignore_border": False},
    {"ws": (2, 2), "stride": (3, 3), "ignore_border": False},
    {"ws": (5, 4), "stride": (2, 3), "pad": (2, 1)},
]


def _pool_graph(dtype, ndim, **props):
    x, gz, ggx = (T.tensor(dtype, (None,) * ndim, name=n) for n in ("x", "gz", "ggx"))
    op = Pool(**props)
    outs = [op(x), op._like(PoolGrad)(x, gz)]
    if op.mode == "max":
        outs.append(op._like(MaxPoolGradGrad)(x, ggx))
    return ([x, gz, ggx] if op.mode == "max" else [x, gz]), outs, op


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
def test_pool_and_its_gradients_match_perform_for_every_window_form(mode):
    for k, props in enumerate(POOL_FORMS):
        dtype = ("float32", "float64")[k % 2]
        ndim = (4, 3, 2, 4, 5, 4)[k]
        inputs, outs, op = _pool_graph(dtype, ndim, mode=mode, **props)
        f, ref = _pair(inputs, outs)
        shape = (2, 3, 7, 9, 8)[-ndim:] if ndim < 5 else (2, 1, 2, 7, 9)
        x = RNG.standard_normal(shape).astype(dtype)
        gz = RNG.standard_normal(op.static_out(shape)).astype(dtype)
        extra = [RNG.standard_normal(shape).astype(dtype)] if mode == "max" else []
        for xv, gv in zip(_layouts(x), _layouts(gz)[::-1]):
            _assert_close(f(xv, gv, *extra), ref(xv, gv, *extra), TOL[dtype])


# Overlapping windows in float32 add their shares in float32 where perform sums them in float64
# (an ulp apart): that case is covered with a tolerance above.
# A 5x4 window is searched by a loop, smaller ones by straight-line code; windows with no padding
# (the first two) have paths of their own.
@pytest.mark.parametrize("dtype,ws,stride,pad", [("float32", (2, 2), (2, 2), (0, 0)),
                                                 ("float64", (3, 2), (2, 1), (0, 0)),
                                                 ("float32", (3, 3), (3, 3), (1, 2)),
                                                 ("float64", (3, 3), (2, 2), (1, 2)),
                                                 ("float64", (5, 4), (2, 3), (1, 2))])
def test_max_pool_gradient_routes_ties_nan_and_minus_inf_exactly_as_perform(dtype, ws, stride, pad):
    inputs, outs, op = _pool_graph(dtype, 4, ws=ws, stride=stride, pad=pad)
    f, ref = _pair(inputs, outs)
    # Small integers tie everywhere; a row of -inf makes windows whose first position is padding.
    x = RNG.integers(-2, 2, (2, 2, 7, 8)).astype(dtype)
    x[:, :, :3, :] = -np.inf
    x[0, 1, 5, 5] = np.nan
    x[1, 0, 4:, 6:] = np.nan
    gz = RNG.standard_normal(op.static_out(x.shape)).astype(dtype)
    ggx = RNG.standard_normal(x.shape).astype(dtype)
    for got, want in zip(f(x, gz, ggx), ref(x, gz, ggx)):
        np.testing.assert_array_equal(got, want)


def test_pool_of_empty_inputs_matches_perform():
    inputs, outs, _ = _pool_graph("float64", 4, ws=(2, 2), mode="max")
    f, ref = _pair(inputs, outs)
    for shape in [(0, 2, 4, 4), (2, 2, 0, 4)]:
        x = np.zeros(shape)
        gz = np.zeros(Pool((2, 2)).static_out(shape))
        _assert_close(f(x, gz, x), ref(x, gz, x), 0)


def test_pool_grad_of_a_wrong_output_gradient_shape_names_the_op():
    x, gz = T.dtensor4("x"), T.dtensor4("gz")
    f = sg.function([x, gz], PoolGrad((2, 2))(x, gz), mode=LLVM)
    assert not f._run.fallback_nodes
    with pytest.raises(InputShapeError, match=r"PoolGrad\{max.*the output gradient has length 3 on axis 3 "
                                              r"where the pooled input gives 2"):
        f(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 3)))


def test_integer_pooling_is_left_to_perform():
    x = T.imatrix("x")
    f = sg.function([x], T.nnet.pool_2d(x, ws=(2, 2)), mode=LLVM)
    assert [type(n.op) for n in f._run.fallback_nodes] == [Pool]
    np.testing.assert_array_equal(f(np.arange(16, dtype="int32").reshape(4, 4)), [[5, 7], [13, 15]])
