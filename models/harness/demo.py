"""``logreg-demo``: the harness's own end-to-end check (logistic regression on digits 0 vs 1)."""

import numpy as np

import symgraph as sg
import symgraph.tensor as T

from .registry import experiment
from .result import Result, check


@experiment("logreg-demo", paper="harness demo (no paper)",
            claim="logistic regression separates digits 0 and 1 far better than the majority class",
            runtime="5 s")
def run(config):
    from symgraph.models import data, optim

    epochs = config.size(full=60, quick=20)
    rows, curves, accs, base_accs = [], {}, [], []
    for seed in config.seeds:
        d = data.load_digits(seed=seed, classes=[0, 1])
        rng = np.random.default_rng(seed)
        w = sg.shared(rng.normal(0, 0.01, 64), name="w")
        b = sg.shared(np.asarray(0.0), name="b")
        x, y = T.matrix("x"), T.vector("y")
        logits = T.dot(x, w) + b
        loss = T.nnet.sigmoid_binary_crossentropy(logits, y).mean()
        acc = T.mean(T.eq(logits > 0, y))
        train = sg.function([x, y], loss, updates=optim.SGD(lr=0.5).updates(loss, [w, b]))
        evaluate = sg.function([x, y], acc)
        full_loss = sg.function([x, y], loss)
        ytr = d.train.y.astype(sg.config.floatX)
        losses = []
        bar = config.progress(range(epochs), desc=f"seed {seed}")
        for _ in bar:
            for xb, yb in data.minibatches(data.Split(d.train.x, ytr), 32, rng):
                train(xb, yb)
            losses.append(float(full_loss(d.train.x, ytr)))
            bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
        majority = np.bincount(d.train.y).argmax()
        test_acc = float(evaluate(d.test.x, d.test.y.astype(sg.config.floatX)))
        base_acc = float(np.mean(d.test.y == majority))
        accs.append(test_acc)
        base_accs.append(base_acc)
        curves[seed] = losses
        rows.append({"seed": seed, "logreg acc": test_acc, "majority acc": base_acc, "final loss": losses[-1]})

    mean_acc, mean_base = float(np.mean(accs)), float(np.mean(base_accs))
    rows.append({"seed": "mean", "logreg acc": mean_acc, "majority acc": mean_base,
                 "final loss": float(np.mean([c[-1] for c in curves.values()]))})
    return Result(
        metrics={"accuracy": accs, "baseline_accuracy": base_accs, "loss_curves": curves},
        table=rows,
        criteria=[check("accuracy", mean_acc, ">=", 0.95, "mean test accuracy"),
                  check("beats majority", mean_acc - mean_base, ">", 0.3, "accuracy - majority accuracy")],
        figures={"loss": _plot(curves)},
        budget={"epochs": epochs, "batch_size": 32},
    )


def _plot(curves):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for seed, losses in curves.items():
        ax.plot(np.arange(1, len(losses) + 1), losses, label=f"seed {seed}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("logreg-demo: digits 0 vs 1")
    return fig
