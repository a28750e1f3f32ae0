"""Knowledge-distillation losses (Hinton et al. 2015; Polino et al. 2018) as symbolic graphs.

    loss = distillation_loss(student_logits, teacher_logits, y, temperature=4.0, alpha=0.7,
                             labelled=T.ge(y, 0))

Everything is computed from log-softmaxes of the logits, so very confident
teachers or students (logits of hundreds) give finite losses and gradients.
``temperature`` and ``alpha`` may be Python numbers or symbolic scalars (shared
variables), so one compiled training function serves hard-label training
(``alpha = 0``) and distillation alike.

The teacher a student imitates caps what the student can reach, so both
distillation experiments train theirs with one standard recipe:

    teacher = Teacher([64, 256, 256, 10], T.nnet.relu, epochs=60)
    teacher.fit(digits.train, seed)          # fresh weights per seed, then the recipe
    teacher.logits(x), teacher.accuracy(digits.test), teacher.model(x_symbolic)
"""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

__all__ = ["Teacher", "distillation_loss", "hard_label_cross_entropy", "soft_target_kl"]


def soft_target_kl(student_logits, teacher_logits, temperature=1.0):
    """Per-example KL(softmax(z_t / T) || softmax(z_s / T)), a vector over the batch."""
    log_p_t = T.nnet.log_softmax(teacher_logits / temperature)
    log_p_s = T.nnet.log_softmax(student_logits / temperature)
    return T.sum(T.exp(log_p_t) * (log_p_t - log_p_s), axis=1)


def hard_label_cross_entropy(logits, y):
    """Per-example -log softmax(z)[y], a vector over the batch (``y`` int labels, all valid)."""
    log_p = T.nnet.log_softmax(logits)
    return -log_p[T.arange(y.shape[0]), y]


def distillation_loss(student_logits, teacher_logits, y=None, temperature=1.0, alpha=0.5, labelled=None):
    """Batch mean of alpha T^2 KL(softmax(z_t/T) || softmax(z_s/T)) + (1 - alpha) CE(z_s, y).

    The T^2 keeps the soft term's gradient scale independent of T (its
    gradient shrinks like 1/T^2 otherwise).  ``labelled`` (a 0/1 vector) marks
    the examples whose ``y`` is real, so a batch may mix labelled examples with
    unlabelled transfer-set ones (give those any label >= 0 or -1): the KL term
    averages over the whole batch, the cross-entropy over the labelled part
    (0 when a batch has none).  ``y=None`` leaves only alpha T^2 KL.
    """
    kl = T.mean(soft_target_kl(student_logits, teacher_logits, temperature))
    soft = alpha * temperature * temperature * kl
    if y is None:
        return soft
    if labelled is None:
        ce = T.mean(hard_label_cross_entropy(student_logits, y))
    else:
        mask = T.cast(labelled, student_logits.dtype)
        per_example = hard_label_cross_entropy(student_logits, T.maximum(y, 0))
        ce = T.sum(mask * per_example) / T.maximum(T.sum(mask), 1.0)
    return soft + (1.0 - alpha) * ce


class Teacher:
    """A full-precision MLP classifier trained by a standard recipe, compiled once and refit per seed.

    Recipe: minibatch Adam whose learning rate follows a cosine decay from
    ``lr`` to 0 over ``epochs`` (one value per epoch), optionally an L2 penalty
    ``weight_decay * sum ||W||^2`` on the weight matrices (not the biases),
    and the final weights (with a few hundred validation examples, picking the
    best epoch on them selects noise: it scored lower on test than the last
    epoch when tried).  ``model`` is the ``nn.MLP``, so its symbolic graph can
    be reused (e.g. for input Jacobians).
    """

    def __init__(self, sizes, activation, epochs, batch_size=32, lr=1e-3, weight_decay=0.0, name="teacher"):
        from . import nn, optim
        from .training import Classifier

        self.sizes, self.activation, self.name = list(sizes), activation, name
        self.epochs, self.batch_size, self.lr, self.weight_decay = epochs, batch_size, lr, weight_decay
        self.model = nn.MLP(self.sizes, activation=activation, rng=np.random.default_rng(0), name=name)
        self._lr = sg.shared(np.asarray(lr, dtype=sg.config.floatX), name=f"{name}.lr")
        weights = [layer.W for layer in self.model.layers]

        def l2(x, y, logits):
            return weight_decay * sum(T.sum(T.sqr(w)) for w in weights)

        self.clf = Classifier(self.model, optim.Adam(lr=self._lr), extra_loss=l2 if weight_decay else None)

    def fit(self, split, seed, rng=None):
        """Fresh Glorot weights from ``seed``, then ``epochs`` of the recipe on ``split``; returns ``self``."""
        from . import nn
        from .data import minibatches

        fresh = nn.MLP(self.sizes, activation=self.activation, rng=np.random.default_rng(seed), name="fresh")
        for p, v in zip(self.clf.params, fresh.params.list(), strict=True):
            p.set_value(v.get_value())
        self.clf.optimizer.reset()
        rng = rng if rng is not None else np.random.default_rng([seed, 2])
        for epoch in range(self.epochs):
            self._lr.set_value(np.asarray(self.lr * 0.5 * (1.0 + np.cos(np.pi * epoch / self.epochs)),
                                          dtype=sg.config.floatX))
            for xb, yb in minibatches(split, self.batch_size, rng):
                self.clf.step(xb, yb)
        return self

    def accuracy(self, split):
        return self.clf.evaluate(split)[1]

    def logits(self, x):
        return self.clf.predict_logits(x)

    @property
    def params(self):
        return self.clf.params

    def recipe(self):
        """One line for an experiment's notes."""
        return (f"teacher MLP {'-'.join(map(str, self.sizes))} {getattr(self.activation, '__name__', '')}: "
                f"{self.epochs} epochs of Adam, batch {self.batch_size}, lr {self.lr:g} "
                f"cosine-decayed to 0, " + (f"L2 {self.weight_decay:g} on the weights, " if self.weight_decay
                                            else "no weight decay, ") + "final weights")
