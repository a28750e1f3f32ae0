"""Paper 5: distillation loss, quantizers, compressed storage and the quick quantized-distillation run."""

import json

import numpy as np
import pytest
from symgraph.models.data import load_digits
from symgraph.models.distill import Teacher, distillation_loss
from symgraph.models.quantize import (
    QuantizedTensor,
    codebook_quantize,
    load_quantized,
    pack_codes,
    quantile_codebook,
    save_quantized,
    straight_through,
    uniform_codes,
    uniform_quantize,
    unpack_codes,
)

import symgraph as sg
import symgraph.tensor as T
from symgraph import cli
from symgraph.errors import OpArgumentError

NUMPY = sg.Mode(backend="numpy")


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _np_distillation(zs, zt, y, temp, alpha, mask):
    lt, ls = _log_softmax(zt / temp), _log_softmax(zs / temp)
    kl = (np.exp(lt) * (lt - ls)).sum(axis=1).mean()
    ce_each = -_log_softmax(zs)[np.arange(len(y)), np.maximum(y, 0)]
    ce = (mask * ce_each).sum() / max(mask.sum(), 1)
    return alpha * temp ** 2 * kl + (1 - alpha) * ce


def _np_uniform(w, levels, bucket):
    flat = w.ravel()
    pad = (-flat.size) % bucket
    b = np.concatenate([flat, np.full(pad, flat[-1])]).reshape(-1, bucket)
    lo, hi = b.min(axis=1, keepdims=True), b.max(axis=1, keepdims=True)
    codes = np.floor((b - lo) / np.where(hi > lo, hi - lo, 1) * (levels - 1) + 0.5)
    return (lo + (hi - lo) * codes / (levels - 1)).ravel()[:flat.size].reshape(w.shape), codes


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 5)) * 3, rng.normal(size=(6, 5)) * 3, np.array([2, -1, 0, 4, -1, 1], dtype="int32")


def test_distillation_loss_matches_numpy_with_unlabelled_examples(batch):
    zs, zt, y = batch
    s, t, yv = T.matrix("s"), T.matrix("t"), T.ivector("y")
    f = sg.function([s, t, yv], distillation_loss(s, t, yv, temperature=3.0, alpha=0.6, labelled=T.ge(yv, 0)))
    expected = _np_distillation(zs, zt, y, 3.0, 0.6, (y >= 0).astype(float))
    assert np.isclose(f(zs, zt, y), expected, rtol=1e-12)


def test_distillation_loss_without_mask_or_labels_matches_numpy(batch):
    zs, zt, y = batch
    y = np.abs(y)
    s, t, yv = T.matrix("s"), T.matrix("t"), T.ivector("y")
    full = sg.function([s, t, yv], distillation_loss(s, t, yv, temperature=2.0, alpha=0.3))
    soft = sg.function([s, t], distillation_loss(s, t, temperature=2.0, alpha=0.3))
    assert np.isclose(full(zs, zt, y), _np_distillation(zs, zt, y, 2.0, 0.3, np.ones(6)), rtol=1e-12)
    assert np.isclose(soft(zs, zt), _np_distillation(zs, zt, y, 2.0, 0.3, np.ones(6)) - 0.7 * _np_distillation(
        zs, zt, y, 2.0, 0.0, np.ones(6)), rtol=1e-12)


def test_distillation_loss_is_finite_for_huge_logits_and_zero_when_student_equals_teacher():
    s, t, yv = T.matrix("s"), T.matrix("t"), T.ivector("y")
    loss = distillation_loss(s, t, yv, temperature=1.0, alpha=1.0)
    f = sg.function([s, t, yv], [loss, sg.grad(loss, s)])
    z = np.array([[800.0, -800.0, 0.0], [0.0, 1000.0, -1000.0]])
    value, grad = f(z, z, np.array([0, 1], dtype="int32"))
    assert value == pytest.approx(0.0, abs=1e-12) and np.all(np.isfinite(grad)) and np.abs(grad).max() < 1e-12
    value, grad = f(z, z[:, ::-1].copy(), np.array([0, 1], dtype="int32"))
    assert np.isfinite(value) and value > 100 and np.all(np.isfinite(grad))


def test_distillation_loss_gradient_matches_finite_differences(batch):
    zs, zt, y = batch
    sg.gradient.verify_grad(lambda s: distillation_loss(s, T.constant(zt), T.constant(y), 2.5, 0.4,
                                                        labelled=T.ge(T.constant(y), 0)),
                            [zs], rng=np.random.default_rng(1))


def test_uniform_quantize_matches_numpy_buckets_with_padding():
    w = np.random.default_rng(2).normal(size=(7, 9))          # 63 weights: last bucket of 10 is padded
    wv = T.matrix("w")
    q, codes, lo, scale = sg.function([wv], list(uniform_codes(wv, 4, 10)))(w)
    expected, expected_codes = _np_uniform(w, 4, 10)
    assert np.array_equal(codes, expected_codes) and codes.shape == (7, 10)
    assert np.allclose(q, expected, rtol=0, atol=1e-12)
    assert len(np.unique(q.ravel()[:10])) <= 4
    assert np.array_equal(lo, [w.ravel()[i:i + 10].min() for i in range(0, 63, 10)])
    stored = QuantizedTensor.uniform(codes, w.shape, 4, 10, lo, scale)
    assert np.allclose(stored.dequantize(), q, rtol=0, atol=1e-12)


def test_constant_bucket_quantizes_to_itself():
    f = sg.function([(wv := T.vector("w"))], uniform_quantize(wv, 4, 3))
    assert np.array_equal(f(np.array([0.5, 0.5, 0.5, -1.0, 2.0, 0.0])), [0.5, 0.5, 0.5, -1.0, 2.0, 0.0])


def test_stochastic_rounding_is_seeded_unbiased_and_lands_on_neighbouring_points():
    w = np.array([0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
    wv = T.vector("w")
    srng = T.random.RandomStreams(7)
    f = sg.function([wv], uniform_quantize(wv, 3, 6, srng=srng), mode=NUMPY)
    draws = np.array([f(w) for _ in range(4000)])
    assert np.all(np.isin(draws[:, 1], [0.0, 0.5])) and np.all(np.isin(draws[:, 4], [0.5, 1.0]))
    assert np.allclose(draws.mean(axis=0), w, atol=0.02)
    srng.seed(7)
    assert np.array_equal(f(w), draws[0])


def test_straight_through_gradient_is_the_identity():
    w = np.random.default_rng(3).normal(size=(4, 5))
    c = np.random.default_rng(4).normal(size=(4, 5))
    wv = T.matrix("w")
    q = straight_through(wv, uniform_quantize(wv, 4, 8))
    value, grad = sg.function([wv], [q, sg.grad(T.sum(T.constant(c) * q ** 2), wv)])(w)
    expected, _ = _np_uniform(w, 4, 8)
    assert np.allclose(value, expected, atol=1e-12)
    assert np.allclose(grad, 2 * c * expected, atol=1e-12)     # dL/dQ(w) passed to w unchanged


def test_codebook_gradient_is_a_scatter_add_of_the_output_gradient():
    rng = np.random.default_rng(5)
    w, p, c = rng.normal(size=(6, 4)), np.array([-1.0, -0.2, 0.3, 1.1]), rng.normal(size=(6, 4))
    wv, pv = T.matrix("w"), T.vector("p")
    q, assign = codebook_quantize(wv, pv)
    cost = T.sum(T.constant(c) * q)
    gp, gw = sg.grad(cost, [pv, wv], disconnected_inputs="ignore")
    qv, av, gpv, gwv = sg.function([wv, pv], [q, assign, gp, gw])(w, p)
    nearest = np.abs(w[..., None] - p).argmin(axis=-1)
    expected = np.zeros(4)
    np.add.at(expected, nearest, c)
    assert np.array_equal(av, nearest) and np.array_equal(qv, p[nearest])
    assert np.allclose(gpv, expected) and np.array_equal(gwv, np.zeros_like(w))


def test_quantile_codebook_spreads_points_over_the_weights():
    p = quantile_codebook(np.arange(100.0), 4)
    assert np.allclose(p, [12.375, 37.125, 61.875, 86.625])


def test_two_bit_codes_pack_four_per_byte_and_round_trip():
    codes = np.array([3, 0, 1, 2, 2, 1, 0, 3, 1])
    packed = pack_codes(codes, 2)
    assert packed.dtype == np.uint8 and len(packed) == 3
    assert packed[0] == 0b11000110
    assert np.array_equal(unpack_codes(packed, 2, len(codes)), codes)
    three = np.random.default_rng(6).integers(0, 8, size=37)
    assert np.array_equal(unpack_codes(pack_codes(three, 3), 3, 37), three)
    with pytest.raises(ValueError, match="pack_codes"):
        pack_codes(np.array([4]), 2)


def test_saved_model_loads_bit_identical_and_is_small(tmp_path):
    rng = np.random.default_rng(8)
    w0, w1, b = rng.normal(size=(64, 32)), rng.normal(size=(32, 10)), rng.normal(size=32)
    wv = T.matrix("w")
    parts = sg.function([wv], list(uniform_codes(wv, 4, 256)[1:]))
    uni = QuantizedTensor.uniform(*parts(w0)[:1], w0.shape, 4, 256, *parts(w0)[1:])
    cb = QuantizedTensor.from_codebook(np.abs(w1[..., None] - np.array([-1, 0, 1.0])).argmin(-1), [-1, 0, 1.0])
    size = save_quantized(tmp_path / "m.npz", {"W0": uni, "W1": cb}, {"b0": b})
    tensors, full = load_quantized(tmp_path / "m.npz")
    assert np.array_equal(tensors["W0"].dequantize(), uni.dequantize())
    assert np.array_equal(tensors["W1"].dequantize(), cb.dequantize()) and tensors["W1"].bits == 2
    assert np.array_equal(full["b0"], b)
    assert size == (tmp_path / "m.npz").stat().st_size and size < (w0.nbytes + w1.nbytes) / 8


def test_bad_quantizer_arguments_are_named():
    with pytest.raises(OpArgumentError, match="levels"):
        uniform_quantize(T.vector("w"), 1, 4)
    with pytest.raises(OpArgumentError, match="bucket_size"):
        uniform_quantize(T.vector("w"), 4, 0)
    with pytest.raises(OpArgumentError, match="vector"):
        codebook_quantize(T.vector("w"), T.matrix("p"))


def test_teacher_refits_deterministically_and_its_logits_match_a_numpy_forward_pass():
    digits = load_digits(seed=0)
    teacher = Teacher([64, 16, 10], T.nnet.relu, epochs=4, batch_size=32, lr=1e-2, weight_decay=1e-4,
                      name="t05")
    teacher.fit(digits.train, seed=3)
    first = [p.get_value().copy() for p in teacher.params]
    W0, b0, W1, b1 = first
    expected = np.maximum(digits.test.x @ W0 + b0, 0) @ W1 + b1
    np.testing.assert_allclose(teacher.logits(digits.test.x), expected, rtol=1e-10, atol=1e-10)
    acc = teacher.accuracy(digits.test)
    assert acc == pytest.approx(np.mean(expected.argmax(axis=1) == digits.test.y)) and acc > 0.8
    # the last epoch ran at the cosine schedule's final value, lr (1 + cos(pi 3/4)) / 2
    assert float(teacher._lr.get_value()) == pytest.approx(1e-2 * (1 + np.cos(0.75 * np.pi)) / 2)
    teacher.fit(digits.train, seed=3)
    assert all(np.array_equal(p.get_value(), v) for p, v in zip(teacher.params, first))
    teacher.fit(digits.train, seed=4)
    assert not np.array_equal(teacher.params[0].get_value(), W0)
    assert "64-16-10 relu" in teacher.recipe() and "L2 0.0001" in teacher.recipe()


def test_quick_experiment_writes_verdicts_sizes_and_a_reloadable_model(tmp_path):
    cli.main(["run", "quantized-distillation", "--quick", "--seeds", "0", "--out", str(tmp_path),
              "--backend", "numpy"])
    record = json.loads((tmp_path / "results.json").read_text())
    verdicts = {v["name"] for v in record["verdicts"]}
    assert verdicts == {"QD >= PTQ + 10", "QD >= hard-label QAT + 3", "QD within 3 of FP distilled",
                        "DQ >= PTQ + 5"}
    sizes = record["metrics"]["file_bytes"]
    assert sizes["2-bit student (quantized distillation)"] * 10 < sizes["teacher"]
    assert record["metrics"]["reload_reproduces_accuracy"] == [True]
    assert (tmp_path / "student_2bit_seed0.npz").exists() and (tmp_path / "accuracy_by_method.png").exists()
