"""pool_2d, PoolGrad and MaxPoolGradGrad against a NumPy loop; derivatives, shapes, errors."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import GraphTypeError, InputShapeError, OpArgumentError
from symgraph.gradient import verify_grad, verify_rop
from symgraph.tensor.nnet import MaxPoolGradGrad, Pool, PoolGrad

from .helpers import assert_shape_inferred, distinct, rand, run

N = T.nnet
MODES = ["max", "sum", "average_inc_pad", "average_exc_pad"]


def pool_loop(x, ws, ignore_border=True, stride=None, pad=(0, 0), mode="max"):
    """Theano's Pool.perform: one region per output, clipped to the padded image."""
    stride = stride or ws
    h, w = x.shape[-2:]
    img = (h + 2 * pad[0], w + 2 * pad[1])

    def out_len(v, ds, st):
        if ignore_border:
            return v // st if ds == st else max((v - ds) // st + 1, 0)
        if st >= ds:
            return (v - 1) // st + 1
        return max(0, (v - 1 - ds + st) // st) + 1

    oh, ow = out_len(img[0], ws[0], stride[0]), out_len(img[1], ws[1], stride[1])
    padded = np.zeros(x.shape[:-2] + img)
    padded[..., pad[0]:pad[0] + h, pad[1]:pad[1] + w] = x
    out = np.zeros(x.shape[:-2] + (oh, ow))
    reduce = {"max": np.max, "sum": np.sum}.get(mode, np.mean)
    for k in np.ndindex(*x.shape[:-2]):
        for r in range(oh):
            for c in range(ow):
                region = []
                for axis, pos in ((0, r), (1, c)):
                    start = pos * stride[axis]
                    end = min(start + ws[axis], img[axis])
                    if mode != "average_inc_pad":
                        start, end = max(start, pad[axis]), min(end, img[axis] - pad[axis])
                    region.append(slice(start, end))
                out[k + (r, c)] = reduce(padded[k][region[0], region[1]])
    return out


CONFIGS = [
    {"ws": (2, 2)},
    {"ws": (3, 2), "stride": (2, 1), "ignore_border": False},
    {"ws": (3, 3), "stride": (2, 2), "pad": (1, 2)},
    {"ws": (2, 3), "stride": (3, 3), "ignore_border": False},
    {"ws": (3, 2), "stride": (1, 2), "pad": (1, 1)},
    {"ws": (2, 2), "ignore_border": False},
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kw", CONFIGS, ids=str)
def test_pool_matches_the_loop_definition(mode, kw):
    x = rand(np.random.default_rng(0), (2, 3, 7, 6))
    got = run(lambda v: N.pool_2d(v, mode=mode, **kw), x)
    want = pool_loop(x, mode=mode, **kw)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("shape", [(5, 4), (2, 5, 4), (1, 2, 2, 5, 4)])
def test_pool_works_on_the_last_two_axes_of_any_rank(shape):
    x = rand(np.random.default_rng(1), shape)
    got = run(lambda v: N.pool_2d(v, (2, 3), ignore_border=False, mode="average_exc_pad"), x)
    np.testing.assert_allclose(got, pool_loop(x, (2, 3), ignore_border=False, mode="average_exc_pad"))


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_output_dtype(dtype):
    x = (rand(np.random.default_rng(2), (1, 4, 4)) * 10).astype(dtype)
    assert run(lambda v: N.pool_2d(v, (2, 2)), x).dtype == dtype
    assert run(lambda v: N.pool_2d(v, (2, 2), mode="sum"), x).dtype == dtype
    avg = run(lambda v: N.pool_2d(v, (2, 2), mode="average_inc_pad"), x)
    assert avg.dtype == (dtype if dtype != "int32" else "float64")
    np.testing.assert_allclose(avg, pool_loop(x.astype("float64"), (2, 2), mode="average_inc_pad"), rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kw", CONFIGS[1:5], ids=str)
def test_gradients_of_every_order_match_finite_differences(mode, kw):
    x = distinct(np.random.default_rng(3), (1, 2, 5, 6))
    w = rand(np.random.default_rng(4), pool_loop(x, mode=mode, **kw).shape)

    def pool(v):
        return N.pool_2d(v, mode=mode, **kw)

    def grad_of(v):
        return sg.grad((pool(v) ** 2 * w).sum(), v)

    verify_grad(pool, [x])
    verify_rop(pool, [x])
    verify_grad(grad_of, [x])
    verify_rop(grad_of, [x])


@pytest.mark.parametrize("mode", MODES)
def test_pool_grad_is_differentiable_in_the_output_gradient(mode):
    rng = np.random.default_rng(5)
    kw = {"ws": (3, 2), "stride": (2, 1), "pad": (1, 1), "mode": mode}
    x = distinct(rng, (2, 5, 4))
    gz = rand(rng, pool_loop(x, **kw).shape)
    verify_grad(lambda a, b: PoolGrad(**kw)(a, b), [x, gz])
    verify_rop(lambda a, b: PoolGrad(**kw)(a, b), [x, gz])
    if mode == "max":
        verify_grad(lambda a, b: MaxPoolGradGrad(**kw)(a, b), [x, rand(rng, x.shape)])
        verify_rop(lambda a, b: MaxPoolGradGrad(**kw)(a, b), [x, rand(rng, x.shape)])


def test_max_pool_gradient_goes_to_the_first_maximum_of_each_window():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 0.0, 0.0]])
    xs = T.dmatrix("x")
    g = sg.function([xs], sg.grad(N.pool_2d(xs, (2, 2), mode="max").sum(), xs))(x)
    np.testing.assert_array_equal(g, [[0, 1, 1, 0], [0, 0, 0, 0]])


def test_overlapping_windows_accumulate_their_gradients():
    x = np.array([[0.0, 5.0, 1.0, 2.0]])
    xs = T.dmatrix("x")
    g = sg.function([xs], sg.grad(N.pool_2d(xs, (1, 2), stride=(1, 1)).sum(), xs))(x)
    np.testing.assert_array_equal(g, [[0, 2, 0, 1]])


def test_padding_never_wins_a_max_window():
    x = -np.arange(1.0, 10.0).reshape(3, 3)
    got = run(lambda v: N.pool_2d(v, (2, 2), pad=(1, 1)), x)
    np.testing.assert_array_equal(got, pool_loop(x, (2, 2), pad=(1, 1)))
    assert (got < 0).all()


@pytest.mark.parametrize("mode", MODES)
def test_shapes_are_inferred_without_pooling(mode):
    x = rand(np.random.default_rng(6), (2, 3, 7, 6))
    for kw in CONFIGS:
        assert_shape_inferred(lambda v, kw=kw: N.pool_2d(v, mode=mode, **kw), x, op_type=Pool)
        assert_shape_inferred(lambda v, kw=kw: sg.grad(N.pool_2d(v, mode=mode, **kw).sum(), v), x,
                              op_type=PoolGrad)


def test_max_pool_grad_grad_shape_is_inferred():
    x = rand(np.random.default_rng(7), (2, 7, 6))
    assert_shape_inferred(lambda v: MaxPoolGradGrad((3, 2), stride=(2, 2))(v, v), x, op_type=MaxPoolGradGrad)


def test_static_output_shape_is_known_from_static_input_shape():
    x = T.TensorType("float64", (None, 3, 28, 27))("x")
    assert N.pool_2d(x, (2, 2)).type.shape == (None, 3, 14, 13)
    assert N.pool_2d(x, (2, 2), ignore_border=False).type.shape == (None, 3, 14, 14)


@pytest.mark.parametrize("kw,match", [
    ({"ws": (2, 2), "pad": (2, 0)}, r"pad \(2, 0\) must be smaller than the window ws \(2, 2\)"),
    ({"ws": (3, 3), "pad": (1, 1), "ignore_border": False}, "padding .* needs ignore_border=True"),
    ({"ws": (2, 2), "mode": "mean"}, "mode must be one of max, sum, average_inc_pad, average_exc_pad"),
    ({"ws": (0, 2)}, "ws must be a pair of ints >= 1"),
    ({"ws": (2, 2), "stride": (1, 0)}, "stride must be a pair of ints >= 1"),
    ({"ws": None}, "window size ws is required"),
])
def test_bad_parameters_are_refused(kw, match):
    with pytest.raises(OpArgumentError, match=match):
        N.pool_2d(T.dtensor4(), **kw)


def test_inputs_of_rank_below_two_are_refused():
    with pytest.raises(GraphTypeError, match="Pool: the input must be a numeric tensor of ndim >= 2.*got v"):
        N.pool_2d(T.dvector("v"), (2, 2))


def test_pool_grad_refuses_an_output_gradient_of_the_wrong_shape():
    x, gz = T.dmatrix("x"), T.dmatrix("gz")
    f = sg.function([x, gz], PoolGrad((2, 2))(x, gz))
    with pytest.raises(InputShapeError, match=r"output gradient has shape \(3, 3\) but the pooled input has shape \(2, 2\)"):
        f(np.ones((4, 4)), np.ones((3, 3)))


def test_theano_argument_names_are_accepted():
    x = rand(np.random.default_rng(8), (1, 6, 6))
    got = run(lambda v: N.pool_2d(v, ds=(3, 3), st=(2, 2), padding=(1, 1), mode="sum"), x)
    np.testing.assert_allclose(got, pool_loop(x, (3, 3), stride=(2, 2), pad=(1, 1), mode="sum"))
