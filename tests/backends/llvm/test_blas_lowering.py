"""Dot, BatchedDot, Gemm, Gemv and Ger lowered to BLAS calls (and integer loops) in the llvm backend."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.errors import InputShapeError
from symgraph.tensor.blas import BatchedDot, Dot
from symgraph.tensor.blas_gemm import Gemm, Gemv, Ger, gemm, gemv, ger

LLVM = sg.Mode(backend="llvm")
NUMPY = sg.Mode(backend="numpy")
RNG = np.random.default_rng(11)
RTOL = {"float32": 2e-5, "float64": 1e-12}


def _both(inputs, outputs):
    return sg.function(inputs, outputs, mode=LLVM), sg.function(inputs, outputs, mode=NUMPY)


def _ops(f):
    return {type(n.op) for n in f.fgraph.toposort()}


def _layouts(a):
    """``a``'s values as: contiguous, Fortran order, reversed axes, stepped slices, one row/column reversed."""
    # Garbage around the stepped view shows any read outside it.
    big = np.full(tuple(2 * s for s in a.shape), np.nan if a.dtype.kind == "f" else 99).astype(a.dtype)
    stepped = big[tuple(slice(None, None, 2) for _ in a.shape)]
    stepped[...] = a
    flipped = np.ascontiguousarray(a[..., ::-1])[..., ::-1]
    out = [a, np.asfortranarray(a) if a.ndim == 2 else a.transpose(0, 2, 1).copy().transpose(0, 2, 1),
           stepped, flipped]
    if a.ndim == 2:
        out.append(np.ascontiguousarray(a[::-1])[::-1])  # negative row stride
        out.append(np.ascontiguousarray(a.T[::-1]).T[:, ::-1])  # column-major, negative column stride
    return out


def _check(f, ref, args, dtype):
    got, want = f(*args), ref(*args)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=RTOL.get(dtype, 0), atol=RTOL.get(dtype, 0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dot_of_every_rank_pair_and_layout_matches_numpy(dtype):
    A, B = T.matrix("A", dtype=dtype), T.matrix("B", dtype=dtype)
    u, v = T.vector("u", dtype=dtype), T.vector("v", dtype=dtype)
    f, ref = _both([A, B, u, v], [T.dot(A, B), T.dot(A, u), T.dot(v, B), T.dot(u, v)])
    assert not f._run.fallback_nodes and Dot in _ops(f)
    a, b = RNG.standard_normal((4, 6)).astype(dtype), RNG.standard_normal((6, 5)).astype(dtype)
    x, y = RNG.standard_normal(6).astype(dtype), RNG.standard_normal(6).astype(dtype)
    for k, (la, lb) in enumerate(zip(_layouts(a), _layouts(b))):
        lx, ly = (x, y) if k % 2 else (x[::-1].copy()[::-1], y[::-1])
        _check(f, ref, [la, lb, lx, ly], dtype)
    # Empty lengths: no rows, no columns, nothing to sum over (zeros).
    for m, k, n in ((0, 6, 5), (4, 6, 0), (4, 0, 5), (0, 0, 0)):
        z = np.zeros
        _check(f, ref, [z((m, k), dtype), z((k, n), dtype), z(k, dtype), z(k, dtype) + 1], dtype)
    assert not f(np.zeros((3, 0), dtype), np.zeros((0, 2), dtype), np.zeros(0, dtype), np.zeros(0, dtype))[0].any()


def test_dot_of_broadcast_and_length_one_views():
    A, B, v = T.dmatrix("A"), T.dmatrix("B"), T.dvector("v")
    f, ref = _both([A, B, v], [T.dot(A, B), T.dot(A, v), T.dot(v, B)])
    row = RNG.standard_normal(5)
    stride0 = np.broadcast_to(row, (3, 5))            # zero row stride: copied
    single = RNG.standard_normal((5, 8))[:, 3:4]      # one column with a long row stride
    _check(f, ref, [stride0, single, np.broadcast_to(row[:1], (5,))], "float64")
    _check(f, ref, [single.T, RNG.standard_normal((1, 5))[:, ::-1].T, row[::-1]], "float64")


@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("int32", "float32"), ("int16", "int16"),
                                    ("int8", "uint8"), ("int64", "int64"), ("bool", "bool"), ("bool", "int8")])
def test_dot_of_mixed_integer_and_bool_dtypes_matches_numpy(dtypes):
    A, B = T.matrix("A", dtype=dtypes[0]), T.matrix("B", dtype=dtypes[1])
    v = T.vector("v", dtype=dtypes[1])
    f, ref = _both([A, B, v], [T.dot(A, B), T.dot(A, v), T.dot(v[:3], A), T.dot(v, v)])
    assert not f._run.fallback_nodes

    def draw(shape, dtype):
        # Sparse bools, so that products are a mix of True and False.
        return RNG.random(shape) < 0.2 if dtype == "bool" else RNG.integers(-100, 100, shape).astype(dtype)

    a, b, x = draw((3, 7), dtypes[0]), draw((7, 4), dtypes[1]), draw(7, dtypes[1])
    for la, lb in zip(_layouts(a), _layouts(b)):
        got, want = f(la, lb, x[::-1]), ref(la, lb, x[::-1])
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            if g.dtype.kind == "f":
                np.testing.assert_allclose(g, w, rtol=1e-6)
            else:
                np.testing.assert_array_equal(g, w)  # integers wrap around exactly as NumPy's


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_batched_dot_matches_numpy_for_every_layout(dtype):
    a, b = T.tensor3("a", dtype=dtype), T.tensor3("b", dtype=dtype)
    f, ref = _both([a, b], T.batched_dot(a, b))
    assert not f._run.fallback_nodes and BatchedDot in _ops(f)
    x = RNG.integers(-9, 9, (3, 4, 5)).astype(dtype)
    y = RNG.integers(-9, 9, (3, 5, 2)).astype(dtype)
    for lx, ly in zip(_layouts(x), _layouts(y)):
        _check(f, ref, [lx, ly], dtype)
    for shape_a, shape_b in (((0, 4, 5), (0, 5, 2)), ((3, 4, 0), (3, 0, 2)), ((3, 0, 5), (3, 5, 2))):
        _check(f, ref, [np.ones(shape_a, dtype), np.ones(shape_b, dtype)], dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gemm_gemv_ger_match_numpy_for_every_layout(dtype):
    z, x, y = (T.matrix(n, dtype=dtype) for n in "zxy")
    zr, zv, u, v = T.row("zr", dtype=dtype), T.vector("zv", dtype=dtype), T.vector("u", dtype=dtype), \
        T.vector("v", dtype=dtype)
    a, b = T.scalar("a", dtype=dtype), T.scalar("b", dtype=dtype)
    outs = [gemm(z, a, x, y, b), gemm(zr, a, x, y, b), gemv(zv, a, x, v, b), ger(x, a, u, v)]
    f, ref = _both([z, zr, zv, x, y, u, v, a, b], outs)
    assert not f._run.fallback_nodes and {Gemm, Gemv, Ger} <= _ops(f)
    m, k, n = 4, 6, 5

    def r(*shape):
        return RNG.standard_normal(shape).astype(dtype)

    zs, xs, ys = _layouts(r(m, n)), _layouts(r(m, k)), _layouts(r(k, n))
    for j in range(len(zs)):
        vec = r(2 * k)[::-2] if j % 2 else r(k)
        _check(f, ref, [zs[j], r(1, n), r(m), xs[j], ys[-1 - j], r(m), vec, np.asarray(1.5, dtype),
                        np.asarray(-0.25, dtype)], dtype)
    # Empty lengths, and k = 0: the result is b * z.
    for m, k, n in ((0, 6, 5), (4, 0, 5), (4, 6, 0)):
        _check(f, ref, [r(m, n), r(1, n), r(m), r(m, k), r(k, n), r(m), r(k), np.asarray(2, dtype),
                        np.asarray(3, dtype)], dtype)


def test_gemm_coefficients_keep_numpys_nan_where_blas_would_skip():
    z, x, y, zv, u, v = T.dmatrix("z"), T.dmatrix("x"), T.dmatrix("y"), T.dvector("zv"), T.dvector("u"), \
        T.dvector("v")
    a, b = T.dscalar("a"), T.dscalar("b")
    f, ref = _both([z, x, y, zv, u, v, a, b], [gemm(z, a, x, y, b), gemv(zv, a, x, v, b), ger(x, a, u, v)])
    zs, xs = np.ones((2, 2)), np.ones((2, 3))
    zs[0, 0], xs[1, 1] = np.nan, np.inf
    args = [zs, xs, np.ones((3, 2)), np.array([np.nan, 1]), np.array([np.inf, 1.0]), np.ones(3), 0.0, 0.0]
    for g, w in zip(f(*args), ref(*args)):
        np.testing.assert_array_equal(g, w)  # 0 * nan and 0 * inf are NaN, as in NumPy


def test_rewritten_expressions_run_as_blas_updates():
    x, w, h, v = T.fmatrix("x"), T.fmatrix("w"), T.fmatrix("h"), T.fvector("v")
    bias = T.frow("bias")
    f, ref = _both([x, w, h, v, bias], [2 * h - 0.5 * T.dot(h, h), T.dot(x, w) + bias,
                                       h[0] + T.dot(v, w), h + T.outer(v[:3], v[1:])])
    assert not f._run.fallback_nodes and {Gemm, Gemv, Ger} <= _ops(f)
    args = [RNG.standard_normal(s).astype("float32") for s in ((3, 4), (4, 3), (3, 3), (4,), (1, 3))]
    _check(f, ref, args, "float32")


def test_misaligned_shapes_raise_naming_both_shapes():
    A, B, u = T.dmatrix("A"), T.dmatrix("B"), T.dvector("u")
    f = sg.function([A, B, u], [T.dot(A, B), T.dot(A, u)], mode=LLVM)
    with pytest.raises(InputShapeError, match=r"dot: shapes \(2, 3\) and \(4, 5\) are not aligned"):
        f(np.ones((2, 3)), np.ones((4, 5)), np.ones(3))
    with pytest.raises(InputShapeError, match=r"shapes \(2, 3\) and \(2,\) are not aligned"):
        f(np.ones((2, 3)), np.ones((3, 5)), np.ones(2))
    a, b = T.dtensor3("a"), T.dtensor3("b")
    g = sg.function([a, b], BatchedDot()(a, b), mode=LLVM)
    with pytest.raises(InputShapeError, match=r"batched_dot: shapes \(2, 3, 4\) and \(3, 4, 5\)"):
        g(np.ones((2, 3, 4)), np.ones((3, 4, 5)))
    c = sg.function([a, b], T.batched_dot(a, b), mode=LLVM)
    with pytest.raises(InputShapeError, match=r"batched_dot: shapes \(2, 3, 4\) and \(2, 5, 6\) are not aligned: "
                                              r"axis 2 of the first has length 4 but axis 1"):
        c(np.ones((2, 3, 4)), np.ones((2, 5, 6)))
    z, x, y, s = T.dmatrix("z"), T.dmatrix("x"), T.dmatrix("y"), T.dscalar("s")
    h = sg.function([z, x, y, s], gemm(z, s, x, y, s), mode=LLVM)
    with pytest.raises(InputShapeError, match=r"Gemm: shapes \(2, 3\) and \(4, 2\) are not aligned"):
        h(np.ones((2, 2)), np.ones((2, 3)), np.ones((4, 2)), 1.0)
    with pytest.raises(InputShapeError, match="input z has length 3 on axis 1"):
        h(np.ones((2, 3)), np.ones((2, 3)), np.ones((3, 2)), 1.0)


def test_mlp_forward_and_backward_matches_numpy_backend():
    dtype = "float32"
    x, t = T.matrix("x", dtype=dtype), T.matrix("t", dtype=dtype)
    w1, b1 = T.matrix("w1", dtype=dtype), T.vector("b1", dtype=dtype)
    w2, b2 = T.matrix("w2", dtype=dtype), T.vector("b2", dtype=dtype)
    hidden = T.tanh(T.dot(x, w1) + b1)
    out = T.tanh(T.dot(hidden, w2) + b2)
    loss = ((out - t) ** 2).sum()
    params = [w1, b1, w2, b2]
    f, ref = _both([x, t, *params], [loss, *sg.grad(loss, params)])
    assert not f._run.fallback_nodes and Dot in _ops(f)
    r = RNG.standard_normal
    args = [r((8, 5)), r((8, 3)), r((5, 7)) * 0.5, r(7), r((7, 3)) * 0.5, r(3)]
    _check(f, ref, [np.asarray(v, dtype) for v in args], dtype)
