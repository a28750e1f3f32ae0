"""RandomStreams: distributions, reproducibility, independence, draws in scan."""

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.tensor.random.philox import philox4x32

N = 100_000


def test_philox_matches_the_random123_known_answers():
    assert [hex(v) for v in philox4x32(0, 0, 1)[0]] == ["0x6627e8d5", "0xe169c58d", "0xbc57ac4c", "0x9b00dbd8"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_and_normal_moments(dtype):
    srng = T.random.RandomStreams(1)
    u, z = sg.function([], [srng.uniform((N,), low=-1.0, high=3.0, dtype=dtype),
                            srng.normal((N,), avg=2.0, std=0.5, dtype=dtype)])()
    assert u.dtype == dtype and z.dtype == dtype
    assert u.min() >= -1 and u.max() < 3
    assert abs(u.mean() - 1.0) < 0.02 and abs(u.var() - 16 / 12) < 0.02
    assert abs(z.mean() - 2.0) < 0.01 and abs(z.std() - 0.5) < 0.01


def test_discrete_distributions():
    srng = T.random.RandomStreams(2)
    b, bern, cat, g = sg.function([], [
        srng.binomial((N,), n=5, p=0.3),
        srng.bernoulli(0.25, size=(N,)),
        srng.categorical(p=np.tile([0.2, 0.5, 0.3], (N, 1))),
        srng.gumbel((N,)),
    ])()
    assert abs(b.mean() - 1.5) < 0.02 and abs(b.var() - 1.05) < 0.03
    assert abs(bern.mean() - 0.25) < 0.01
    np.testing.assert_allclose(np.bincount(cat) / N, [0.2, 0.5, 0.3], atol=0.01)
    assert abs(g.mean() - 0.5772) < 0.02


def test_categorical_from_logits_and_permutation_and_choice():
    srng = T.random.RandomStreams(3)
    logits = np.log(np.tile([0.1, 0.6, 0.3], (N, 1)))
    cat = sg.function([], srng.categorical(logits=logits))()
    np.testing.assert_allclose(np.bincount(cat) / N, [0.1, 0.6, 0.3], atol=0.01)
    perm = sg.function([], srng.permutation(10))()
    assert sorted(perm) == list(range(10))
    picks = sg.function([], srng.choice(4, size=(N,)))()
    np.testing.assert_allclose(np.bincount(picks) / N, [0.25] * 4, atol=0.01)


def test_calls_advance_the_state_and_reseeding_reproduces():
    srng = T.random.RandomStreams(42)
    f = sg.function([], srng.uniform((5,)))
    a, b = f(), f()
    assert not np.allclose(a, b)
    srng.seed(42)
    np.testing.assert_array_equal(f(), a)
    other = T.random.RandomStreams(42)
    np.testing.assert_array_equal(sg.function([], other.uniform((5,)))(), a)


def test_two_streams_and_two_draws_are_independent():
    s1, s2 = T.random.RandomStreams(1), T.random.RandomStreams(2)
    a, b, c = sg.function([], [s1.normal((N,)), s2.normal((N,)), s1.normal((N,))])()
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.02
    assert abs(np.corrcoef(a, c)[0, 1]) < 0.02


def test_symbolic_size_and_reparameterised_gradient():
    srng = T.random.RandomStreams(4)
    n = T.lscalar("n")
    mu = T.dscalar("mu")
    draw = srng.normal((n, 2), avg=mu, std=1.0)
    f = sg.function([n, mu], [draw, sg.grad(draw.sum(), mu)])
    values, g = f(3, 0.5)
    assert values.shape == (3, 2) and g == 6.0


def test_draws_inside_scan_differ_per_step_and_between_calls():
    srng = T.random.RandomStreams(5)
    out, updates = sg.scan(lambda acc: acc + srng.normal(()), outputs_info=T.constant(0.0), n_steps=5)
    f = sg.function([], out, updates=updates)
    a, b = f(), f()
    assert len(set(np.diff(np.concatenate([[0.0], a])).round(12))) == 5
    assert not np.allclose(a, b)
