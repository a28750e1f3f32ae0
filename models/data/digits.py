"""scikit-learn's 8x8 digits with fixed, seeded splits, and the continual-learning tasks built on them."""

from dataclasses import dataclass

import numpy as np

import symgraph as sg


@dataclass
class Split:
    """Inputs (n, 64) scaled to [0, 1] and int32 labels."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self):
        return len(self.y)

    def subset(self, idx):
        return Split(self.x[idx], self.y[idx])


@dataclass
class Digits:
    train: Split
    valid: Split
    test: Split
    n_classes: int = 10


def load_digits(seed=0, valid_fraction=0.15, test_fraction=0.25, classes=None):
    """The 1797 digits split train/valid/test by a stratified shuffle fixed by ``seed``.

    ``classes`` keeps only those labels (relabelled 0..k-1 in the given order).
    """
    from sklearn.datasets import load_digits as _sk_load

    data = _sk_load()
    x = (data.data / 16.0).astype(sg.config.floatX)
    y = data.target.astype("int32")
    if classes is not None:
        keep = np.isin(y, classes)
        x, y = x[keep], y[keep]
        y = np.array([list(classes).index(v) for v in y], dtype="int32")
    rng = np.random.default_rng(seed)
    tr, va, te = [], [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_te = round(test_fraction * len(idx))
        n_va = round(valid_fraction * len(idx))
        te.extend(idx[:n_te])
        va.extend(idx[n_te:n_te + n_va])
        tr.extend(idx[n_te + n_va:])
    parts = [np.array(sorted(p)) for p in (tr, va, te)]
    return Digits(*(Split(x[p], y[p]) for p in parts), n_classes=len(np.unique(y)))


def permuted_tasks(data: Digits, n_tasks, seed=0, keep_first=True):
    """Tasks sharing labels, each with its own fixed pixel permutation (task 0 unpermuted if ``keep_first``)."""
    rng = np.random.default_rng(seed)
    d = data.train.x.shape[1]
    perms = [np.arange(d) if (keep_first and t == 0) else rng.permutation(d) for t in range(n_tasks)]
    return [Digits(*(Split(s.x[:, p], s.y) for s in (data.train, data.valid, data.test)), data.n_classes)
            for p in perms]


def class_split_tasks(data: Digits, groups, relabel=False):
    """One task per group of classes (e.g. [[0, 1], [2, 3], ...]); labels kept unless ``relabel``."""
    tasks = []
    for g in groups:
        def pick(s, g=g):
            keep = np.isin(s.y, g)
            y = s.y[keep]
            if relabel:
                y = np.array([list(g).index(v) for v in y], dtype="int32")
            return Split(s.x[keep], y)
        tasks.append(Digits(pick(data.train), pick(data.valid), pick(data.test),
                            len(g) if relabel else data.n_classes))
    return tasks


def labelled_split(split: Split, n_labelled, seed=0):
    """(labelled, rest) with ``n_labelled`` examples balanced over classes as far as possible."""
    rng = np.random.default_rng(seed)
    classes = np.unique(split.y)
    per = [rng.permutation(np.flatnonzero(split.y == c)) for c in classes]
    chosen = []
    i = 0
    while len(chosen) < n_labelled:
        for idx in per:
            if i < len(idx) and len(chosen) < n_labelled:
                chosen.append(idx[i])
        i += 1
    chosen = np.array(sorted(chosen))
    rest = np.setdiff1d(np.arange(len(split)), chosen)
    return split.subset(chosen), split.subset(rest)


def minibatches(split: Split, batch_size, rng):
    """Shuffled (x, y) minibatches covering the split once (the last may be smaller)."""
    idx = rng.permutation(len(split))
    for s in range(0, len(idx), batch_size):
        b = idx[s:s + batch_size]
        yield split.x[b], split.y[b]
