"""A minibatch classifier trainer shared by the supervised experiments.

    clf = Classifier(nn.MLP([64, 32, 10], activation=T.nnet.relu, rng=rng), optim.SGD(lr=0.1))
    history = clf.fit(digits.train, epochs=20, batch_size=32, rng=rng, valid=digits.valid)
    loss, acc = clf.evaluate(digits.test)
"""

import numpy as np

import symgraph as sg
import symgraph.tensor as T


class Classifier:
    """Softmax cross-entropy on ``model(x)`` logits with compiled train/evaluate/predict functions.

    ``extra_loss(x, y, logits)`` may add a regulariser (an EWC anchor, an L2
    penalty); ``params`` defaults to the model's trainable parameters.
    """

    def __init__(self, model, optimizer, params=None, extra_loss=None, x_ndim=2):
        self.model = model
        self.x = T.TensorType(sg.config.floatX, (None,) * x_ndim)("x")
        self.y = T.ivector("y")
        self.logits = model(self.x)
        self.data_loss = T.nnet.categorical_crossentropy(T.nnet.softmax(self.logits), self.y).mean()
        self.loss = self.data_loss + (extra_loss(self.x, self.y, self.logits) if extra_loss else 0)
        self.accuracy = T.mean(T.eq(T.argmax(self.logits, axis=1), self.y))
        self.params = list(params) if params is not None else model.params.list()
        self.optimizer = optimizer
        self._train = sg.function([self.x, self.y], [self.loss, self.accuracy],
                                  updates=optimizer.updates(self.loss, self.params))
        self._evaluate = sg.function([self.x, self.y], [self.data_loss, self.accuracy])
        self._logits = sg.function([self.x], self.logits)

    def step(self, xb, yb):
        loss, acc = self._train(xb, yb)
        return float(loss), float(acc)

    def evaluate(self, split):
        """(mean cross-entropy, accuracy) on a ``data.Split``."""
        loss, acc = self._evaluate(split.x, split.y)
        return float(loss), float(acc)

    def predict_logits(self, x):
        return self._logits(x)

    def fit(self, split, epochs, batch_size, rng, valid=None, progress=None, desc="train"):
        """Minibatch training; returns per-epoch training (and validation) loss and accuracy.

        ``progress`` is a harness ``Config`` (for its tqdm bar) or None.
        """
        from .data import minibatches

        hist = {"train_loss": [], "train_acc": []}
        if valid is not None:
            hist.update(valid_loss=[], valid_acc=[])
        epochs_iter = progress.progress(range(epochs), desc=desc) if progress is not None else range(epochs)
        for _ in epochs_iter:
            losses, accs, sizes = [], [], []
            for xb, yb in minibatches(split, batch_size, rng):
                loss, acc = self.step(xb, yb)
                losses.append(loss)
                accs.append(acc)
                sizes.append(len(yb))
            hist["train_loss"].append(float(np.average(losses, weights=sizes)))
            hist["train_acc"].append(float(np.average(accs, weights=sizes)))
            shown = {"loss": f"{hist['train_loss'][-1]:.4f}"}
            if valid is not None:
                vl, va = self.evaluate(valid)
                hist["valid_loss"].append(vl)
                hist["valid_acc"].append(va)
                shown["valid_acc"] = f"{va:.3f}"
            if progress is not None:
                epochs_iter.set_postfix(shown, refresh=False)
        return hist
