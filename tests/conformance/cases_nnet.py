"""Neural-net cases: softmax, log_softmax, their gradient Ops, the class-target
losses (CrossentropySoftmax, CrossentropyCategorical1Hot and its gradient),
pool_2d (windows inside the input; padded, partial edge windows, every
averaging rule), conv2d (valid/full, flipped or not; padded, strided,
dilated, grouped) and spatial batch normalization.

The references spell out the Ops' documented semantics in NumPy: rows are
shifted by their maximum, replaced by 0 where it is not finite (an all -inf
row gives NaN, not an error; a row with +inf gives NaN at the +inf and 0
elsewhere), and a dense target of 0 contributes 0 even where its logit is
-inf.  Class indices out of range (negative ones too, which NumPy would wrap)
raise IndexError.

Beyond the variants, fixed matrices (``EDGE_LOGITS``, ``EDGE_PROBS``) put the
edge rows through every Op: all -inf, -inf mixed with finite values, one and
two +inf, NaN, logits of +-1e30, a constant row; single-class inputs and
non-last axes (the strided row path of a native lowering) have cases of their own.
"""

import numpy as np

import symgraph.tensor as T
from symgraph.tensor.nnet import (
    CrossentropyCategorical1HotGrad,
    CrossentropySoftmax,
    LogSoftmaxGrad,
    SoftmaxGrad,
)

from .harness import FIXED, FLOATS, Arg, Case, fixed

INF, NAN = np.inf, np.nan
EDGE_LOGITS = [
    [0.0, 1.0, 2.0, 3.0, 4.0],
    [-INF, -INF, -INF, -INF, -INF],
    [-INF, 0.5, -INF, 1.0, -INF],
    [INF, 0.0, 1.0, 2.0, 3.0],
    [INF, INF, 0.0, 0.0, 0.0],
    [NAN, 0.0, 1.0, 2.0, 3.0],
    [1e30, -1e30, 0.0, 1e30, 5.0],
    [7.0, 7.0, 7.0, 7.0, 7.0],
    [-INF, INF, NAN, 0.0, 0.0],
]
# Probabilities with a 0 (an infinite loss), a negative entry, NaN and inf.
EDGE_PROBS = [
    [0.1, 0.2, 0.3, 0.4, 0.0],
    [0.0, 0.0, 1.0, 0.0, 0.0],
    [NAN, 0.5, 0.5, 0.0, 0.0],
    [INF, 0.1, 0.1, 0.1, 0.1],
    [-0.5, 0.5, 0.5, 0.5, 0.0],
    [1e-30, 1.0, 0.0, 0.0, 0.0],
]
# One class per edge row; row 1 of EDGE_LOGITS picks a -inf logit, row 2 a finite one.
EDGE_LABELS = [4, 1, 1, 0, 2, 3, 1, 4, 3]
PROB_LABELS = [4, 2, 0, 1, 0, 0]
LABEL_DTYPES = ("int8", "uint8", "int32", "int64")

MATRIX = Arg(shape=(3, 4))
CUBE = Arg(shape=(2, 3, 4))
# The empty variant empties the batch: labels and loss gradients lose their one axis too.
LABELS = Arg(shape=(3,), domain="nonneg", dtype="int64", empty_axis=0)
ROW_GRAD = Arg(shape=(3,), empty_axis=0)
MIXED = (("float32", "float64"),)
# float32 logits with float64 dense targets give a float64 loss: perform works in float64, the llvm
# kernel subtracts the row max in the logits' float32 before widening (float32 accuracy, ~1e-8 relative).
MIXED_RTOL = {"float64": 1e-6}
# Two-input Ops need both operands of one shape; the broadcast variant would give them different ones.
PAIR = ("random", "empty", "strided", "nonfinite")
UNARY = ("random", "empty", "broadcast", "strided", "nonfinite")


# ---- references ---------------------------------------------------------------------------------

def _shifted(x, axis):
    """``x`` minus its maximum along ``axis``, the maximum taken as 0 where it is not finite."""
    if x.shape[axis] == 0:
        return x.copy()
    m = np.max(x, axis=axis, keepdims=True)
    return x - np.where(np.isfinite(m), m, 0).astype(x.dtype)


def _softmax(x, axis=-1):
    e = np.exp(_shifted(x, axis))
    return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)


def _log_softmax(x, axis=-1):
    s = _shifted(x, axis)
    return (s - np.log(np.exp(s).sum(axis=axis, keepdims=True))).astype(x.dtype)


def _as_float(x):
    return x if x.dtype.kind == "f" else x.astype("float64")


def _softmax_grad(dy, sm, axis=-1):
    dx = dy * sm
    return (dx - sm * dx.sum(axis=axis, keepdims=True)).astype(np.result_type(dy, sm))


def _log_softmax_grad(dy, lsm, axis=-1):
    dtype = np.result_type(dy, lsm)
    dy, lsm = dy.astype(dtype), lsm.astype(dtype)
    return dy - np.exp(lsm) * dy.sum(axis=axis, keepdims=True)


def _check_labels(y, k):
    if y.size and ((y < 0) | (y >= k)).any():
        raise IndexError(f"class index out of range for {k} classes")
    return y[..., None].astype(np.intp)


def _crossentropy_softmax(x, t):
    if t.ndim == x.ndim and t.dtype.kind == "f":
        x = x.astype(np.result_type(x, t))
    s = _shifted(x, -1)
    log_z = np.log(np.exp(s).sum(axis=-1, keepdims=True))
    if t.ndim == x.ndim:
        loss = np.where(t != 0, t * (log_z - s), 0).sum(axis=-1)
        dtype = np.result_type(x, t) if t.dtype.kind == "f" else x.dtype
    else:
        loss = log_z[..., 0] - np.take_along_axis(s, _check_labels(t, x.shape[-1]), axis=-1)[..., 0]
        dtype = x.dtype
    return np.asarray(loss, dtype=dtype)


def _crossentropy_1hot(p, y):
    picked = np.take_along_axis(p, _check_labels(y, p.shape[-1]), axis=-1)[..., 0]
    return np.asarray(-np.log(picked), dtype=p.dtype)


def _crossentropy_1hot_grad(g, p, y):
    idx = _check_labels(y, p.shape[-1])
    out = np.zeros(p.shape, dtype=np.result_type(g, p))
    np.put_along_axis(out, idx, -g[..., None] / np.take_along_axis(p, idx, axis=-1), axis=-1)
    return out


def _1hot_grad_op(g, p, y):
    return CrossentropyCategorical1HotGrad()(g, p, y)


def _dense_op(x, t):
    # crossentropy_softmax's function accepts dense targets too; the Op is called to make that explicit.
    return CrossentropySoftmax()(x, t)


# ---- cases --------------------------------------------------------------------------------------

def _softmax_cases():
    cases = []
    for name, sym, ref in (("softmax", T.nnet.softmax, _softmax),
                           ("log_softmax", T.nnet.log_softmax, _log_softmax)):
        for label, axis, arg in [("last", -1, MATRIX), ("axis0", 0, MATRIX), ("axis1_3d", 1, CUBE),
                                 ("single_class", -1, Arg(shape=(3, 1), static=(None, 1)))]:
            cases.append(Case(f"{name}_{label}", lambda x, sym=sym, a=axis: sym(x, axis=a),
                              lambda x, ref=ref, a=axis: ref(x, a), args=(arg,), dtypes=FLOATS,
                              variants=UNARY))
        cases += [
            Case(f"{name}_large_logits", sym, ref, args=(Arg(shape=(3, 4), domain="wide"),),
                 dtypes=FLOATS, variants=UNARY),
            # Integers and booleans are cast to float64 first, as NumPy's exp gives.
            Case(f"{name}_int_input", sym, lambda x, ref=ref: ref(_as_float(x)), args=(MATRIX,),
                 dtypes=("bool", "int8", "int64"), variants=("random", "empty", "strided")),
        ]
        for dtype in FLOATS:
            cases.append(Case(f"{name}_edge_rows_{dtype}", sym, ref, args=(fixed(EDGE_LOGITS, dtype),),
                              dtypes=((),), variants=("random",)))
            cases.append(Case(f"{name}_edge_rows_axis0_{dtype}", lambda x, sym=sym: sym(x, axis=0),
                              lambda x, ref=ref: ref(x, 0), args=(fixed(np.transpose(EDGE_LOGITS), dtype),),
                              dtypes=((),), variants=("random",)))
    return cases


def _softmax_grad_cases():
    cases = []
    for name, op, ref, forward, forward_ref in (
        ("softmax_grad", SoftmaxGrad, _softmax_grad, T.nnet.softmax, _softmax),
        ("log_softmax_grad", LogSoftmaxGrad, _log_softmax_grad, T.nnet.log_softmax, _log_softmax),
    ):
        for label, axis, arg, sigs, rtol in [
            ("last", 1, MATRIX, FLOATS, {}), ("axis0", 0, MATRIX, FLOATS, {}),
            ("axis1_3d", 1, CUBE, FLOATS, {}), ("last_mixed", 1, MATRIX, MIXED, {}),
        ]:
            cases.append(Case(f"{name}_{label}", lambda dy, out, op=op, a=axis: op(a)(dy, out),
                              lambda dy, out, ref=ref, a=axis: ref(dy, out, a), args=(arg, arg),
                              dtypes=sigs, variants=PAIR, rtol=rtol))
        # The forward output of the edge rows (NaN rows included) as the gradient Op's input.
        for dtype in FLOATS:
            cases.append(Case(
                f"{name}_edge_rows_{dtype}",
                lambda dy, x, op=op, fw=forward: op(1)(dy, fw(x)),
                lambda dy, x, ref=ref, fw=forward_ref: ref(dy, fw(x)),
                args=(Arg(shape=(9, 5), dtype=dtype), fixed(EDGE_LOGITS, dtype)), dtypes=((),),
                variants=FIXED,
            ))
    return cases


def _loss_cases():
    cases = []
    for dtype in LABEL_DTYPES:
        labels = Arg(shape=(3,), domain="nonneg", dtype=dtype, empty_axis=0)
        cases += [
            Case(f"crossentropy_softmax_labels_{dtype}", T.nnet.crossentropy_softmax, _crossentropy_softmax,
                 args=(MATRIX, labels), dtypes=FLOATS, variants=UNARY),
            Case(f"crossentropy_1hot_labels_{dtype}", T.nnet.crossentropy_categorical_1hot,
                 _crossentropy_1hot, args=(Arg(shape=(3, 4), domain="positive"), labels), dtypes=FLOATS,
                 variants=UNARY),
            Case(f"crossentropy_1hot_grad_labels_{dtype}", _1hot_grad_op, _crossentropy_1hot_grad,
                 args=(ROW_GRAD, Arg(shape=(3, 4), domain="positive"), labels),
                 dtypes=FLOATS + (("float32", "float64"),), variants=PAIR),
        ]
    cases += [
        Case("crossentropy_softmax_labels_3d", T.nnet.crossentropy_softmax, _crossentropy_softmax,
             args=(CUBE, Arg(shape=(2, 3), domain="nonneg", dtype="int32", empty_axis=0)), dtypes=FLOATS,
             variants=PAIR),
        Case("crossentropy_softmax_large_logits", T.nnet.crossentropy_softmax, _crossentropy_softmax,
             args=(Arg(shape=(3, 4), domain="wide"), LABELS), dtypes=FLOATS, variants=UNARY),
        Case("crossentropy_softmax_single_class", T.nnet.crossentropy_softmax, _crossentropy_softmax,
             args=(Arg(shape=(3, 1), static=(None, 1)), fixed(np.zeros(3, "int64"))),
             dtypes=FLOATS, variants=("random", "strided", "nonfinite")),
        # Dense targets: probability rows of either float dtype, or integer one-hot rows.
        Case("crossentropy_softmax_dense", _dense_op, _crossentropy_softmax,
             args=(MATRIX, Arg(shape=(3, 4), domain="nonneg")), dtypes=FLOATS, variants=PAIR),
        Case("crossentropy_softmax_dense_mixed", _dense_op,
             _crossentropy_softmax, args=(MATRIX, Arg(shape=(3, 4), domain="nonneg")),
             dtypes=MIXED + (("float64", "float32"),), variants=PAIR, rtol=MIXED_RTOL),
        Case("crossentropy_softmax_dense_int", _dense_op, _crossentropy_softmax,
             args=(MATRIX, Arg(shape=(3, 4), domain="bool", dtype="int8")), dtypes=FLOATS, variants=PAIR),
    ]
    for dtype in FLOATS:
        one_hot = np.eye(5, dtype=dtype)[EDGE_LABELS]
        cases += [
            Case(f"crossentropy_softmax_edge_rows_{dtype}", T.nnet.crossentropy_softmax,
                 _crossentropy_softmax,
                 args=(fixed(EDGE_LOGITS, dtype), fixed(EDGE_LABELS, "int32")), dtypes=((),),
                 variants=("random",)),
            Case(f"crossentropy_softmax_edge_rows_dense_{dtype}", _dense_op,
                 _crossentropy_softmax, args=(fixed(EDGE_LOGITS, dtype), fixed(one_hot, dtype)),
                 dtypes=((),), variants=("random",)),
            Case(f"crossentropy_1hot_edge_rows_{dtype}", T.nnet.crossentropy_categorical_1hot,
                 _crossentropy_1hot, args=(fixed(EDGE_PROBS, dtype), fixed(PROB_LABELS, "int64")),
                 dtypes=((),), variants=("random",)),
            Case(f"crossentropy_1hot_grad_edge_rows_{dtype}",
                 _1hot_grad_op, _crossentropy_1hot_grad,
                 args=(Arg(shape=(6,), dtype=dtype), fixed(EDGE_PROBS, dtype), fixed(PROB_LABELS, "int64")),
                 dtypes=((),), variants=FIXED),
        ]
    # Out-of-range classes raise IndexError (a negative one too: perform does not wrap it).
    for label, bad in (("too_large", [0, 4, 1]), ("negative", [0, -1, 1])):
        cases += [
            Case(f"crossentropy_softmax_label_{label}", T.nnet.crossentropy_softmax, _crossentropy_softmax,
                 args=(MATRIX, fixed(bad, "int64")), dtypes=("float64",), variants=("random",)),
            Case(f"crossentropy_1hot_label_{label}", T.nnet.crossentropy_categorical_1hot, _crossentropy_1hot,
                 args=(Arg(shape=(3, 4), domain="positive"), fixed(bad, "int64")), dtypes=("float32",),
                 variants=("random",)),
            Case(f"crossentropy_1hot_grad_label_{label}",
                 _1hot_grad_op, _crossentropy_1hot_grad,
                 args=(ROW_GRAD, Arg(shape=(3, 4), domain="positive"), fixed(bad, "int8")),
                 dtypes=("float64",), variants=("random",)),
        ]
    return cases


def _pool(x, ws, stride, mode):
    """Pooling over the last two axes with every window inside the input (ignore_border)."""
    (kh, kw), (sh, sw) = ws, stride
    win = np.lib.stride_tricks.sliding_window_view(x, ws, axis=(-2, -1))[..., ::sh, ::sw, :, :]
    if mode == "max":
        return win.max(axis=(-2, -1)) if win.size else np.zeros(win.shape[:-2], x.dtype)
    out = win.sum(axis=(-2, -1), dtype=x.dtype if mode == "sum" else None)
    return out if mode == "sum" else (out / (kh * kw)).astype(x.dtype if x.dtype.kind == "f" else "float64")


def _conv(x, w, border_mode, flip):
    """The convolution (``flip``) or cross-correlation of NCHW ``x`` with OIHW ``w``."""
    if flip:
        w = w[..., ::-1, ::-1]
    kh, kw = w.shape[-2:]
    if border_mode == "full":
        x = np.pad(x, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return np.einsum("ncijkl,ockl->noij", win, w).astype(np.result_type(x, w))


def _out_len(n, ws, st, pad, ignore_border):
    """Windows along an axis: whole ones only, or (Theano's rule) every start before the far edge."""
    v = n + 2 * pad
    if ignore_border:
        return max((v - ws) // st + 1, 0)
    if st >= ws:
        return (v - 1) // st + 1
    return max((v - 1 - ws + st) // st, 0) + 1


def _pool_padded(x, ws, stride, pad, mode, ignore_border):
    """Pooling with padding (ignored by max and sum) and, without ignore_border, partial edge windows."""
    (h, w), fill = x.shape[-2:], (-np.inf if mode == "max" else 0.0)
    oh, ow = (_out_len(n, k, s, p, ignore_border) for n, k, s, p in zip((h, w), ws, stride, pad))
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            (y0, x0) = (i * stride[0] - pad[0], j * stride[1] - pad[1])
            win = x[..., max(y0, 0):y0 + ws[0], max(x0, 0):x0 + ws[1]].astype(float)
            padded = y0 < 0 or x0 < 0 or y0 + ws[0] > h or x0 + ws[1] > w
            if mode == "max":
                out[..., i, j] = np.maximum(win.max(axis=(-2, -1)), fill) if padded else win.max(axis=(-2, -1))
                continue
            out[..., i, j] = win.sum(axis=(-2, -1))
            if mode == "average_inc_pad":
                out[..., i, j] /= (min(y0 + ws[0], h + pad[0]) - y0) * (min(x0 + ws[1], w + pad[1]) - x0)
            elif mode == "average_exc_pad":
                out[..., i, j] /= win.shape[-2] * win.shape[-1]
    return out.astype(x.dtype)


def _conv_general(x, w, pad, stride, dilation, groups):
    """Cross-correlation of NCHW ``x`` with OIHW ``w``: zero padding, stride, dilated taps, groups."""
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    (o, cg, kh, kw), (sh, sw), (dh, dw) = w.shape, stride, dilation
    oh = (x.shape[2] - (kh - 1) * dh - 1) // sh + 1
    ow = (x.shape[3] - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((x.shape[0], o, oh, ow), np.result_type(x, w))
    og = o // groups
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                tap = x[:, g * cg:(g + 1) * cg, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", tap, w[g * og:(g + 1) * og, :, i, j])
    return out


def _bn_test(x, gamma, beta, mean, var, eps=1e-4):
    c = (slice(None), None, None)
    return (x - mean[c]) * (gamma[c] / np.sqrt(var[c] + eps)) + beta[c]


def _bn_train(x, gamma, beta, eps=1e-4):
    c = (slice(None), None, None)
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    invstd = 1.0 / np.sqrt(x.var(axis=(0, 2, 3), keepdims=True) + eps)
    return (x - mean) * invstd * gamma[c] + beta[c], mean[0, :, 0, 0], invstd[0, :, 0, 0]


IMAGES = Arg(shape=(2, 3, 5, 4))
CHANNELS = Arg(shape=(3,))
FILTERS = Arg(shape=(2, 3, 3, 2), static=(2, 3, 3, 2))


def _spatial_cases():
    cases = []
    for label, ws, stride, mode, dtypes in [
        ("max_2x2", (2, 2), (2, 2), "max", FLOATS + ("int8", "int64", "uint8")),
        ("max_3x2_stride1", (3, 2), (1, 1), "max", FLOATS),
        ("sum_2x2_stride1", (2, 2), (1, 1), "sum", FLOATS + ("int32",)),
        ("average_2x2", (2, 2), (2, 1), "average_exc_pad", FLOATS + ("int16",)),
    ]:
        cases.append(Case(
            f"pool_2d_{label}",
            lambda x, ws=ws, st=stride, m=mode: T.nnet.pool_2d(x, ws=ws, stride=st, mode=m,
                                                               ignore_border=True),
            lambda x, ws=ws, st=stride, m=mode: _pool(x, ws, st, m), args=(IMAGES,), dtypes=dtypes,
            variants=("random", "empty", "strided", "nonfinite"), rtol={"float32": 1e-5},
        ))
    for border_mode in ("valid", "full"):
        for flip in (True, False):
            cases.append(Case(
                f"conv2d_{border_mode}{'' if flip else '_no_flip'}",
                lambda x, w, b=border_mode, f=flip: T.nnet.conv2d(x, w, border_mode=b, filter_flip=f),
                lambda x, w, b=border_mode, f=flip: _conv(x, w, b, f), args=(IMAGES, FILTERS),
                dtypes=FLOATS, variants=PAIR, rtol={"float32": 1e-4},
            ))
    # Padding, partial windows at the far edges, and every averaging rule.
    for label, ws, stride, pad, mode, ignore in [
        ("max_3x3_pad1_stride2", (3, 3), (2, 2), (1, 1), "max", True),
        ("max_3x2_partial", (3, 2), (2, 1), (0, 0), "max", False),
        ("average_inc_pad_pad1", (3, 2), (1, 2), (1, 1), "average_inc_pad", True),
        ("average_exc_pad_pad1", (3, 2), (1, 2), (1, 1), "average_exc_pad", True),
        ("sum_2x3_partial", (2, 3), (3, 2), (0, 0), "sum", False),
    ]:
        cases.append(Case(
            f"pool_2d_{label}",
            lambda x, ws=ws, st=stride, p=pad, m=mode, ib=ignore: T.nnet.pool_2d(x, ws=ws, stride=st, pad=p, mode=m,
                                                                                 ignore_border=ib),
            lambda x, ws=ws, st=stride, p=pad, m=mode, ib=ignore: _pool_padded(x, ws, st, p, m, ib),
            args=(IMAGES,), dtypes=FLOATS, variants=("random", "strided", "nonfinite"), rtol={"float32": 1e-5},
        ))
    # Padding, stride, dilation and groups (correlation: filter_flip=False).
    for label, pad, stride, dilation, groups, filters in [
        ("pad_stride", (1, 2), (2, 1), (1, 1), 1, FILTERS),
        ("dilated", (2, 1), (1, 1), (2, 2), 1, FILTERS),
        ("grouped", (1, 1), (1, 2), (1, 1), 3, Arg(shape=(6, 1, 2, 3), static=(6, 1, 2, 3))),
    ]:
        cases.append(Case(
            f"conv2d_{label}",
            lambda x, w, p=pad, s=stride, d=dilation, g=groups: T.nnet.conv2d(
                x, w, border_mode=p, subsample=s, filter_dilation=d, num_groups=g, filter_flip=False),
            lambda x, w, p=pad, s=stride, d=dilation, g=groups: _conv_general(x, w, p, s, d, g),
            args=(IMAGES, filters), dtypes=FLOATS, variants=PAIR, rtol={"float32": 1e-4},
        ))
    # Per-channel ("spatial") batch normalization, its parameters of shape (C,).
    cases += [
        Case("batch_normalization_test_spatial",
             lambda x, g, b, m, v: T.nnet.batch_normalization_test(x, g, b, m, v, axes="spatial"), _bn_test,
             args=(IMAGES, CHANNELS, CHANNELS, CHANNELS, Arg(shape=(3,), domain="positive")), dtypes=FLOATS,
             variants=PAIR, rtol={"float32": 1e-4}),
        Case("batch_normalization_train_spatial",
             lambda x, g, b: T.nnet.batch_normalization_train(x, g, b, axes="spatial"), _bn_train,
             args=(IMAGES, CHANNELS, CHANNELS), dtypes=FLOATS, variants=PAIR, rtol={"float32": 1e-4}),
    ]
    return cases


CASES = _softmax_cases() + _softmax_grad_cases() + _loss_cases() + _spatial_cases()
