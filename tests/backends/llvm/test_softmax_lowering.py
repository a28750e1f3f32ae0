"""The llvm backend's softmax family: Softmax, LogSoftmax, their gradients, the class-target losses, ARange."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import InputShapeError, SymgraphError
from symgraph.tensor.nnet.losses import (
    CrossentropyCategorical1HotGrad,
    CrossentropySoftmax,
)
from symgraph.tensor.nnet.softmax import LogSoftmaxGrad, SoftmaxGrad

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")
RNG = np.random.default_rng(11)
TOL = {"float32": 2e-6, "float64": 1e-12}


def _pair(inputs, outputs):
    """The function on llvm (checked to run no node in Python) and on the numpy backend."""
    f = sg.function(inputs, outputs, mode=LLVM)
    assert not f._run.fallback_nodes, [str(n.op) for n in f._run.fallback_nodes]
    return f, sg.function(inputs, outputs, mode=NUMPY)


def _ops(f):
    return {type(n.op).__name__ for n in f.fgraph.toposort()}


def _assert_close(got, want, tol):
    for k, (g, w) in enumerate(zip(got, want)):
        assert g.dtype == w.dtype and g.shape == w.shape, (k, g.dtype, w.dtype, g.shape, w.shape)
        # atol as well: log_softmax of a row's maximum is -log(1 + tiny), 0 in float32 for NumPy.
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol, equal_nan=True, err_msg=f"output {k}")


def _logits(shape, dtype, scale=30.0):
    """Large logits with the awkward entries perform handles: -inf, +inf, NaN, an all -inf row."""
    a = (RNG.standard_normal(shape) * scale).astype(dtype)
    if a.ndim == 2 and a.shape[0] >= 5 and a.shape[1] >= 3:
        a[1, 2] = -np.inf
        a[2, :] = -np.inf
        a[3, 1] = np.inf
        a[4, 0] = np.nan
        a[0, 0] = 1e4  # exp overflows without the shift
    return a


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_and_log_softmax_match_perform_on_every_axis_and_layout(dtype):
    x = T.matrix("x", dtype=dtype)
    f, ref = _pair([x], [T.nnet.softmax(x), T.nnet.log_softmax(x), T.nnet.softmax(x, axis=0),
                         T.nnet.log_softmax(x, axis=0)])
    a = _logits((6, 9), dtype)
    for v in [a, a[::-1, ::2], np.asfortranarray(a), a.T.copy().T, a[:, :0], a[:0]]:
        _assert_close(f(v), ref(v), TOL[dtype])


def test_softmax_of_a_middle_axis_of_a_transposed_tensor3():
    x = T.dtensor3("x")
    f, ref = _pair([x], [T.nnet.softmax(x, axis=1), T.nnet.log_softmax(x, axis=1), T.nnet.softmax(x[0])])
    v = RNG.standard_normal((4, 3, 5)).transpose(2, 0, 1)[:, ::-1]
    _assert_close(f(v), ref(v), TOL["float64"])
    np.testing.assert_allclose(f(v)[0].sum(axis=1), 1.0)


@pytest.mark.parametrize("dtypes", [("float64", "float64"), ("float32", "float64")])
def test_softmax_and_log_softmax_gradient_ops_match_perform(dtypes):
    dy, fwd = T.matrix("dy", dtype=dtypes[0]), T.matrix("fwd", dtype=dtypes[1])
    f, ref = _pair([dy, fwd], [SoftmaxGrad(1)(dy, fwd), LogSoftmaxGrad(1)(dy, fwd), SoftmaxGrad(0)(dy, fwd)])
    g = RNG.standard_normal((5, 7)).astype(dtypes[0])
    sm = np.asarray(ref(g, RNG.standard_normal((5, 7)).astype(dtypes[1]))[0], dtype=dtypes[1])
    for args in [(g, sm), (g[::-1], sm[:, ::-1].copy()[:, ::-1]), (g[:0], sm[:0])]:
        _assert_close(f(*args), ref(*args), TOL["float32" if "float32" in dtypes else "float64"])
    with pytest.raises(InputShapeError, match=r"has shape \(4, 7\) but the forward output has shape \(5, 7\)"):
        f(g[:4], sm)


def test_gradient_op_of_a_tensor3_names_the_axis_whose_lengths_differ():
    dy, sm = T.dtensor3("dy"), T.dtensor3("sm")
    f = sg.function([dy, sm], SoftmaxGrad(2)(dy, sm), mode=LLVM)
    assert not f._run.fallback_nodes
    with pytest.raises(InputShapeError, match="has length 3 on axis 1 but the forward output has length 4"):
        f(np.ones((2, 3, 5)), np.ones((2, 4, 5)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_gradients_through_llvm_pass_verify_grad(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5)).astype(dtype) * 3
    y = rng.integers(0, 5, 4).astype("int32")
    tol = 1e-2 if dtype == "float32" else None
    sg.gradient.verify_grad(T.nnet.softmax, [x], rng=rng, mode=LLVM, abs_tol=tol, rel_tol=tol)
    sg.gradient.verify_grad(T.nnet.log_softmax, [x], rng=rng, mode=LLVM, abs_tol=tol, rel_tol=tol)
    sg.gradient.verify_grad(lambda v: T.nnet.categorical_crossentropy(T.nnet.softmax(v), y), [x], rng=rng,
                            mode=LLVM, abs_tol=tol, rel_tol=tol)


@pytest.mark.parametrize("dtypes", [("float32", "int32"), ("float64", "uint8"), ("float64", "int64")])
def test_fused_softmax_crossentropy_matches_perform(dtypes):
    x, y = T.matrix("x", dtype=dtypes[0]), T.vector("y", dtype=dtypes[1])
    loss = T.nnet.categorical_crossentropy(T.nnet.softmax(x), y)
    f, ref = _pair([x, y], [loss, T.nnet.crossentropy_softmax(x[::-1, ::-1], y[::-1])])
    assert "CrossentropySoftmax" in _ops(f)
    a = _logits((6, 4), dtypes[0])
    a[5, 3] = -np.inf  # the target's logit is -inf: an infinite loss
    t = np.array([0, 1, 2, 1, 3, 3], dtype=dtypes[1])
    for args in [(a, t), (a[:, ::-1].copy()[:, ::-1], t[::-1].copy()[::-1]), (a[:4:-1], t[:4:-1])]:
        _assert_close(f(*args), ref(*args), TOL[dtypes[0]])
    empty_batch = (np.zeros((0, 4), dtypes[0]), np.zeros(0, dtypes[1]))
    _assert_close(f(*empty_batch), ref(*empty_batch), TOL[dtypes[0]])


def test_out_of_range_class_is_an_index_error_naming_the_op_and_the_line():
    x, y = T.dmatrix("x"), T.ivector("y")
    loss = T.nnet.crossentropy_softmax(x, y)  # the line in the message
    f = sg.function([x, y], loss, mode=LLVM)
    assert not f._run.fallback_nodes
    a = RNG.standard_normal((3, 4))
    for bad, index in [([0, 4, 9], 4), ([0, -1, 2], -1)]:
        with pytest.raises(IndexError) as info:
            f(a, np.array(bad, dtype="int32"))
        assert isinstance(info.value, SymgraphError)
        msg = str(info.value)
        assert f"class index {index} is out of range for 4 classes" in msg and "CrossentropySoftmax" in msg
        assert "loss = T.nnet.crossentropy_softmax(x, y)" in msg
    with pytest.raises(InputShapeError, match=r"targets of shape \(2,\) do not fit the input of shape \(3, 4\)"):
        f(a, np.zeros(2, dtype="int32"))
    with pytest.raises(IndexError, match="for 0 classes"):
        f(np.zeros((2, 0)), np.zeros(2, dtype="int32"))


def test_fused_crossentropy_with_dense_targets_masks_zero_targets():
    x, t = T.fmatrix("x"), T.dmatrix("t")
    f, ref = _pair([x, t], CrossentropySoftmax()(x, t))
    a = _logits((6, 4), "float32")[:, ::-1]
    probs = RNG.random((6, 4))
    probs[1, 2] = 0.0  # masks the -inf logit: a finite loss
    for args in [(a, probs), (a, np.eye(4)[[0, 1, 3, 2, 0, 1]]), (a[:0], probs[:0])]:
        _assert_close(f(*args), ref(*args), 1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_categorical_crossentropy_of_probabilities_and_its_gradient(dtype):
    p, y = T.matrix("p", dtype=dtype), T.bvector("y")
    loss = T.nnet.categorical_crossentropy(p, y)
    f, ref = _pair([p, y], [loss, sg.grad(loss.sum(), p)])
    assert {"CrossentropyCategorical1Hot", "CrossentropyCategorical1HotGrad"} <= _ops(f)
    pv = RNG.random((5, 3)).astype(dtype)
    pv[2, 1] = 0.0  # -log(0) = inf, and a -inf gradient
    yv = np.array([0, 1, 1, 2, 0], dtype="int8")
    for args in [(pv, yv), (pv.T.copy().T[::-1], yv[::-1]), (pv[:0], yv[:0])]:
        _assert_close(f(*args), ref(*args), TOL[dtype])
    with pytest.raises(IndexError, match="class index 3 is out of range for 3 classes"):
        f(pv, np.array([0, 1, 3, 2, 0], dtype="int8"))


def test_direct_1hot_gradient_checks_the_output_gradient_shape():
    g, p, y = T.dvector("g"), T.dmatrix("p"), T.ivector("y")
    f = sg.function([g, p, y], CrossentropyCategorical1HotGrad()(g, p, y), mode=LLVM)
    assert not f._run.fallback_nodes
    with pytest.raises(InputShapeError, match=r"output gradient has shape \(2,\), the loss has shape \(3,\)"):
        f(np.ones(2), np.ones((3, 2)), np.zeros(3, dtype="int32"))


def test_arange_of_symbolic_integer_bounds_matches_numpy():
    a, b, c = T.lscalar("a"), T.iscalar("b"), T.lscalar("c")
    f = sg.function([a, b, c], T.arange(a, b, c), mode=LLVM)
    assert not f._run.fallback_nodes
    for start, stop, step in [(0, 10, 1), (3, -7, -2), (5, 5, 1), (5, 0, 1), (-4, 9, 4),
                              (2 ** 62, -2 ** 31, -2 ** 61)]:
        np.testing.assert_array_equal(f(start, stop, step), np.arange(start, stop, step))
    with pytest.raises(InputShapeError, match="step must not be zero"):
        f(0, 3, 0)


def test_mlp_training_step_runs_natively_and_matches_the_numpy_backend():
    rng = np.random.default_rng(4)
    shapes = [(12, 8), (8,), (8, 5), (5,)]
    values = [(rng.standard_normal(s) * 0.3).astype("float32") for s in shapes]
    x, y = T.fmatrix("x"), T.ivector("y")
    xv, yv = rng.standard_normal((7, 12)).astype("float32"), rng.integers(0, 5, 7).astype("int32")
    results = []
    for mode in (LLVM, NUMPY):
        params = [sg.shared(v.copy(), name=f"p{k}") for k, v in enumerate(values)]
        h = T.nnet.relu(T.dot(x, params[0]) + params[1])
        loss = T.nnet.categorical_crossentropy(T.nnet.softmax(T.dot(h, params[2]) + params[3]), y).mean()
        step = sg.function([x, y], loss, updates=[(p, p - 0.1 * g) for p, g in zip(params, sg.grad(loss, params))],
                           mode=mode)
        if mode is LLVM:
            assert not step._run.fallback_nodes, [str(n.op) for n in step._run.fallback_nodes]
        results.append([step(xv, yv)] + [p.get_value() for p in params])
    _assert_close(results[0], results[1], 1e-5)


@pytest.fixture
def threads():
    before = sg.config.threads
    yield lambda n: setattr(sg.config, "threads", n)
    sg.config.threads = before


def test_large_row_kernels_give_the_same_bits_for_any_thread_count(threads):
    # Large enough that parallel_kernel splits the rows (threads.WORK_PER_THREAD).
    x, y, g = T.fmatrix("x"), T.ivector("y"), T.fvector("g")
    loss = T.nnet.crossentropy_softmax(x, y)
    f = sg.function([x, y, g], [T.nnet.softmax(x), T.nnet.log_softmax(x), loss, T.grad(T.sum(loss * g), x)],
                    mode=LLVM)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((300, 4000)).astype("float32")
    t = rng.integers(0, 4000, 300).astype("int32")
    w = rng.standard_normal(300).astype("float32")
    results = []
    for n in (1, 2, 3):
        threads(n)
        results.append(f(a, t, w))
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            np.testing.assert_array_equal(got, want)
    want = sg.function([x, y], [T.nnet.softmax(x), loss], mode=NUMPY)(a, t)
    np.testing.assert_allclose(results[0][0], want[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(results[0][2], want[1], rtol=1e-5, atol=1e-5)
    bad = t.copy()
    bad[[7, 250]] = [4000, -3]
    threads(2)
    with pytest.raises(IndexError, match="class index 4000 is out of range for 4000 classes"):
        f(a, bad, w)
