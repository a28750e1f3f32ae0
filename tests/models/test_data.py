"""Digits splits and tasks, 2-D functions' analytic derivatives, synthetic sets."""

import numpy as np
import pytest
from symgraph.models import data

import symgraph as sg


def test_digits_splits_are_fixed_by_seed_disjoint_and_stratified():
    a, b = data.load_digits(seed=0), data.load_digits(seed=0)
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert len(a.train) + len(a.valid) + len(a.test) == 1797
    assert 0.0 <= a.train.x.min() and a.train.x.max() <= 1.0 and a.train.y.dtype == np.int32
    counts = np.bincount(a.test.y, minlength=10)
    assert counts.min() >= 43 and counts.max() <= 47     # about 25% of ~180 per class
    c = data.load_digits(seed=1)
    assert not np.array_equal(a.train.y, c.train.y) or not np.array_equal(a.train.x, c.train.x)


def test_digits_class_subset_is_relabelled():
    d = data.load_digits(classes=[7, 3])
    assert d.n_classes == 2 and set(np.unique(d.train.y)) == {0, 1}


def test_permuted_tasks_permute_pixels_and_keep_labels():
    d = data.load_digits()
    tasks = data.permuted_tasks(d, 3, seed=0)
    np.testing.assert_array_equal(tasks[0].train.x, d.train.x)
    assert not np.array_equal(tasks[1].train.x, d.train.x)
    np.testing.assert_array_equal(np.sort(tasks[2].test.x, axis=1), np.sort(d.test.x, axis=1))
    np.testing.assert_array_equal(tasks[2].train.y, d.train.y)


def test_class_split_tasks_hold_only_their_classes():
    d = data.load_digits()
    tasks = data.class_split_tasks(d, [[0, 1], [2, 3]], relabel=True)
    assert set(np.unique(tasks[1].train.y)) == {0, 1} and tasks[1].n_classes == 2
    assert len(tasks[0].test) == np.isin(d.test.y, [0, 1]).sum()


def test_labelled_split_is_class_balanced():
    d = data.load_digits()
    lab, rest = data.labelled_split(d.train, 100, seed=0)
    assert len(lab) == 100 and len(rest) == len(d.train) - 100
    assert np.bincount(lab.y).tolist() == [10] * 10


@pytest.mark.parametrize("name", sorted(data.FUNCTIONS))
def test_test_function_gradient_and_hessian_match_symbolic_derivatives(name):
    f = data.FUNCTIONS[name]
    p, (x, y) = data.symbolic_point()
    expr = f.symbolic(x, y)
    g = sg.grad(expr, p)
    H = sg.gradient.hessian(expr, p)
    fn = sg.function([p], [expr, g, H])
    for pt in np.random.default_rng(0).uniform(-1.5, 1.5, size=(3, 2)):
        v, gv, Hv = fn(pt)
        np.testing.assert_allclose(v, f.value(*pt), rtol=1e-12)
        np.testing.assert_allclose(gv, f.grad(*pt), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(Hv, f.hessian(*pt), rtol=1e-10, atol=1e-10)


def test_test_functions_vanish_gradient_at_their_critical_points():
    for f in data.FUNCTIONS.values():
        for pt in f.critical_points:
            np.testing.assert_allclose(f.grad(*pt), 0, atol=1e-12)


def test_synthetic_sets_have_shapes_and_are_seeded():
    x, y = data.two_moons(50, seed=0)
    assert x.shape == (50, 2) and set(np.unique(y)) == {0, 1}
    xb, yb = data.blobs(30, centers=3)
    assert xb.shape == (30, 2) and yb.max() == 2
    x1, t1, w = data.teacher_regression(20, sizes=(3, 5, 1), seed=2)
    _, t2, _ = data.teacher_regression(20, sizes=(3, 5, 1), seed=2)
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_allclose(t1, np.tanh(x1 @ w[0][0] + w[0][1]) @ w[1][0] + w[1][1])
